// Unit tests for the Dynamics 365 adapter's pure parts: $batch encoding / decoding, key literals,
// results, settings, change merging.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import { itemRetryDelay } from '../../src/crm/dynamics365/adapter.js';
import {
  decodeBatchResponse,
  encodeBatchRequest,
  matchBatchResponses,
} from '../../src/crm/dynamics365/batch.js';
import {
  changedRowsUrl,
  leadsByReferralUrl,
  missingHalves,
  readChangePages,
  type ChangedRow,
  type Row,
  type RowPage,
} from '../../src/crm/dynamics365/changes.js';
import {
  alternateKeyPath,
  dateTimeLiteral,
  entityIdFromUrl,
  parseDataverseError,
  stringLiteral,
} from '../../src/crm/dynamics365/odata.js';
import { parseDynamicsSettings } from '../../src/crm/dynamics365/settings.js';
import { upsertOperation, upsertOutcome } from '../../src/crm/dynamics365/upsert.js';

const API = 'https://contoso.crm.dynamics.com/api/data/v9.2/';
const boundaries = { batch: 'batch_b1', changeset: (i: number) => `changeset_c${i + 1}` };

describe('key literals', () => {
  it('doubles single quotes inside an alternate-key segment', () => {
    expect(stringLiteral("O'Brien")).toBe("'O''Brien'");
    expect(alternateKeyPath('leads', 'lb_referralid', "O'Brien")).toBe(
      "leads(lb_referralid='O''Brien')",
    );
  });

  it('percent-encodes characters that cannot stand in a request line', () => {
    expect(alternateKeyPath('leads', 'lb_referralid', 'a b/c')).toBe(
      "leads(lb_referralid='a%20b%2Fc')",
    );
  });

  it('accepts only zoned ISO date-times for $filter', () => {
    expect(dateTimeLiteral('2025-01-01T00:00:00.1234567Z', 'since')).toBe(
      '2025-01-01T00:00:00.1234567Z',
    );
    expect(() => dateTimeLiteral('2025-01-01', 'readChanges(since)')).toThrow(
      'readChanges(since): "2025-01-01" is not an ISO-8601 date-time with a zone',
    );
  });

  it('reads the record id from OData-EntityId', () => {
    expect(entityIdFromUrl(`${API}leads(5f2b8c4e-1d2a-4b8e-9c3f-0a1b2c3d4e5f)`)).toBe(
      '5f2b8c4e-1d2a-4b8e-9c3f-0a1b2c3d4e5f',
    );
    expect(entityIdFromUrl(`${API}leads(lb_referralid='x')`)).toBeUndefined();
  });
});

describe('encodeBatchRequest', () => {
  it('puts each operation in its own change set, with CRLF line endings', () => {
    const operations = [
      upsertOperation({ referralId: 'r1', fields: { subject: 'A' } }, '1', API, 'lb_referralid'),
      upsertOperation(
        { referralId: "O'Brien", fields: { subject: 'B', estimatedvalue: 10 } },
        '2',
        API,
        'lb_referralid',
      ),
    ];
    const encoded = encodeBatchRequest(operations, boundaries);
    expect(encoded.contentType).toBe('multipart/mixed; boundary=batch_b1');
    expect(encoded.body).toBe(
      [
        '--batch_b1',
        'Content-Type: multipart/mixed; boundary=changeset_c1',
        '',
        '--changeset_c1',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: 1',
        '',
        `PATCH ${API}leads(lb_referralid='r1')?$select=leadid HTTP/1.1`,
        'Content-Type: application/json; charset=utf-8',
        'Prefer: return=representation',
        '',
        '{"subject":"A"}',
        '--changeset_c1--',
        '--batch_b1',
        'Content-Type: multipart/mixed; boundary=changeset_c2',
        '',
        '--changeset_c2',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: 2',
        '',
        `PATCH ${API}leads(lb_referralid='O''Brien')?$select=leadid HTTP/1.1`,
        'Content-Type: application/json; charset=utf-8',
        'Prefer: return=representation',
        '',
        '{"subject":"B","estimatedvalue":10}',
        '--changeset_c2--',
        '--batch_b1--',
        '',
      ].join('\r\n'),
    );
  });

  it('addresses opportunities through their own entity set', () => {
    const operation = upsertOperation(
      { referralId: 'r9', entity: 'opportunity', fields: {} },
      '7',
      API,
      'lb_referralid',
    );
    expect(operation.url).toBe(`${API}opportunities(lb_referralid='r9')?$select=opportunityid`);
  });
});

