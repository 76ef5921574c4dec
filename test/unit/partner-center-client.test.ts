// Unit tests of the Partner Center client: patch bodies, field checks, paging, dedupe and HTTP
// failure handling (nock).
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticToken } from '../../src/core/auth.js';
import { ConflictError, LeadbridgeError, ValidationError } from '../../src/core/errors.js';
import type { Logger, LogFields } from '../../src/core/log.js';
import type { RetryPolicy } from '../../src/core/retry.js';
import {
  PartnerCenterClient,
  WriteAppliedError,
  acceptPatch,
  declinePatch,
  externalReferencePatch,
  lostPatch,
  parsePartnerCenterError,
  parseReferral,
  wonPatch,
  type ReferralPage,
} from '../../src/source/partner-center/index.js';
import { filterLiteral, OverlapDeduper, toTicks } from '../../src/source/partner-center/overlap.js';
import { withLeadKind } from '../../src/sync/lead-kind.js';

const BASE = 'https://pc.test';
const LIST = '/v1.0/engagements/referrals';
const FAST_RETRIES: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 1,
  maxDelayMs: 2,
  maxRetryAfterMs: 5,
  retryableStatuses: [408, 429, 500, 502, 503, 504],
};
const REF = { id: 'r-1', eTag: '"4a00c1d2-0000-0000-0000-67c5e0a20000"' };

interface LogLine {
  level: string;
  message: string;
  fields?: LogFields;
}

function recordingLogger(lines: LogLine[]): Logger {
  const logger: Logger = {
    debug: (message, fields) => void lines.push({ level: 'debug', message, fields }),
    info: (message, fields) => void lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => void lines.push({ level: 'error', message, fields }),
    child: () => logger,
  };
  return logger;
}

function referral(
  id: string,
  updatedDateTime: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    createdDateTime: '2025-03-01T08:00:00.1234567Z',
    updatedDateTime,
    status: 'New',
    substatus: 'Received',
    type: 'Independent',
    qualification: 'Direct',
    eTag: `"etag-${id}-1"`,
    details: { dealValue: 1000, currency: 'USD', customerRequestedContact: false },
    ...overrides,
  };
}

function newClient(lines: LogLine[] = [], overlapMs?: number, now?: string): PartnerCenterClient {
  return new PartnerCenterClient({
    baseUrl: BASE,
    credential: staticToken('test-token'),
    logger: recordingLogger(lines),
    retryPolicy: FAST_RETRIES,
    ...(overlapMs === undefined ? {} : { overlapMs }),
    ...(now === undefined ? {} : { now: () => Date.parse(now) }),
  });
}

async function collect(pages: AsyncGenerator<ReferralPage>): Promise<ReferralPage[]> {
  const all: ReferralPage[] = [];
  for await (const page of pages) all.push(page);
  return all;
}

const ids = (page: ReferralPage | undefined) => page?.referrals.map((r) => r.id);

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(() => nock.cleanAll());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('patch bodies', () => {
  it(
    'accept sends status, substatus, the deal fields, the optional ones and team ' + 'additions',
    () => {
      const member = { firstName: 'Ana', lastName: 'Silva', email: 'ana@partner.example' };
      expect(
        acceptPatch(REF, {
          dealName: 'Contoso ERP',
          dealValue: 120000,
          currency: 'eur',
          closingDateTime: '2025-06-30T00:00:00Z',
          notes: 'Needs 200 seats',
          externalReferenceId: 'crm-42',
          campaignId: 'spring',
          team: [member],
        }),
      ).toEqual([
        { op: 'replace', path: '/status', value: 'Active' },
        { op: 'replace', path: '/substatus', value: 'Accepted' },
        { op: 'replace', path: '/name', value: 'Contoso ERP' },
        { op: 'replace', path: '/details/dealValue', value: 120000 },
        { op: 'replace', path: '/details/currency', value: 'EUR' },
        { op: 'replace', path: '/details/closingDateTime', value: '2025-06-30T00:00:00Z' },
        { op: 'replace', path: '/details/notes', value: 'Needs 200 seats' },
        { op: 'replace', path: '/externalReferenceId', value: 'crm-42' },
        { op: 'replace', path: '/campaignId', value: 'spring' },
        { op: 'add', path: '/team/-', value: member },
      ]);
    },
  );

  it('decline, win, lose and external reference carry exactly their fields', () => {
    expect(declinePatch(REF, { reason: 'Not a customer', notes: 'spam' })).toEqual([
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Declined' },
      { op: 'replace', path: '/statusReason', value: 'Not a customer' },
      { op: 'replace', path: '/details/notes', value: 'spam' },
    ]);
    expect(wonPatch(REF)).toEqual([
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Won' },
    ]);
    expect(wonPatch(REF, { notes: 'signed' })).toEqual([
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Won' },
      { op: 'replace', path: '/details/notes', value: 'signed' },
    ]);
    expect(lostPatch(REF, { reason: 'Customer chose another vendor' })).toEqual([
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Lost' },
      { op: 'replace', path: '/statusReason', value: 'Customer chose another vendor' },
    ]);
    expect(externalReferencePatch(REF, 'crm-7')).toEqual([
      { op: 'replace', path: '/externalReferenceId', value: 'crm-7' },
    ]);
  });
});

