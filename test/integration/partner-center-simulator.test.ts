// The Partner Center simulator over loopback HTTP: auth, OData listing and paging, JSON Patch
// writes, expiry, faults, admin.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deriveLeadKind } from '../../src/core/referral.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';

const REFERRALS = '/v1.0/engagements/referrals';
const AUTH = { Authorization: 'Bearer test-token' };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;
const DAY_MS = 86_400_000;

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

let sim: PartnerCenterSimulator;
let base: string;

async function call(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<Reply> {
  // client-request-id: required on every call, a new GUID each time (partner-rest headers.md).
  const headers: Record<string, string> = {
    ...(options.auth === false ? {} : AUTH),
    'client-request-id': randomUUID(),
    ...options.headers,
  };
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
    method,
    headers,
    body: payload,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

function list(query: Record<string, string> = {}): Promise<Reply> {
  const search = Object.entries(query)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`)
    .join('&');
  return call('GET', `${REFERRALS}${search ? `?${search}` : ''}`);
}

/** Follows nextLinks to the end; returns every page. */
async function allPages(query: Record<string, string>): Promise<any[]> {
  const pages = [(await list(query)).body];
  while (pages[pages.length - 1]['@odata.nextLink']) {
    const next = await call('GET', pages[pages.length - 1]['@odata.nextLink']);
    expect(next.status).toBe(200);
    pages.push(next.body);
  }
  return pages;
}

function patch(
  id: string,
  operations: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return call('PATCH', `${REFERRALS}/${id}`, { body: operations, headers });
}

const ACCEPT_OPS = [
  { op: 'replace', path: '/status', value: 'Active' },
  { op: 'replace', path: '/substatus', value: 'Accepted' },
  { op: 'replace', path: '/details/dealValue', value: 120000 },
  { op: 'replace', path: '/details/currency', value: 'USD' },
  { op: 'replace', path: '/details/closingDateTime', value: '2026-06-30T00:00:00Z' },
  { op: 'replace', path: '/details/notes', value: 'Wants 200 seats' },
];

/**
 * An incoming New/Received referral with no deal data yet and no hot-lead flag (the rest
 * generated).
 */
function newReferral(overrides: Record<string, unknown> = {}): Referral {
  const details = {
    dealValue: null,
    currency: null,
    closingDateTime: null,
    notes: 'Needs help',
    customerRequestedContact: false,
  };
  return sim.store.create({
    ...overrides,
    details: { ...details, ...(overrides.details as object) },
  });
}

beforeAll(async () => {
  sim = createPartnerCenterSimulator({ seed: 5 });
  base = await sim.start();
});

beforeEach(async () => {
  expect((await call('POST', '/_sim/reset', { auth: false })).status).toBe(204);
});

afterAll(async () => {
  await sim.stop();
});

describe('authentication and headers', () => {
  it(
    'refuses a request without a bearer token with 401 in the API envelope, and tags every ' +
      'response',
    async () => {
      const attempts: Record<string, string>[] = [
        {},
        { Authorization: 'Basic dXNlcjpwYXNz' },
        { Authorization: 'Bearer' },
      ];
      for (const headers of attempts) {
        const refused = await call('GET', REFERRALS, { auth: false, headers });
        expect(refused.status).toBe(401);
        expect(refused.body).toEqual({
          error: {
            code: 'unauthenticated',
            message:
              'Authentication failed: send Authorization: Bearer <token> (an Entra ID token for ' +
              'https://api.partner.microsoft.com).',
          },
        });
        expect(refused.headers.get('www-authenticate')).toBe('Bearer');
        expect(refused.headers.get('request-id')).toMatch(GUID);
      }
      const correlation = '3f2c1b0a-9e8d-4c7b-a6f5-e4d3c2b1a090';
      const ok = await call('GET', REFERRALS, { headers: { 'MS-CorrelationId': correlation } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ms-correlationid')).toBe(correlation);
      expect(ok.headers.get('request-id')).toMatch(GUID);
      expect(ok.headers.get('request-id')).not.toBe(correlation);
    },
  );

  it('refuses tracking headers that are not GUIDs', async () => {
    const refused = await call('GET', REFERRALS, { headers: { 'MS-RequestId': 'req-1' } });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      error: { code: 'invalidRequest', message: "MS-RequestId must be a GUID (got 'req-1')" },
    });
  });
});

describe('listing', () => {
  it(
    'serves the OData collection shape, newest first by default, with links and ' + 'eTags',
    async () => {
      const seeded = sim.store.seed(3, 11);
      const reply = await list();
      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body)).toEqual(['@odata.context', '@odata.count', 'value']);
      expect(reply.body['@odata.context']).toBe(`${base}/v1.0/$metadata#referrals`);
      expect(reply.body['@odata.count']).toBe(3);
      expect(reply.body.value.map((r: Referral) => r.id)).toEqual(
        seeded.map((r) => r.id).reverse(),
      );
      const [first] = reply.body.value;
      expect(first.eTag).toMatch(/^"[0-9a-f]{8}-0000-0000-0000-[0-9a-f]{12}"$/);
      expect(first.createdDateTime).toMatch(STAMP);
      expect(first.updatedDateTime).toMatch(STAMP);
      expect(first.links).toEqual({
        self: { uri: `${base}${REFERRALS}/${first.id}`, method: 'GET', headers: [] },
        relatedReferrals: {
          uri: `${base}${REFERRALS}?$filter=${encodeURIComponent(
            `engagementId eq '` + `${first.engagementId}'`,
          )}`,
          method: 'GET',
          headers: [],
        },
      });
      const related = await call('GET', first.links.relatedReferrals.uri);
      expect(related.body.value.map((r: Referral) => r.id)).toEqual([first.id]);
      expect(await call('GET', `${REFERRALS}/${first.id}`)).toMatchObject({
        status: 200,
        body: first,
      });
    },
  );

  it(
    'pages 250 referrals in pages of 100 with absolute nextLinks to the end, each referral ' +
      'once',
    async () => {
      sim.store.seed(250, 12);
      const pages = await allPages({ $orderby: 'updatedDateTime asc' });
      expect(pages.map((page) => page.value.length)).toEqual([100, 100, 50]);
      expect(pages.map((page) => page['@odata.count'])).toEqual([250, 250, 250]);
      expect(pages[0]['@odata.nextLink']).toMatch(
        new RegExp(
          `^${base}${REFERRALS}` +
            `\\?\\$orderby=updatedDateTime%20asc&\\$skiptoken=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$`,
        ),
      );
      const referrals: Referral[] = pages.flatMap((page) => page.value);
      expect(new Set(referrals.map((r) => r.id)).size).toBe(250);
      const stamps = referrals.map((r) => r.updatedDateTime);
      expect(stamps).toEqual([...stamps].sort());
      expect(new Set(stamps).size).toBe(250);

      const newestFirst = (await allPages({})).flatMap((page) => page.value as Referral[]);
      expect(newestFirst.map((r) => r.id)).toEqual(
        [...referrals]
          .sort((a, b) => (a.createdDateTime < b.createdDateTime ? 1 : -1))
          .map((r) => r.id),
      );
    },
  );

  it('keeps paging complete while referrals change and arrive between pages', async () => {
    const seeded = sim.store.seed(250, 13);
    const first = await list({ $orderby: 'updatedDateTime asc' });
    const seen: Referral[] = [...first.body.value];
    const changed = [seeded[3]!, seeded[150]!, seeded[249]!].map(
      (r) => sim.store.update(r.id, { favorite: true }).id,
    );
    const arrived = newReferral().id;
    let next: string | undefined = first.body['@odata.nextLink'];
    while (next) {
      const page: Reply = await call('GET', next);
      seen.push(...page.body.value);
      next = page.body['@odata.nextLink'];
    }
    const ids = seen.map((r) => r.id);
    expect(new Set(ids)).toEqual(new Set([...seeded.map((r) => r.id), arrived]));
    // seeded[3] was served before it changed, so it comes again at the end; the others once, in
    // their new place.
    expect(ids.filter((id) => id === changed[0])).toHaveLength(2);
    expect(ids.slice(-4)).toEqual([...changed, arrived]);
  });

  it('refuses a tampered, foreign or mismatched $skiptoken and a repeated option', async () => {
    sim.store.seed(120, 14);
    const link: string = (await list({ $filter: "status eq 'New'" })).body['@odata.nextLink'];
    const token = new URL(link).searchParams.get('$skiptoken')!;
    const tampered = `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`;
    for (const bad of [tampered, 'opaque', `${token}x`]) {
      expect(await list({ $filter: "status eq 'New'", $skiptoken: bad })).toMatchObject({
        status: 400,
        body: {
          error: {
            code: 'invalidRequest',
            message: '$skiptoken is not valid: follow @odata.nextLink exactly as given',
          },
        },
      });
    }
    expect(await list({ $filter: "status eq 'Active'", $skiptoken: token })).toMatchObject({
      status: 400,
      body: {
        error: {
          message:
            '$skiptoken belongs to a different query: keep $filter, $orderby, $select, $top ' +
            'and $count as in the @odata.nextLink',
        },
      },
    });
    const twice = await call('GET', `${link}&$filter=${encodeURIComponent("status eq 'New'")}`);
    expect(twice.body).toEqual({
      error: { code: 'invalidRequest', message: '$filter is given 2 times; give it once' },
    });
  });

  it(
    'filters on nested paths, lambdas and quoted names with apostrophes and ' + 'backslashes',
    async () => {
      const obrien = newReferral({
        customerProfile: {
          name: "O'Brien \\ Sons",
          address: { country: 'IE' },
          team: [{ firstName: 'Seán', email: 'sean@obrien.ie' }],
        },
      });
      const contoso = newReferral({
        customerProfile: {
          name: 'Contoso',
          address: { country: 'US' },
          team: [{ email: 'kim@contoso.com' }],
        },
      });
      const hot = newReferral({
        customerProfile: { address: { country: 'US' } },
        details: { customerRequestedContact: true, dealValue: 5000, currency: 'USD' },
      });
      const ids = async (filter: string) =>
        (await list({ $filter: filter, $orderby: 'createdDateTime asc' })).body.value.map(
          (r: Referral) => r.id,
        );
      expect(await ids("customerProfile/address/country eq 'US'")).toEqual([contoso.id, hot.id]);
      expect(await ids("customerProfile/team/any(t:t/email eq 'sean@obrien.ie')")).toEqual([
        obrien.id,
      ]);
      expect(await ids("customerProfile/name eq 'O''Brien \\ Sons'")).toEqual([obrien.id]);
      expect(
        await ids(
          "details/customerRequestedContact eq true and (customerProfile/address/country eq 'US' " +
            "or customerProfile/address/country eq 'IE')",
        ),
      ).toEqual([hot.id]);
      expect(
        await ids("details/dealValue ge 5000 or not (customerProfile/address/country ne 'IE')"),
      ).toEqual([obrien.id, hot.id]);
      expect(await ids(`id eq '${contoso.id}'`)).toEqual([contoso.id]);

      const refused = await list({ $filter: "customerProfile/address/county eq 'US'" });
      expect(refused.status).toBe(400);
      expect(refused.body).toEqual({
        error: {
          code: 'invalidRequest',
          message:
            "invalid $filter: unknown property 'customerProfile/address/county' at character 25 " +
            "(did you mean 'customerProfile/address/country'?)",
        },
      });
      expect(
        (await list({ $filter: "updatedDateTime ge '2025-01-01T00:00:00Z'" })).body.error.message,
      ).toBe(
        'invalid $filter: updatedDateTime is a date-time: write the literal unquoted, as in ' +
          "updatedDateTime ge 2025-01-01T00:00:00Z, not as the string '2025-01-01T00:00:00Z' " +
          'at character 20',
      );
    },
  );

  it(
    'answers the incremental query with exactly what changed since the watermark, in update ' +
      'order',
    async () => {
      const seeded = sim.store.seed(50, 15);
      const full = (await allPages({ $orderby: 'updatedDateTime asc' })).flatMap(
        (page) => page.value as Referral[],
      );
      const watermark = full[full.length - 1]!;
      sim.store.update(seeded[7]!.id, { details: { notes: 'customer called again' } });
      expect(
        (
          await patch(seeded[20]!.id, [
            { op: 'replace', path: '/externalReferenceId', value: 'crm-20' },
          ])
        ).status,
      ).toBe(204);
      sim.store.update(seeded[0]!.id, { favorite: true });

      const reply = await list({
        $filter: `updatedDateTime ge ${watermark.updatedDateTime}`,
        $orderby: 'updatedDateTime asc',
      });
      expect(reply.body['@odata.count']).toBe(4);
      expect(reply.body.value.map((r: Referral) => r.id)).toEqual([
        watermark.id,
        seeded[7]!.id,
        seeded[20]!.id,
        seeded[0]!.id,
      ]);
      const stamps = reply.body.value.map((r: Referral) => r.updatedDateTime);
      expect(stamps).toEqual([...stamps].sort());
      expect(new Set(stamps).size).toBe(4);
      const after = await list({
        $filter: `updatedDateTime gt ${watermark.updatedDateTime} and favorite eq true`,
        $orderby: 'updatedDateTime desc',
      });
      expect(after.body.value.map((r: Referral) => r.id)).toEqual([seeded[0]!.id]);
    },
  );

  it(
    'applies $select, $top and $orderby, and refuses what the service does not ' + 'offer',
    async () => {
      sim.store.seed(250, 16);
      const selected = await list({ $select: 'id,status', $top: '2' });
      expect(selected.body['@odata.context']).toBe(`${base}/v1.0/$metadata#referrals(id,status)`);
      expect(selected.body.value.map((r: object) => Object.keys(r))).toEqual([
        ['id', 'status'],
        ['id', 'status'],
      ]);
      expect(selected.body['@odata.nextLink']).toBeUndefined();

      const capped = await allPages({ $top: '150', $orderby: 'createdDateTime asc' });
      expect(capped.map((page) => page.value.length)).toEqual([100, 50]);
      expect(capped[0]['@odata.count']).toBe(250);

      const refusals: Array<[Record<string, string>, string]> = [
        [
          { $orderby: 'name asc' },
          '$orderby supports createdDateTime or updatedDateTime, optionally followed by asc or ' +
            "desc; got 'name asc'",
        ],
        [
          { $orderby: 'createdDateTime desc, id' },
          '$orderby supports createdDateTime or updatedDateTime, optionally followed by asc or ' +
            "desc (one sort key only); got 'createdDateTime desc, id'",
        ],
        [
          { $select: 'id,customerProfile/name' },
          '$select names unknown properties: customerProfile/name (only top-level properties can ' +
            'be selected)',
        ],
        [{ $top: '0' }, "$top must be a positive integer (got '0')"],
        [{ $skip: '100' }, 'unsupported query option $skip: page by following @odata.nextLink'],
        [
          { $Filter: "status eq 'New'" },
          'unsupported query option $Filter (query options are case-sensitive: $filter)',
        ],
        [{ filter: "status eq 'New'" }, "query option 'filter' needs its $ prefix ($filter)"],
      ];
      for (const [query, message] of refusals) {
        expect(await list(query)).toMatchObject({
          status: 400,
          body: { error: { code: 'invalidRequest', message } },
        });
      }
    },
  );
});