const LEAD_1 = '11111111-1111-1111-1111-111111111111';
const LEAD_2 = '22222222-2222-2222-2222-222222222222';
const badColumn = "Invalid property 'lb_bogus' was found in entity 'Microsoft.Dynamics.CRM.lead'.";

function changesetResponse(
  changeset: string,
  contentId: string,
  statusLine: string,
  headers: string[],
  body = '',
): string[] {
  return [
    'Content-Type: multipart/mixed; boundary=' + changeset,
    '',
    `--${changeset}`,
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    `Content-ID: ${contentId}`,
    '',
    statusLine,
    ...headers,
    '',
    body,
    `--${changeset}--`,
  ];
}

const threeResponses = [
  '--batchresponse_r1',
  ...changesetResponse('changesetresponse_a', '1', 'HTTP/1.1 201 Created', [
    'OData-Version: 4.0',
    `OData-EntityId: ${API}leads(${LEAD_1})`,
  ]),
  '--batchresponse_r1',
  ...changesetResponse(
    'changesetresponse_b',
    '2',
    'HTTP/1.1 200 OK',
    ['Content-Type: application/json; odata.metadata=minimal'],
    JSON.stringify({ '@odata.etag': 'W/"1"', leadid: LEAD_2 }),
  ),
  '--batchresponse_r1',
  ...changesetResponse(
    'changesetresponse_c',
    '3',
    'HTTP/1.1 400 Bad Request',
    ['Content-Type: application/json; odata.metadata=minimal'],
    JSON.stringify({ error: { code: '0x80060888', message: badColumn } }),
  ),
  '--batchresponse_r1--',
  '',
].join('\r\n');

const records = [
  { referralId: 'r1', fields: { subject: 'A' } },
  { referralId: 'r2', fields: { subject: 'B' } },
  { referralId: 'r3', fields: { lb_bogus: 1 } },
];
const operations = records.map((r, i) => upsertOperation(r, String(i + 1), API, 'lb_referralid'));