describe('required fields are checked before any request', () => {
  it('accept names every missing or malformed field', async () => {
    const client = newClient();
    const attempt = client.accept(REF, {
      dealName: ' ',
      dealValue: Number.NaN,
      currency: 'EURO',
      closingDateTime: '30/06/2025',
    } as never);
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message:
        'partner-center: cannot accept referral r-1:\n' +
        '  - dealName: is required\n' +
        '  - notes: is required\n' +
        '  - dealValue: must be a finite number (got NaN)\n' +
        '  - currency: must be a 3-letter ISO 4217 code (got "EURO")\n' +
        '  - closingDateTime: must be an ISO-8601 date-time such as 2025-06-30T00:00:00Z (got ' +
        '"30/06/2025")',
    });
    expect(client.callCount).toBe(0);
  });

  it('accept refuses a string deal value, a negative one, and a missing eTag', () => {
    const fields = {
      dealName: 'd',
      currency: 'USD',
      closingDateTime: '2025-06-30T00:00:00Z',
      notes: 'n',
    };
    expect(() => acceptPatch(REF, { ...fields, dealValue: '100' as never })).toThrow(
      'partner-center: cannot accept referral r-1:\n  - dealValue: must be a finite number ' +
        '(got "100")',
    );
    expect(() => acceptPatch(REF, { ...fields, dealValue: -1 })).toThrow(
      'partner-center: cannot accept referral r-1:\n  - dealValue: must not be negative (got -1)',
    );
    expect(() => acceptPatch({ id: 'r-1', eTag: '' }, { ...fields, dealValue: 1 })).toThrow(
      'partner-center: cannot accept referral r-1:\n  - eTag: is required (the eTag as ' +
        'received, quotes included)',
    );
  });

  it('decline and lose need a reason; the external reference needs a value', async () => {
    const client = newClient();
    await expect(client.decline(REF, { reason: '' })).rejects.toThrow(
      'partner-center: cannot decline referral r-1:\n  - reason: is required',
    );
    await expect(client.markLost(REF, {} as never)).rejects.toThrow(
      'partner-center: cannot lose referral r-1:\n  - reason: is required',
    );
    await expect(client.setExternalReference(REF, '')).rejects.toThrow(
      'partner-center: cannot set the external reference of referral r-1:\n  - ' +
        'externalReferenceId: is required',
    );
    expect(client.callCount).toBe(0);
  });
});