describe('writes', () => {
  it(
    'accepts with If-Match, rolls eTag and updatedDateTime, then refuses the stale eTag with ' +
      '412',
    async () => {
      const referral = newReferral();
      const accepted = await patch(referral.id, ACCEPT_OPS, { 'If-Match': referral.eTag });
      expect(accepted.status).toBe(204);
      expect(accepted.body).toBeNull();
      const current = (await call('GET', `${REFERRALS}/${referral.id}`)).body as Referral;
      expect(current).toMatchObject({
        status: 'Active',
        substatus: 'Accepted',
        details: {
          dealValue: 120000,
          currency: 'USD',
          closingDateTime: '2026-06-30T00:00:00.0000000Z',
        },
      });
      expect(current.acceptedDateTime).toBe(current.updatedDateTime);
      expect(current.eTag).not.toBe(referral.eTag);
      expect(current.updatedDateTime > referral.updatedDateTime).toBe(true);

      const stale = await patch(
        referral.id,
        [{ op: 'replace', path: '/externalReferenceId', value: 'crm-1' }],
        { 'If-Match': referral.eTag },
      );
      expect(stale.status).toBe(412);
      expect(stale.body).toEqual({
        error: {
          code: 'preconditionFailed',
          message:
            `If-Match ${referral.eTag} does not match the current eTag of referral ` +
            `${referral.id}: the referral has changed since it was read: read it again and retry`,
        },
      });
      const unquoted = await patch(
        referral.id,
        [{ op: 'replace', path: '/externalReferenceId', value: 'crm-1' }],
        { 'If-Match': current.eTag.slice(1, -1) },
      );
      expect(unquoted.body.error.message).toBe(
        `If-Match ${current.eTag.slice(1, -1)} does not match the current eTag of referral ` +
          `${referral.id}: send the eTag exactly as received, quotes included`,
      );

      const represented = await patch(
        referral.id,
        [{ op: 'replace', path: '/details/dealValue', value: '150000' }],
        {
          'If-Match': current.eTag,
          Prefer: 'return=representation',
          'Content-Type': 'application/json-patch+json',
        },
      );
      expect(represented.status).toBe(200);
      expect(represented.headers.get('preference-applied')).toBe('return=representation');
      expect(represented.body).toMatchObject({
        id: referral.id,
        details: { dealValue: 150000 },
        acceptedDateTime: current.acceptedDateTime,
      });
      expect(represented.body.eTag).not.toBe(current.eTag);
    },
  );

  it('names every missing field of an accept', async () => {
    const referral = newReferral();
    const refused = await patch(referral.id, ACCEPT_OPS.slice(0, 2), { 'If-Match': referral.eTag });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      'accepting a referral (New/Received to Active/Accepted) requires name, ' +
        'details.dealValue, details.currency, details.closingDateTime, details.notes; missing: ' +
        'details.dealValue, details.currency, details.closingDateTime',
    );
    expect(sim.store.get(referral.id)!.eTag).toBe(referral.eTag);
  });

  it('refuses illegal transitions, then anything on a Closed referral', async () => {
    const referral = newReferral();
    const won = await patch(referral.id, [
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Won' },
    ]);
    expect(won.body).toEqual({
      error: {
        code: 'invalidRequest',
        message:
          'illegal change from New/Received to Closed/Won: a referral moves to Closed/Won only ' +
          'from Active',
      },
    });

    const declined = await patch(referral.id, [
      { op: 'replace', path: '/status', value: 'Closed' },
      { op: 'replace', path: '/substatus', value: 'Declined' },
      { op: 'replace', path: '/statusReason', value: 'Not a customer' },
    ]);
    expect(declined.status).toBe(204);
    const closed = sim.store.get(referral.id)!;
    const again = await patch(
      referral.id,
      [{ op: 'replace', path: '/details/notes', value: 'one more thing' }],
      { 'If-Match': closed.eTag },
    );
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      error: {
        code: 'invalidRequest',
        message: `referral ${referral.id} is Closed/Declined: archived referrals cannot be changed`,
      },
    });
    expect(
      (
        await call('PUT', `${REFERRALS}/${referral.id}`, {
          body: closed,
          headers: { 'If-Match': closed.eTag },
        })
      ).status,
    ).toBe(409);
  });

  it(
    'refuses other ops, read-only paths, bad values and non-JSON bodies without changing ' +
      'anything',
    async () => {
      const referral = newReferral();
      const refusals: Array<[unknown, Record<string, string>, number, string]> = [
        [
          [{ op: 'remove', path: '/details/notes' }],
          {},
          400,
          "operation 1 (remove /details/notes): op 'remove' is not supported; only replace and " +
            'add are',
        ],
        [
          [{ op: 'replace', path: '/createdDateTime', value: '2025-01-01T00:00:00Z' }],
          {},
          400,
          'operation 1 (replace /createdDateTime): /createdDateTime is read-only',
        ],
        [
          [{ op: 'replace', path: '/details/currency', value: 'usd' }],
          {},
          400,
          "invalid referral after the update: details.currency: 'usd' is not an ISO 4217 " +
            'three-letter currency code such as USD',
        ],
        [
          { op: 'replace', path: '/name', value: 'x' },
          {},
          400,
          'the body must be a JSON Patch array of operations, e.g. ' +
            '[{"op":"replace","path":"/details/notes","value":"..."}]',
        ],
        [
          '[{"op":"replace","path":"/name","value":"x"}]',
          { 'Content-Type': 'text/plain' },
          415,
          "Content-Type must be application/json or application/json-patch+json (got 'text/plain')",
        ],
        ['[{"op":', {}, 400, 'The request body is not valid JSON: Unexpected end of JSON input'],
      ];
      for (const [body, headers, status, message] of refusals) {
        const reply = await patch(referral.id, body, headers);
        expect(reply.status).toBe(status);
        expect(reply.body.error.message).toBe(message);
      }
      expect(sim.store.get(referral.id)).toBe(referral);
      expect(
        (
          await patch('00000000-0000-4000-8000-000000000000', [
            { op: 'replace', path: '/name', value: 'x' },
          ])
        ).body,
      ).toEqual({
        error: {
          code: 'itemNotFound',
          message: "referral '00000000-0000-4000-8000-000000000000' was not found",
        },
      });
      expect(
        (await call('PUT', `${REFERRALS}/${referral.id}`, { body: referral })).body.error.message,
      ).toBe(
        'PUT (full replace) is obsolete and requires If-Match with the current eTag; update ' +
          'referrals with PATCH and a JSON Patch body',
      );
      expect(await call('DELETE', `${REFERRALS}/${referral.id}`)).toMatchObject({
        status: 405,
        body: {
          error: {
            code: 'invalidRequest',
            message:
              'referrals cannot be deleted: close one with PATCH (Closed/Declined or ' +
              'Closed/Lost) instead',
          },
        },
      });
    },
  );

  it('replaces the writable fields with the obsolete PUT when If-Match is given', async () => {
    const referral = newReferral();
    const body = { ...referral, id: 'ignored', name: 'Renamed deal', externalReferenceId: 'crm-9' };
    const replaced = await call('PUT', `${REFERRALS}/${referral.id}`, {
      body,
      headers: { 'If-Match': referral.eTag, Prefer: 'return=representation' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({
      id: referral.id,
      name: 'Renamed deal',
      externalReferenceId: 'crm-9',
      createdDateTime: referral.createdDateTime,
    });
  });

  it(
    'creates a partner referral with POST and refuses an invalid one, naming every ' + 'problem',
    async () => {
      const created = await call('POST', REFERRALS, {
        body: {
          name: 'Contoso Test Deal - [Private]',
          type: 'Independent',
          qualification: 'SalesQualified',
          customerProfile: {
            name: 'Contoso Customer Inc',
            address: { city: 'Redmond', country: 'US' },
            size: '10to50employees',
          },
          consent: { consentToShareReferralWithMicrosoftSellers: false },
          details: {
            dealValue: '10000',
            currency: 'USD',
            closingDateTime: '2026-09-30T00:00:00Z',
            notes: 'Private deal',
          },
        },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        status: 'Active',
        substatus: 'Accepted',
        direction: 'Outgoing',
        expirationDateTime: null,
        details: { dealValue: 10000 },
      });
      expect(created.body.id).toMatch(GUID);
      expect(created.body.acceptedDateTime).toBe(created.body.createdDateTime);
      expect(created.headers.get('location')).toBe(`${base}${REFERRALS}/${created.body.id}`);
      expect((await call('GET', `${REFERRALS}/${created.body.id}`)).body).toEqual(created.body);

      const refused = await call('POST', REFERRALS, {
        body: {
          name: 'x',
          eTag: '"mine"',
          type: 'Independent',
          customerProfile: { address: { country: 'Ireland' } },
          consent: {},
          details: {},
        },
      });
      expect(refused.body).toEqual({
        error: {
          code: 'invalidRequest',
          message:
            'invalid referral: eTag is set by the service and cannot be given on create; ' +
            "customerProfile.name is required; customerProfile.address.country: 'Ireland' is " +
            'not an ISO 3166 two-letter country code such as US',
        },
      });
    },
  );
});

describe('expiry, faults and determinism', () => {
  it('expires unanswered incoming referrals once the simulator clock passes 14 days', async () => {
    const waiting = newReferral();
    const answered = newReferral();
    expect(Date.parse(waiting.expirationDateTime!) - Date.parse(waiting.createdDateTime)).toBe(
      14 * DAY_MS,
    );
    expect((await patch(answered.id, ACCEPT_OPS)).status).toBe(204);
    const watermark = sim.store.get(answered.id)!.updatedDateTime;

    expect(
      (await call('POST', '/_sim/clock/advance', { auth: false, body: { days: 15 } })).status,
    ).toBe(200);
    const expired = (await call('GET', `${REFERRALS}/${waiting.id}`)).body as Referral;
    expect(expired).toMatchObject({
      status: 'Closed',
      substatus: 'Expired',
      updatedDateTime: waiting.expirationDateTime,
    });
    expect(expired.eTag).not.toBe(waiting.eTag);
    expect((await call('GET', `${REFERRALS}/${answered.id}`)).body).toMatchObject({
      status: 'Active',
      updatedDateTime: watermark,
    });

    const changes = await list({
      $filter: `updatedDateTime gt ${watermark}`,
      $orderby: 'updatedDateTime asc',
    });
    expect(changes.body.value.map((r: Referral) => r.id)).toEqual([waiting.id]);
    expect(
      (await patch(waiting.id, ACCEPT_OPS, { 'If-Match': expired.eTag })).body.error.code,
    ).toBe('invalidRequest');
  });

  it('injects a 429 with Retry-After in the API envelope, then serves again', async () => {
    const configured = await call('PUT', '/_sim/faults', {
      auth: false,
      body: { rules: [{ kind: '429', count: 1, retryAfterSeconds: 7 }] },
    });
    expect(configured.status).toBe(200);
    const throttled = await list();
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(throttled.headers.get('request-id')).toMatch(GUID);
    expect(throttled.body).toEqual({
      error: { code: 'serviceNotAvailable', message: 'Rate limit is exceeded. Try again later.' },
    });
    expect((await list()).status).toBe(200);
    expect(sim.server.counters().faultsInjected).toBe(1);
  });

  it('seeds the same referrals from the same seed, with a realistic mix of lead kinds', () => {
    const timeless = (referrals: Referral[]) =>
      referrals.map(
        ({
          createdDateTime: _c,
          updatedDateTime: _u,
          expirationDateTime: _e,
          details,
          ...rest
        }) => ({
          ...rest,
          details: { ...details, closingDateTime: null },
        }),
      );
    const seededAt = Date.now();
    const one = createPartnerCenterSimulator().store.seed(2_000, 42);
    const two = createPartnerCenterSimulator().store.seed(2_000, 42);
    expect(timeless(two)).toEqual(timeless(one));
    expect(createPartnerCenterSimulator().store.seed(1, 43)[0]!.id).not.toBe(one[0]!.id);

    const share = (test: (r: Referral) => boolean) => one.filter(test).length / one.length;
    expect(share((r) => deriveLeadKind(r) === 'customerInquiry')).toBeGreaterThan(0.4);
    expect(share((r) => deriveLeadKind(r) === 'customerInquiry')).toBeLessThan(0.5);
    for (const kind of ['marketingQualified', 'salesQualified'] as const) {
      expect(share((r) => deriveLeadKind(r) === kind)).toBeGreaterThan(0.2);
      expect(share((r) => deriveLeadKind(r) === kind)).toBeLessThan(0.3);
    }
    expect(share((r) => deriveLeadKind(r) === 'coSell')).toBeGreaterThan(0.03);
    expect(share((r) => deriveLeadKind(r) === 'coSell')).toBeLessThan(0.07);
    expect(share((r) => r.details?.customerRequestedContact === true)).toBeGreaterThan(0.15);
    expect(share((r) => r.details?.customerRequestedContact === true)).toBeLessThan(0.25);
    expect(
      one.every(
        (r) => r.status === 'New' && r.substatus === 'Received' && r.direction === 'Incoming',
      ),
    ).toBe(true);
    expect(
      one.every(
        (r) => Date.parse(r.expirationDateTime!) - Date.parse(r.createdDateTime) === 14 * DAY_MS,
      ),
    ).toBe(true);
    expect(one.some((r) => r.customerProfile?.name?.includes("O'Brien \\ Sons"))).toBe(true);
    const stamps = one.map((r) => r.updatedDateTime);
    expect(stamps.every((stamp, i) => i === 0 || stamp > stamps[i - 1]!)).toBe(true);
    const created = one.map((r) => Date.parse(r.createdDateTime));
    expect(Math.min(...created)).toBeGreaterThanOrEqual(seededAt - 13 * DAY_MS);
    expect(Math.min(...created)).toBeLessThan(seededAt - 12.9 * DAY_MS);
    expect(Math.max(...created)).toBeLessThan(seededAt);
  });
});

describe('admin routes', () => {
  it('seeds, counts, reads, stores raw bodies, edits as another actor and resets', async () => {
    const seeded = await call('POST', '/_sim/seed', { auth: false, body: { count: 5, seed: 9 } });
    expect(seeded.status).toBe(201);
    expect(seeded.body.created).toBe(5);
    expect(seeded.body.ids).toEqual(
      createPartnerCenterSimulator()
        .store.seed(5, 9)
        .map((r) => r.id),
    );
    expect(
      (await call('POST', '/_sim/seed', { auth: false, body: { count: 5, seed: 9 } })).body.error
        .message,
    ).toBe(
      `seed 9 was already used in this store (referral ${seeded.body.ids[0]} exists): reset ` +
        `the store or pick another seed`,
    );

    const raw = await call('POST', '/_sim/referrals?raw=true', {
      auth: false,
      body: { status: 'Weird', details: { dealValue: 'lots' } },
    });
    expect(raw.status).toBe(201);
    expect(raw.body).toEqual({
      status: 'Weird',
      details: { dealValue: 'lots' },
      id: expect.stringMatching(GUID),
      eTag: expect.any(String),
      updatedDateTime: expect.stringMatching(STAMP),
    });
    expect((await call('GET', `${REFERRALS}/${raw.body.id}`)).body).toEqual(raw.body);
    expect(await call('GET', '/_sim/referrals?count=true', { auth: false })).toMatchObject({
      status: 200,
      body: { count: 6 },
    });

    const id = seeded.body.ids[0];
    const before = (await call('GET', `/_sim/referrals/${id}`, { auth: false })).body as Referral;
    const edited = await call('PATCH', `/_sim/referrals/${id}`, {
      auth: false,
      body: { status: 'Closed', substatus: 'Won', customerProfile: { address: { city: 'Cork' } } },
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      status: 'Closed',
      substatus: 'Won',
      customerProfile: { name: before.customerProfile!.name, address: { city: 'Cork' } },
    });
    expect(edited.body.eTag).not.toBe(before.eTag);
    expect(edited.body.updatedDateTime > before.updatedDateTime).toBe(true);

    expect((await call('POST', '/_sim/reset', { auth: false })).status).toBe(204);
    expect((await call('GET', '/_sim/referrals', { auth: false })).body).toEqual({ count: 0 });
    expect((await call('GET', `/_sim/referrals/${id}`, { auth: false })).status).toBe(404);
  });
});