describe('decodeBatchResponse', () => {
  it('reads 201, 200 and 400 from nested change-set responses into per-record results', () => {
    const parts = decodeBatchResponse('multipart/mixed; boundary=batchresponse_r1', threeResponses);
    expect(parts.map((p) => [p.partIndex, p.contentId, p.status])).toEqual([
      [0, '1', 201],
      [1, '2', 200],
      [2, '3', 400],
    ]);
    const matched = matchBatchResponses(operations, parts);
    const results = records.map(
      (r, i) => upsertOutcome(r, matched[i], DEFAULT_RETRY_POLICY).result,
    );
    expect(results).toEqual([
      { referralId: 'r1', ok: true, recordId: LEAD_1, created: true },
      { referralId: 'r2', ok: true, recordId: LEAD_2, created: false },
      {
        referralId: 'r3',
        ok: false,
        error: {
          code: '0x80060888',
          message: badColumn,
          retryable: false,
          status: 400,
          fields: ['lb_bogus'],
        },
      },
    ]);
  });

  it('takes a quoted boundary and bare LF line endings', () => {
    const parts = decodeBatchResponse(
      'multipart/mixed; boundary="batchresponse_r1"',
      threeResponses.replace(/\r\n/g, '\n'),
    );
    expect(parts.map((p) => p.status)).toEqual([201, 200, 400]);
    expect(JSON.parse(parts[2]?.body ?? '')).toEqual({
      error: { code: '0x80060888', message: badColumn },
    });
  });

  it('refuses a response without a multipart boundary', () => {
    expect(() => decodeBatchResponse('application/json', '{}')).toThrow(
      '$batch response has no multipart boundary (Content-Type: application/json)',
    );
  });

  it(
    'matches a failed change set answered by a bare response (no Content-ID) by its ' + 'position',
    () => {
      const body = [
        '--batchresponse_x',
        ...changesetResponse('cs_1', '1', 'HTTP/1.1 204 No Content', [
          `OData-EntityId: ${API}leads(${LEAD_1})`,
        ]),
        '--batchresponse_x',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        'HTTP/1.1 429 Too Many Requests',
        'Retry-After: 7',
        'Content-Type: application/json',
        '',
        '{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 ' +
          'over time window of 300 seconds."}}',
        '--batchresponse_x--',
      ].join('\r\n');
      const two = operations.slice(0, 2);
      const matched = matchBatchResponses(
        two,
        decodeBatchResponse('multipart/mixed; boundary=batchresponse_x', body),
      );
      const outcomes = records
        .slice(0, 2)
        .map((r, i) => upsertOutcome(r, matched[i], DEFAULT_RETRY_POLICY));
      expect(outcomes[1]).toEqual({
        result: {
          referralId: 'r2',
          ok: false,
          error: {
            code: '0x80072322',
            message:
              'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
            retryable: true,
            status: 429,
          },
        },
        retryAfterSeconds: 7,
      });
      expect(itemRetryDelay(1, DEFAULT_RETRY_POLICY, outcomes)).toBe(7_000);
    },
  );

  it('returns results in input order whatever order the parts come back in', () => {
    const shuffled = [
      '--batchresponse_s',
      ...changesetResponse('cs_3', '3', 'HTTP/1.1 201 Created', [
        `OData-EntityId: ${API}leads(33333333-3333-3333-3333-333333333333)`,
      ]),
      '--batchresponse_s',
      ...changesetResponse('cs_1', '1', 'HTTP/1.1 201 Created', [
        `OData-EntityId: ${API}leads(${LEAD_1})`,
      ]),
      '--batchresponse_s--',
    ].join('\r\n');
    const matched = matchBatchResponses(
      operations,
      decodeBatchResponse('multipart/mixed; boundary=batchresponse_s', shuffled),
    );
    const results = records.map(
      (r, i) => upsertOutcome(r, matched[i], DEFAULT_RETRY_POLICY).result,
    );
    expect(results).toEqual([
      { referralId: 'r1', ok: true, recordId: LEAD_1, created: true },
      {
        referralId: 'r2',
        ok: false,
        error: {
          code: 'BATCH_ITEM_MISSING',
          message: 'the $batch response has no part for this operation',
          retryable: true,
        },
      },
      {
        referralId: 'r3',
        ok: true,
        recordId: '33333333-3333-3333-3333-333333333333',
        created: true,
      },
    ]);
  });
});

describe('parseDataverseError', () => {
  it('reads the error envelope from an object or from JSON text', () => {
    const envelope = { error: { code: '0x80040217', message: 'lead With Id = x Does Not Exist' } };
    expect(parseDataverseError(envelope)).toEqual({
      code: '0x80040217',
      message: 'lead With Id = x Does Not Exist',
    });
    expect(parseDataverseError(JSON.stringify(envelope))).toEqual({
      code: '0x80040217',
      message: 'lead With Id = x Does Not Exist',
    });
    expect(parseDataverseError('Service Unavailable')).toEqual({ message: 'Service Unavailable' });
    expect(parseDataverseError({ unexpected: true })).toEqual({});
  });
});

describe('parseDynamicsSettings', () => {
  it('applies the defaults', () => {
    expect(
      parseDynamicsSettings({
        url: 'https://contoso.crm.dynamics.com',
        auth: { kind: 'static', token: 't' },
      }),
    ).toEqual({
      url: 'https://contoso.crm.dynamics.com',
      apiVersion: 'v9.2',
      auth: { kind: 'static', token: 't' },
      alternateKey: 'lb_referralid',
      batchSize: 500,
      readPageSize: 500,
      concurrency: 4,
    });
  });

  it('reports every problem at once with its path', () => {
    expect(() =>
      parseDynamicsSettings(
        {
          url: 'https://contoso.crm.dynamics.com',
          batchSize: 1001,
          auth: { kind: 'clientCredentials', tenantId: 't', clientId: 'c' },
        },
        'targets[crm].settings',
      ),
    ).toThrow(
      [
        'invalid Dynamics 365 settings:',
        '  - targets[crm].settings.auth.clientSecret: Invalid input: expected string, received ' +
          'undefined',
        '  - targets[crm].settings.batchSize: Too big: expected number to be <=1000',
      ].join('\n'),
    );
  });
});