describe('item validation', () => {
  it(
    'drops malformed optional fields with their dot paths, keeps unknown fields and enum ' +
      'values',
    () => {
      const parsed = parseReferral(
        referral('r-9', '2025-03-01T10:00:00Z', {
          details: { dealValue: 'lots', currency: 'USD' },
          customerProfile: { name: 'Contoso', team: [{ email: 5, firstName: 'Ann' }] },
        }),
      );
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.dropped).toEqual([
        {
          path: 'customerProfile.team.0.email',
          message: 'Invalid input: expected string, received number (got 5)',
        },
        { path: 'details.dealValue', message: 'expected a number (got "lots")' },
      ]);
      expect(parsed.referral.details).toEqual({ currency: 'USD' });
      expect(parsed.referral.customerProfile).toEqual({
        name: 'Contoso',
        team: [{ firstName: 'Ann' }],
      });
      const good = parseReferral(
        referral('r-8', '2025-03-01T10:00:00Z', { status: 'Archived', novelField: { a: 1 } }),
      );
      expect(good.ok && good.referral).toMatchObject({ status: 'Archived', novelField: { a: 1 } });
      expect(parseReferral('nonsense')).toEqual({
        ok: false,
        invalid: {
          id: null,
          raw: 'nonsense',
          issues: [{ path: '', message: 'expected a referral object' }],
        },
      });
    },
  );

  it('refuses a referral only for id, status, substatus, updatedDateTime or type', () => {
    const { substatus: _s, ...noSubstatus } = referral('r-7', '2025-03-01T10:00:00Z');
    expect(parseReferral(noSubstatus)).toEqual({
      ok: false,
      invalid: {
        id: 'r-7',
        raw: noSubstatus,
        issues: [
          { path: 'substatus', message: 'Invalid input: expected string, received undefined' },
        ],
      },
    });
    const badTime = referral('r-6', 'yesterday', { type: 7 });
    expect(parseReferral(badTime)).toEqual({
      ok: false,
      invalid: {
        id: 'r-6',
        raw: badTime,
        issues: [
          { path: 'updatedDateTime', message: 'expected an ISO-8601 date-time (got "yesterday")' },
          { path: 'type', message: 'Invalid input: expected string, received number (got 7)' },
        ],
      },
    });
    const { eTag: _e, createdDateTime: _c, ...bare } = referral('r-5', '2025-03-01T10:00:00Z');
    expect(parseReferral(bare)).toMatchObject({ ok: true, dropped: [], referral: { id: 'r-5' } });
  });

  it(
    'reads requirement tags as {id} objects or bare strings, and customerProfile.ids as [], ' +
      '{} or an object',
    () => {
      const parsed = parseReferral(
        referral('r-4', '2025-03-01T10:00:00Z', {
          customerProfile: { name: 'Contoso', ids: {} },
          details: {
            requirements: {
              industries: [
                { id: 'Retail & Consumer Goods' },
                'Education',
                { id: 3 },
                { name: 'no id' },
              ],
              products: [{ id: 'Azure', extra: true }],
              services: [{ id: 'DeploymentOrMigration' }],
              solutions: [
                {
                  id: 'Dynamics365forFieldService',
                  name: 'Dynamics 365 for Field Service',
                  type: 'Category',
                },
              ],
            },
          },
        }),
      );
      expect(parsed.ok && parsed.referral.details?.requirements).toEqual({
        industries: ['Retail & Consumer Goods', 'Education'],
        products: ['Azure'],
        services: ['DeploymentOrMigration'],
        solutions: [
          {
            id: 'Dynamics365forFieldService',
            name: 'Dynamics 365 for Field Service',
            type: 'Category',
          },
        ],
      });
      expect(parsed.ok && parsed.dropped.map((d) => d.path)).toEqual([
        'details.requirements.industries.2',
        'details.requirements.industries.3',
      ]);
      expect(parsed.ok && parsed.referral.customerProfile?.ids).toEqual([]);
      const keyed = parseReferral(
        referral('r-3', '2025-03-01T10:00:00Z', {
          customerProfile: { ids: { Duns: '795986822' } },
        }),
      );
      expect(keyed.ok && keyed.referral.customerProfile?.ids).toEqual([
        { id: '795986822', profileType: 'Duns' },
      ]);
      const listed = parseReferral(
        referral('r-2', '2025-03-01T10:00:00Z', {
          customerProfile: { ids: [{ profileType: 'Duns', id: '795986822' }] },
        }),
      );
      expect(listed.ok && listed.referral.customerProfile?.ids).toEqual([
        { id: '795986822', profileType: 'Duns' },
      ]);
    },
  );

  it('parses the error envelope and tolerates other shapes', () => {
    expect(
      parsePartnerCenterError({ error: { code: 'PreconditionFailed', message: 'stale' } }),
    ).toEqual({
      code: 'PreconditionFailed',
      message: 'stale',
    });
    expect(parsePartnerCenterError({ code: 'X', message: 'top level' })).toEqual({
      code: 'X',
      message: 'top level',
    });
    expect(parsePartnerCenterError({ error: 'bare text' })).toEqual({ message: 'bare text' });
    expect(parsePartnerCenterError('')).toEqual({});
    expect(parsePartnerCenterError(null)).toEqual({});
  });
});