describe('change queries', () => {
  it(
    'filters on the referral column and, with a cursor, on modifiedon (unquoted), ordered by ' +
      'modifiedon then the primary key',
    () => {
      expect(
        decodeURIComponent(changedRowsUrl('lead', 'lb_referralid', '2025-03-01T10:00:00Z')),
      ).toBe(
        'leads?$select=leadid,statecode,statuscode,modifiedon,subject,estimatedvalue,' +
          'estimatedclosedate,description,' +
          '_qualifyingopportunityid_value,companyname,lb_referralid' +
          '&$filter=lb_referralid ne null and modifiedon gt ' +
          '2025-03-01T10:00:00Z&$orderby=modifiedon asc,leadid asc',
      );
      expect(decodeURIComponent(changedRowsUrl('opportunity', 'lb_referralid', null))).toMatch(
        /&\$filter=lb_referralid ne null&\$orderby=modifiedon asc,opportunityid asc$/,
      );
      expect(decodeURIComponent(leadsByReferralUrl('lb_referralid', ['a', "O'B"]))).toMatch(
        /&\$filter=lb_referralid eq 'a' or lb_referralid eq 'O''B'$/,
      );
    },
  );

  it(
    'asks for the lead of an opportunity-only change and the opportunity of a qualified ' + 'lead',
    () => {
      const changed: ChangedRow[] = [
        {
          entity: 'lead',
          row: { leadid: 'L1', lb_referralid: 'r1', _qualifyingopportunityid_value: 'O1' },
        },
        { entity: 'opportunity', row: { opportunityid: 'O2', lb_referralid: 'r2' } },
        {
          entity: 'lead',
          row: { leadid: 'L3', lb_referralid: 'r3', _qualifyingopportunityid_value: 'O3' },
        },
        { entity: 'opportunity', row: { opportunityid: 'O3', lb_referralid: 'r3' } },
      ];
      expect(missingHalves('lb_referralid', changed)).toEqual({
        referralIds: ['r2'],
        opportunityIds: ['O1'],
      });
    },
  );
});

/**
 * An in-memory Dataverse answering the adapter's GETs from row arrays, `pageSize` rows per page.
 */
function fakeDataverse(tables: { leads: Row[]; opportunities: Row[] }, pageSize: number) {
  const requested: string[] = [];
  const fetchPage = async (url: string): Promise<RowPage> => {
    requested.push(decodeURIComponent(url));
    const [path, skip] = url.split('#skip=');
    const set = path?.startsWith('leads') ? tables.leads : tables.opportunities;
    const filter = decodeURIComponent(path ?? '');
    const rows = set.filter((row) => {
      const since = /modifiedon gt (\S+)/.exec(filter)?.[1];
      const ids = [...filter.matchAll(/(?:lb_referralid|opportunityid) eq '?([^' &]+)'?/g)].map(
        (m) => m[1],
      );
      if (since && !(String(row.modifiedon) > since)) return false;
      return (
        ids.length === 0 ||
        ids.includes(String(row.lb_referralid)) ||
        ids.includes(String(row.opportunityid))
      );
    });
    const start = Number(skip ?? 0);
    const next = start + pageSize < rows.length ? `${path}#skip=${start + pageSize}` : undefined;
    return { rows: rows.slice(start, start + pageSize), ...(next ? { nextLink: next } : {}) };
  };
  return { fetchPage, requested };
}