describe('timestamps', () => {
  it('keeps all 7 fractional digits and honours offsets', () => {
    expect(
      toTicks('2018-10-30T21:03:42.4579542Z')! - toTicks('2018-10-30T21:03:42.4579541Z')!,
    ).toBe(1n);
    expect(toTicks('2025-01-01T02:00:00+02:00')).toBe(toTicks('2025-01-01T00:00:00Z'));
    expect(toTicks('2025-01-01')).toBeNull();
    expect(toTicks('2025-13-01T00:00:00Z')).toBeNull();
    expect(filterLiteral(toTicks('2018-10-30T21:03:42.4579542Z')!)).toBe(
      '2018-10-30T21:03:42.457Z',
    );
  });
});

describe('listChanged', () => {
  it(
    'asks for the overlapped window with an unquoted literal, follows nextLink, drops a ' +
      'malformed field and reports an invalid item',
    async () => {
      const lines: LogLine[] = [];
      const client = newClient(lines);
      const next = `${BASE}${LIST}?$skiptoken=opaque%2Btoken%3D%3D&$filter=kept+as+is`;
      nock(BASE)
        .get(LIST)
        .query({
          $filter: 'updatedDateTime ge 2025-03-01T09:55:00.000Z',
          $orderby: 'updatedDateTime asc',
        })
        .reply(200, {
          value: [
            referral('a', '2025-03-01T10:00:00.0000001Z', { status: 'Archived' }),
            referral('bad', '2025-03-01T10:00:01Z', { status: null }),
            referral('lots', '2025-03-01T10:00:00.7Z', { details: { dealValue: 'lots' } }),
            referral('b', '2025-03-01T10:00:00.5Z', {
              status: 'Archived',
              details: { customerRequestedContact: true },
            }),
          ],
          '@odata.nextLink': next,
        })
        .get(`${LIST}?$skiptoken=opaque%2Btoken%3D%3D&$filter=kept+as+is`)
        .reply(200, { value: [referral('c', '2025-03-01T10:00:02Z')] });

      const pages = await collect(client.listChanged('2025-03-01T10:00:00Z'));

      expect(pages.map(ids)).toEqual([['a', 'lots', 'b'], ['c']]);
      expect(pages[0]?.invalid).toEqual([
        {
          id: 'bad',
          issues: [
            { path: 'status', message: 'Invalid input: expected string, received null (got null)' },
          ],
          raw: expect.objectContaining({ id: 'bad' }),
        },
      ]);
      expect(lines.filter((l) => l.message === 'malformed referral field dropped')).toEqual([
        {
          level: 'warn',
          message: 'malformed referral field dropped',
          fields: {
            referralId: 'lots',
            path: 'details.dealValue',
            problem: 'expected a number (got "lots")',
          },
        },
      ]);
      expect(pages[0]?.highWatermark).toBe('2025-03-01T10:00:01Z');
      expect(pages[1]?.highWatermark).toBe('2025-03-01T10:00:02Z');
      // The engine's one lead-kind step (sync/lead-kind.ts) on what the client delivered.
      expect(pages[0]?.referrals.map(withLeadKind).map((r) => [r.leadKind, r.hot])).toEqual([
        ['customerInquiry', false],
        ['customerInquiry', false],
        ['customerInquiry', true],
      ]);
      expect(pages[0]?.referrals[0]?.status).toBe('Archived');
      const enumWarnings = lines.filter((l) => l.message === 'unknown enum value kept');
      expect(enumWarnings).toEqual([
        {
          level: 'warn',
          message: 'unknown enum value kept',
          fields: { field: 'status', value: 'Archived', referralId: 'a' },
        },
      ]);
    },
  );

  it('lists everything when since is null', async () => {
    const client = newClient();
    nock(BASE)
      .get(LIST)
      .query({ $orderby: 'updatedDateTime asc' })
      .reply(200, { value: [referral('a', '2025-03-01T10:00:00Z')] });
    const pages = await collect(client.listChanged(null));
    expect(pages.map(ids)).toEqual([['a']]);
  });

  it(
    'falls back once to a quoted literal when the filter is refused, and ' + 'remembers it',
    async () => {
      const client = newClient([], undefined, '2025-03-01T10:00:00Z');
      nock(BASE)
        .get(LIST)
        .query({
          $filter: 'updatedDateTime ge 2025-03-01T09:55:00.000Z',
          $orderby: 'updatedDateTime asc',
        })
        .reply(400, {
          error: { code: 'BadRequest', message: 'Invalid $filter: literal not recognised' },
        })
        .get(LIST)
        .times(2)
        .query({
          $filter: "updatedDateTime ge '2025-03-01T09:55:00.000Z'",
          $orderby: 'updatedDateTime asc',
        })
        .reply(200, { value: [] });
      await collect(client.listChanged('2025-03-01T10:00:00Z'));
      await collect(client.listChanged('2025-03-01T10:00:00Z'));
      expect(client.callCount).toBe(3);
    },
  );

  it('does not retry a 400 that is not about the filter', async () => {
    const client = newClient();
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(400, { error: { code: 'BadRequest', message: 'Unsupported $top' } });
    await expect(collect(client.listChanged('2025-03-01T10:00:00Z'))).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      status: 400,
      message: 'partner-center: GET v1.0/engagements/referrals → 400 BadRequest: Unsupported $top',
    });
    expect(client.callCount).toBe(1);
  });

  it(
    'carries the query of the documented http nextLink to the configured https base and list ' +
      'path, never elsewhere',
    async () => {
      const client = newClient();
      // The form every documented list example shows (get-a-list-of-referrals.md): http, and no
      // /engagements.
      const elsewhere = nock('http://api.partner.microsoft.com')
        .get(/.*/)
        .reply(200, { value: [] });
      const evil = nock('https://evil.example').get(/.*/).reply(200, { value: [] });
      nock(BASE)
        .get(LIST)
        .query(true)
        .reply(200, {
          value: [referral('a', '2025-03-01T10:00:00Z')],
          '@odata.nextLink':
            'http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=k181pEdP0y%2fFUEbb',
        })
        .get(`${LIST}?$skiptoken=k181pEdP0y%2fFUEbb`)
        .matchHeader('authorization', 'Bearer test-token')
        .reply(200, {
          value: [referral('b', '2025-03-01T10:00:01Z')],
          '@odata.nextLink': 'https://evil.example/steal?$skiptoken=2',
        })
        .get(`${LIST}?$skiptoken=2`)
        .reply(200, { value: [] });
      expect((await collect(client.listChanged(null))).map(ids)).toEqual([['a'], ['b'], []]);
      expect(elsewhere.isDone()).toBe(false);
      expect(evil.isDone()).toBe(false);
      nock.cleanAll();
    },
  );

  it('refuses a nextLink without a query to continue with', async () => {
    const client = newClient();
    nock(BASE).get(LIST).query(true).reply(200, {
      value: [],
      '@odata.nextLink': 'http://api.partner.microsoft.com/v1.0/referrals',
    });
    await expect(collect(client.listChanged(null))).rejects.toThrow(
      'partner-center: @odata.nextLink carries no query to continue with (got ' +
        '"http://api.partner.microsoft.com/v1.0/referrals")',
    );
  });

  it('drops versions already delivered in the overlap window, but not new versions', async () => {
    // The previous pass started right at the newest change, so the whole overlap still needs a
    // second look.
    const client = newClient([], 60_000, '2025-03-01T10:00:30Z');
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(200, {
        value: [referral('a', '2025-03-01T10:00:00Z'), referral('b', '2025-03-01T10:00:30Z')],
      })
      .get(LIST)
      .query({
        $filter: 'updatedDateTime ge 2025-03-01T09:59:30.000Z',
        $orderby: 'updatedDateTime asc',
      })
      .reply(200, {
        value: [
          referral('a', '2025-03-01T10:00:00Z'),
          referral('b', '2025-03-01T10:00:30Z'),
          referral('a', '2025-03-01T10:00:31Z', { eTag: '"etag-a-2"' }),
        ],
      });
    const first = await collect(client.listChanged(null));
    expect(first.map(ids)).toEqual([['a', 'b']]);
    const second = await collect(client.listChanged(first[0]!.highWatermark));
    expect(second.map(ids)).toEqual([['a']]);
    expect(second[0]?.referrals[0]?.eTag).toBe('"etag-a-2"');
    expect(second[0]?.highWatermark).toBe('2025-03-01T10:00:31Z');
  });

  it(
    'reads from the cursor itself once a poll starts a full overlap after the last ' + 'change',
    async () => {
      const client = newClient([], 60_000, '2025-03-01T10:05:00Z');
      nock(BASE)
        .get(LIST)
        .query({
          $filter: 'updatedDateTime ge 2025-03-01T09:59:30.000Z',
          $orderby: 'updatedDateTime asc',
        })
        .reply(200, { value: [referral('b', '2025-03-01T10:00:30Z')] })
        .get(LIST)
        .query({
          $filter: 'updatedDateTime ge 2025-03-01T10:00:30.000Z',
          $orderby: 'updatedDateTime asc',
        })
        .reply(200, { value: [referral('b', '2025-03-01T10:00:30Z')] });
      // First poll in this process: the full overlap before the cursor is re-read.
      const first = await collect(client.listChanged('2025-03-01T10:00:30Z'));
      expect(first.map(ids)).toEqual([['b']]);
      // That pass started at 10:05, long after 10:00:30: nothing older can still turn up, and b is
      // not delivered twice.
      const second = await collect(client.listChanged('2025-03-01T10:00:30Z'));
      expect(second.map(ids)).toEqual([[]]);
      expect(nock.isDone()).toBe(true);
    },
  );

  it('stops between pages once the signal is aborted', async () => {
    const client = newClient();
    const controller = new AbortController();
    nock(BASE)
      .get(LIST)
      .query(true)
      .reply(200, { value: [], '@odata.nextLink': `${BASE}${LIST}?$skiptoken=2` });
    const pages = client.listChanged(null, { signal: controller.signal });
    await pages.next();
    controller.abort();
    await expect(pages.next()).rejects.toMatchObject({
      code: 'ABORTED',
      message: 'partner-center: listing aborted',
    });
    expect(client.callCount).toBe(1);
  });

  it('rejects a since that is not a date-time', async () => {
    const client = newClient();
    await expect(collect(client.listChanged('yesterday'))).rejects.toThrow(
      'partner-center: cannot list changed referrals:\n  - since: must be an ISO-8601 ' +
        'date-time such as 2025-01-01T00:00:00Z (got "yesterday")',
    );
  });
});