const lead = (n: number, modifiedon: string, qualifying?: string): Row => ({
  leadid: `L${n}`,
  lb_referralid: `r${n}`,
  statecode: qualifying ? 1 : 0,
  modifiedon,
  ...(qualifying ? { _qualifyingopportunityid_value: qualifying } : {}),
});
const opportunity = (id: string, referral: string, modifiedon: string, statecode = 0): Row => ({
  opportunityid: id,
  lb_referralid: referral,
  statecode,
  modifiedon,
});

async function collect(
  pages: AsyncIterable<{ records: { referralId: string }[]; cursor: string | null }>,
) {
  const out: { referralIds: string[]; cursor: string | null }[] = [];
  for await (const page of pages)
    out.push({ referralIds: page.records.map((r) => r.referralId), cursor: page.cursor });
  return out;
}

const O1 = '00000000-0000-0000-0000-0000000000a1';
const O2 = '00000000-0000-0000-0000-0000000000b2';

describe('readChangePages', () => {
  it(
    'merges both streams in modifiedon order and never splits one timestamp across ' + 'pages',
    async () => {
      const dataverse = fakeDataverse(
        {
          leads: [
            lead(1, '2025-01-01T00:00:01Z'),
            lead(2, '2025-01-01T00:00:03Z'),
            lead(3, '2025-01-01T00:00:03Z'),
          ],
          opportunities: [
            opportunity('O9', 'r9', '2025-01-01T00:00:02Z'),
            opportunity('O4', 'r4', '2025-01-01T00:00:03Z'),
          ],
        },
        2,
      );
      const pages = await collect(
        readChangePages(
          {
            keyColumn: 'lb_referralid',
            concurrency: 2,
            fetchPage: dataverse.fetchPage,
            pageSize: 2,
          },
          null,
        ),
      );
      expect(pages).toEqual([
        { referralIds: ['r1', 'r9'], cursor: '2025-01-01T00:00:02Z' },
        { referralIds: ['r2', 'r3', 'r4'], cursor: '2025-01-01T00:00:03Z' },
      ]);
    },
  );

  it(
    'completes an opportunity-only change with its lead, and a qualified lead with its ' +
      'unchanged opportunity',
    async () => {
      const won = opportunity(O1, 'r1', '2025-01-02T00:00:00Z', 1);
      const open = opportunity(O2, 'r2', '2025-01-01T00:00:00Z');
      const dataverse = fakeDataverse(
        {
          leads: [lead(1, '2025-01-01T00:00:00Z', O1), lead(2, '2025-01-03T00:00:00Z', O2)],
          opportunities: [won, open],
        },
        500,
      );
      const pages = [];
      for await (const page of readChangePages(
        { keyColumn: 'lb_referralid', concurrency: 2, fetchPage: dataverse.fetchPage },
        '2025-01-01T12:00:00Z',
      )) {
        pages.push(page);
      }
      expect(pages).toEqual([
        {
          cursor: '2025-01-03T00:00:00Z',
          records: [
            {
              referralId: 'r1',
              recordId: 'L1',
              entity: 'lead',
              modifiedAt: '2025-01-02T00:00:00Z',
              fields: lead(1, '2025-01-01T00:00:00Z', O1),
              // Qualified (statecode 1): the lead became its qualifying opportunity.
              convertedInto: O1,
              opportunity: { recordId: O1, modifiedAt: '2025-01-02T00:00:00Z', fields: won },
            },
            {
              referralId: 'r2',
              recordId: 'L2',
              entity: 'lead',
              modifiedAt: '2025-01-03T00:00:00Z',
              fields: lead(2, '2025-01-03T00:00:00Z', O2),
              // Qualified (statecode 1): the lead became its qualifying opportunity.
              convertedInto: O2,
              opportunity: { recordId: O2, modifiedAt: '2025-01-01T00:00:00Z', fields: open },
            },
          ],
        },
      ]);
      expect(dataverse.requested.filter((url) => !url.includes('modifiedon gt'))).toEqual([
        expect.stringMatching(/^leads\?.*&\$filter=lb_referralid eq 'r1'$/),
        expect.stringMatching(
          /^opportunities\?.*&\$filter=opportunityid eq 00000000-0000-0000-0000-0000000000b2$/,
        ),
      ]);
    },
  );
});