describe('overlap dedupe', () => {
  const t = (iso: string) => toTicks(iso)!;

  it('trusts the previous pass only when the watermark covers it', () => {
    const deduper = new OverlapDeduper(t('2025-01-01T00:01:00Z') - t('2025-01-01T00:00:00Z'));
    const first = deduper.beginPass(null);
    expect(first.admit('a', 'e1', t('2025-01-01T00:00:00Z'))).toBe(true);
    expect(first.admit('a', 'e1', t('2025-01-01T00:00:00Z'))).toBe(false);
    expect(first.admit('b', 'e1', t('2025-01-01T00:00:50Z'))).toBe(true);
    first.complete();

    // The caller recorded less than the whole pass: nothing may be skipped.
    const behind = deduper.beginPass(t('2025-01-01T00:00:10Z'));
    expect(behind.admit('a', 'e1', t('2025-01-01T00:00:00Z'))).toBe(true);

    const caughtUp = deduper.beginPass(t('2025-01-01T00:00:50Z'));
    expect(caughtUp.admit('a', 'e1', t('2025-01-01T00:00:00Z'))).toBe(false);
    expect(caughtUp.admit('b', 'e1', t('2025-01-01T00:00:50Z'))).toBe(false);
    expect(caughtUp.admit('b', 'e2', t('2025-01-01T00:00:55Z'))).toBe(true);
    caughtUp.complete();

    // A quiet pass keeps what the pass before delivered.
    deduper.beginPass(t('2025-01-01T00:00:55Z')).complete();
    const later = deduper.beginPass(t('2025-01-01T00:00:55Z'));
    expect(later.admit('b', 'e2', t('2025-01-01T00:00:55Z'))).toBe(false);
  });

  it('forgets versions that fall out of the window, so memory follows the window', () => {
    const deduper = new OverlapDeduper(10n);
    const pass = deduper.beginPass(null);
    for (let i = 0n; i < 1000n; i++) pass.admit(`r${i}`, 'e', i);
    pass.prune();
    expect(pass.size).toBe(11);
  });
});

describe('writes', () => {
  const fresh = referral('r-1', '2025-03-01T11:00:00Z', {
    status: 'Active',
    substatus: 'Accepted',
    eTag: '"etag-r-1-2"',
  });

  it(
    'sends the patch with If-Match as received and Prefer, and returns the ' + 'representation',
    async () => {
      const client = newClient();
      const seen: Record<string, string | string[] | undefined>[] = [];
      nock(BASE)
        .patch(`${LIST}/r-1`, [
          { op: 'replace', path: '/status', value: 'Closed' },
          { op: 'replace', path: '/substatus', value: 'Won' },
        ])
        .matchHeader('if-match', REF.eTag)
        .matchHeader('prefer', 'return=representation')
        .matchHeader('content-type', /^application\/json/)
        .matchHeader('authorization', 'Bearer test-token')
        .reply(function () {
          seen.push(this.req.headers);
          return [200, fresh];
        })
        .get(`${LIST}/r-1`)
        .reply(function () {
          seen.push(this.req.headers);
          return [200, fresh];
        });
      await expect(client.markWon(REF)).resolves.toMatchObject({ id: 'r-1', eTag: '"etag-r-1-2"' });
      await client.get('r-1');
      expect(seen[0]?.['ms-correlationid']).toBe(client.correlationId);
      expect(seen[1]?.['ms-correlationid']).toBe(client.correlationId);
      // client-request-id: a GUID, new for every call (partner-rest headers.md).
      expect(seen[0]?.['client-request-id']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(seen[0]?.['client-request-id']).not.toBe(seen[1]?.['client-request-id']);
    },
  );

  it('reads the referral back after a 204', async () => {
    const client = newClient();
    nock(BASE).patch(`${LIST}/r-1`).reply(204).get(`${LIST}/r-1`).reply(200, fresh);
    await expect(client.setExternalReference(REF, 'crm-1')).resolves.toMatchObject({
      eTag: '"etag-r-1-2"',
    });
    expect(client.callCount).toBe(2);
  });

  it(
    'reads back by id when the representation lacks a required field, and logs the ' + 'request-id',
    async () => {
      const lines: LogLine[] = [];
      const client = newClient(lines);
      nock(BASE)
        .patch(`${LIST}/r-1`)
        .reply(
          200,
          { id: 'r-1', status: 'Active' },
          { 'request-id': '9f8bed52-e4df-4d0c-9ca6-929a187b0731' },
        )
        .get(`${LIST}/r-1`)
        .reply(200, fresh);
      await expect(client.setExternalReference(REF, 'crm-1')).resolves.toMatchObject({
        eTag: '"etag-r-1-2"',
      });
      expect(lines.find((l) => l.message === 'partner-center call')?.fields).toEqual({
        call: 'set external reference referral r-1',
        status: 200,
        requestId: '9f8bed52-e4df-4d0c-9ca6-929a187b0731',
      });
    },
  );

  it(
    'says a write was applied when neither the representation nor a read-back can be ' + 'read',
    async () => {
      const client = newClient();
      nock(BASE)
        .patch(`${LIST}/r-1`)
        .reply(200, { id: 'r-1' })
        .get(`${LIST}/r-1`)
        .reply(200, { id: 'r-1', status: 'Active' });
      const attempt = client.markWon(REF);
      await expect(attempt).rejects.toBeInstanceOf(WriteAppliedError);
      await expect(attempt).rejects.toThrow(
        new RegExp(
          String.raw`^partner-center: win referral r-1 was applied \(200\), but the` +
            String.raw` referral could not be read back: `,
        ),
      );
    },
  );

  it('surfaces 412 as ConflictError', async () => {
    const client = newClient();
    nock(BASE)
      .patch(`${LIST}/r-1`)
      .reply(412, { error: { code: 'PreconditionFailed', message: 'The eTag does not match.' } });
    const attempt = client.decline(REF, { reason: 'Others' });
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    await expect(attempt).rejects.toMatchObject({
      code: 'CONFLICT',
      status: 412,
      message:
        'partner-center: PATCH v1.0/engagements/referrals/r-1 → 412 PreconditionFailed: The ' +
        'eTag does not match.',
    });
    expect(client.callCount).toBe(1);
  });

  it('waits out a 429 with Retry-After: 0, then succeeds', async () => {
    const client = newClient();
    nock(BASE)
      .patch(`${LIST}/r-1`)
      .reply(
        429,
        { error: { code: 'TooManyRequests', message: 'slow down' } },
        { 'Retry-After': '0' },
      )
      .patch(`${LIST}/r-1`)
      .reply(200, fresh);
    await expect(client.markLost(REF, { reason: 'Others' })).resolves.toMatchObject({ id: 'r-1' });
    expect(client.callCount).toBe(2);
  });

  it('retries a 503 on a write (If-Match makes it idempotent) and on a read', async () => {
    const client = newClient();
    nock(BASE)
      .patch(`${LIST}/r-1`)
      .reply(503, { error: { code: 'ServiceUnavailable', message: 'busy' } })
      .patch(`${LIST}/r-1`)
      .reply(200, fresh)
      .get(`${LIST}/r-1`)
      .times(2)
      .reply(503, { error: { code: 'ServiceUnavailable', message: 'busy' } })
      .get(`${LIST}/r-1`)
      .reply(200, fresh);
    await client.markWon(REF);
    await expect(client.get('r-1')).resolves.toMatchObject({ id: 'r-1' });
    expect(client.callCount).toBe(5);
  });

  it('does not retry a 400, and keeps the server message', async () => {
    const client = newClient();
    nock(BASE)
      .patch(`${LIST}/r-1`)
      .reply(400, {
        error: {
          code: 'InvalidTransition',
          message: 'A referral in status New cannot move to Closed/Won.',
        },
      });
    const attempt = client.markWon(REF);
    await expect(attempt).rejects.toBeInstanceOf(LeadbridgeError);
    await expect(attempt).rejects.toMatchObject({
      code: 'HTTP_ERROR',
      status: 400,
      providerCode: 'InvalidTransition',
      message:
        'partner-center: PATCH v1.0/engagements/referrals/r-1 → 400 InvalidTransition: A ' +
        'referral in status New cannot move to Closed/Won.',
    });
    expect(client.callCount).toBe(1);
  });

  it('maps a 404 on get to NOT_FOUND', async () => {
    const client = newClient();
    nock(BASE)
      .get(`${LIST}/missing`)
      .reply(404, { error: { code: 'NotFound', message: 'Referral missing was not found.' } });
    await expect(client.get('missing')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message:
        'partner-center: GET v1.0/engagements/referrals/missing → 404 NotFound: Referral ' +
        'missing was not found.',
    });
  });
});
