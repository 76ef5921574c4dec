// The Dataverse simulator over real HTTP: auth, OData headers, upserts, concurrency, $batch,
// paging, actions, limits, admin.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SimClock } from '../../src/simulators/common/clock.js';
import {
  createDynamicsSimulator,
  multipartBoundary,
  parseBatchResponse,
  type BatchResponseItem,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import { LEAD } from '../../src/simulators/dynamics365/schema.js';

const ODATA = {
  Authorization: 'Bearer test-token',
  'OData-Version': '4.0',
  'OData-MaxVersion': '4.0',
  Accept: 'application/json',
};
const JSON_HEADERS = { ...ODATA, 'Content-Type': 'application/json; charset=utf-8' };

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

let sim: DynamicsSimulator;

async function call(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(path.startsWith('http') ? path : `${sim.apiUrl}${path}`, {
    method,
    headers: { ...(options.body === undefined ? ODATA : JSON_HEADERS), ...options.headers },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

async function admin(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

const upsertByKey = (referralId: string, body: unknown, headers: Record<string, string> = {}) =>
  call('PATCH', `leads(lb_referralid='${encodeURIComponent(referralId.replace(/'/g, "''"))}')`, {
    body,
    headers,
  });

function idFromEntityUrl(url: string | null): string {
  const match = /\(([0-9a-f-]{36})\)$/.exec(url ?? '');
  if (!match?.[1]) throw new Error(`no record id in ${url}`);
  return match[1];
}

beforeAll(async () => {
  sim = createDynamicsSimulator();
  await sim.start();
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  expect((await admin('POST', '/_sim/reset')).status).toBe(204);
});

describe('authentication and OData headers', () => {
  it(
    'refuses a request without a bearer token with 401 in the Dataverse error ' + 'envelope',
    async () => {
      const answer = await call('GET', 'leads', { headers: { Authorization: '' } });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({
        error: {
          code: 'Unauthorized',
          message: 'The request has no bearer token: send Authorization: Bearer <access token>.',
        },
      });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/);
    },
  );

  it('answers with OData-Version 4.0 and refuses any other requested version', async () => {
    const ok = await call('GET', 'leads');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('odata-version')).toBe('4.0');
    expect(ok.json).toEqual({ '@odata.context': `${sim.apiUrl}$metadata#leads`, value: [] });

    const wrong = await call('GET', 'leads', { headers: { 'OData-MaxVersion': '3.0' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error).toEqual({
      code: '0x80060888',
      message:
        "The value '3.0' of the OData-MaxVersion header is not supported: this service speaks " +
        "OData 4.0, so send '4.0'.",
    });
  });

  it('refuses a JSON body sent with another Content-Type (415)', async () => {
    const answer = await call('POST', 'leads', {
      body: '{"subject":"x"}',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(answer.status).toBe(415);
    expect(answer.json.error.message).toBe(
      "The request body's Content-Type 'text/plain' is not supported; send JSON with " +
        'Content-Type: application/json.',
    );
    expect(sim.store.leads.size).toBe(0);
  });

  it('answers an unknown entity set with a 404 naming the segment', async () => {
    const answer = await call('GET', 'leadz');
    expect(answer.status).toBe(404);
    expect(answer.json.error).toEqual({
      code: '0x80060888',
      message: "Resource not found for the segment 'leadz'.",
    });
  });
});

describe('create, read and upsert', () => {
  it(
    'creates with POST (204 + OData-EntityId) and reads back by id and by alternate ' + 'key',
    async () => {
      const created = await call('POST', 'leads', {
        body: {
          subject: 'Cloud migration',
          firstname: 'Dara',
          lastname: "O'Brien",
          lb_referralid: "ref-O'Brien",
          estimatedvalue: 1200.5,
        },
      });
      expect(created.status).toBe(204);
      const id = idFromEntityUrl(created.headers.get('odata-entityid'));
      expect(created.headers.get('odata-entityid')).toBe(`${sim.apiUrl}leads(${id})`);

      const byId = await call('GET', `leads(${id})?$select=subject,fullname,statecode,statuscode`);
      expect(byId.status).toBe(200);
      expect(byId.json).toEqual({
        '@odata.context':
          `${sim.apiUrl}` + `$metadata#leads(subject,fullname,statecode,statuscode)/$entity`,
        '@odata.etag': `W/"${String(sim.store.leads.get(id)?.versionnumber)}"`,
        subject: 'Cloud migration',
        fullname: "Dara O'Brien",
        statecode: 0,
        statuscode: 1,
        leadid: id,
      });

      const byKey = await call(
        'GET',
        `leads(lb_referralid='${encodeURIComponent("ref-O''Brien")}')?$select=leadid`,
      );
      expect(byKey.status).toBe(200);
      expect(byKey.json.leadid).toBe(id);
      expect(sim.store.findLeadByKey("ref-O'Brien")?.leadid).toBe(id);
    },
  );

  it('answers missing records with 404 in Dataverse words', async () => {
    const id = '00000000-0000-0000-0000-000000000001';
    const byId = await call('GET', `leads(${id})`);
    expect(byId.status).toBe(404);
    expect(byId.json.error).toEqual({
      code: '0x80040217',
      message: `lead With Id = ${id} Does Not Exist`,
    });
    const byKey = await call('GET', "leads(lb_referralid='nope')");
    expect(byKey.status).toBe(404);
    expect(byKey.json.error).toEqual({
      code: '0x80060891',
      message: 'A record with the specified key values does not exist in lead entity',
    });
  });

  it(
    'upserts by alternate key: 201 with the representation on create, then 204 on update with ' +
      'a new row version',
    async () => {
      const first = await upsertByKey(
        'ref-1',
        { subject: 'First', lastname: 'Lee' },
        { Prefer: 'return=representation' },
      );
      expect(first.status).toBe(201);
      expect(first.headers.get('preference-applied')).toBe('return=representation');
      expect(first.json).toMatchObject({
        subject: 'First',
        lb_referralid: 'ref-1',
        statecode: 0,
        statuscode: 1,
        fullname: 'Lee',
      });
      const id = first.json.leadid as string;
      expect(first.headers.get('odata-entityid')).toBe(`${sim.apiUrl}leads(${id})`);
      const createdRow = sim.store.leads.get(id);

      sim.server.clock.advance(1000); // modifiedon holds whole seconds
      const second = await upsertByKey('ref-1', { subject: 'Second' });
      expect(second.status).toBe(204);
      expect(second.headers.get('odata-entityid')).toBe(`${sim.apiUrl}leads(${id})`);
      const updated = sim.store.findLeadByKey('ref-1');
      expect(updated?.subject).toBe('Second');
      expect(updated?.lastname).toBe('Lee');
      expect(Number(updated?.versionnumber)).toBeGreaterThan(Number(createdRow?.versionnumber));
      expect(Date.parse(String(updated?.modifiedon))).toBeGreaterThan(
        Date.parse(String(createdRow?.modifiedon)),
      );
      expect(updated?.createdon).toBe(createdRow?.createdon);
      expect(sim.store.leads.size).toBe(1);
    },
  );

  it('refuses a second POST with an existing alternate key', async () => {
    expect((await call('POST', 'leads', { body: { lb_referralid: 'dup' } })).status).toBe(204);
    const again = await call('POST', 'leads', { body: { lb_referralid: 'DUP' } });
    expect(again.status).toBe(400);
    expect(again.json.error).toEqual({
      code: '0x80040237',
      message: 'A record with matching key values already exists.',
    });
    expect(sim.store.leads.size).toBe(1);
  });

  it('honours If-None-Match: * (create only) and If-Match: * (update only)', async () => {
    expect((await upsertByKey('ref-2', { subject: 'a' }, { 'If-None-Match': '*' })).status).toBe(
      204,
    );
    const createAgain = await upsertByKey('ref-2', { subject: 'b' }, { 'If-None-Match': '*' });
    expect(createAgain.status).toBe(412);
    expect(createAgain.json.error).toEqual({
      code: '0x80040237',
      message: 'A record with matching key values already exists.',
    });
    expect(sim.store.findLeadByKey('ref-2')?.subject).toBe('a');

    const updateMissing = await upsertByKey('ref-3', { subject: 'c' }, { 'If-Match': '*' });
    expect(updateMissing.status).toBe(404);
    expect(sim.store.findLeadByKey('ref-3')).toBeUndefined();
    expect((await upsertByKey('ref-2', { subject: 'd' }, { 'If-Match': '*' })).status).toBe(204);
    expect(sim.store.findLeadByKey('ref-2')?.subject).toBe('d');
  });

  it('checks the row version in If-Match and answers a stale one with 412', async () => {
    const created = await upsertByKey(
      'ref-4',
      { subject: 'v1' },
      { Prefer: 'return=representation' },
    );
    const etag = created.json['@odata.etag'] as string;
    expect(etag).toMatch(/^W\/"\d+"$/);
    expect((await upsertByKey('ref-4', { subject: 'v2' }, { 'If-Match': etag })).status).toBe(204);
    const stale = await upsertByKey('ref-4', { subject: 'v3' }, { 'If-Match': etag });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toEqual({
      code: '0x80060882',
      message: "The version of the existing record doesn't match the RowVersion property provided.",
    });
    expect(sim.store.findLeadByKey('ref-4')?.subject).toBe('v2');
  });
});

describe('validation', () => {
  it(
    'refuses a mismatched statecode / statuscode pair with the exact Dataverse ' + 'message',
    async () => {
      const created = await upsertByKey(
        'ref-s',
        { subject: 'x' },
        { Prefer: 'return=representation' },
      );
      const id = created.json.leadid as string;
      const answer = await call('PATCH', `leads(${id})`, { body: { statecode: 2, statuscode: 3 } });
      expect(answer.status).toBe(400);
      expect(answer.json.error).toEqual({
        code: '0x80048408',
        message:
          `3 is not a valid status code for state code LeadState.Disqualified on lead ` +
          `with Id ${id}.`,
      });
      const disqualified = await call('PATCH', `leads(${id})`, {
        body: { statecode: 2, statuscode: 5 },
      });
      expect(disqualified.status).toBe(204);
      expect(sim.store.leads.get(id)).toMatchObject({ statecode: 2, statuscode: 5 });
    },
  );

  it(
    'refuses unknown and read-only columns, wrong types, long strings and values out of ' + 'range',
    async () => {
      const cases: [unknown, number, string, string][] = [
        [
          { emial: 'a@b.c' },
          400,
          '0x80060888',
          "The property 'emial' does not exist on type 'Microsoft.Dynamics.CRM.lead'.",
        ],
        [
          { fullname: 'A B' },
          400,
          '0x80060888',
          "The property 'fullname' is read-only on type 'Microsoft.Dynamics.CRM.lead' and cannot " +
            'be set.',
        ],
        [
          { estimatedvalue: '100' },
          400,
          '0x80048d19',
          "Cannot convert the literal '100' to the expected type 'Edm.Decimal' (property " +
            "'estimatedvalue').",
        ],
        [
          { estimatedclosedate: '2025-02-30' },
          400,
          '0x80048d19',
          "Cannot convert the literal '2025-02-30' to the expected type 'Edm.Date' (property " +
            "'estimatedclosedate').",
        ],
        [
          { firstname: 'x'.repeat(51) },
          400,
          '0x80044331',
          "A validation error occurred.  The length of the 'firstname' attribute of the 'lead' " +
            "entity exceeded the maximum allowed length of '50'.",
        ],
        [
          { leadqualitycode: 4 },
          400,
          '0x8004431a',
          "A validation error occurred. The value 4 of 'leadqualitycode' on record of type " +
            "'lead' is outside the valid range. Accepted Values: 1,2,3",
        ],
      ];
      for (const [body, status, code, message] of cases) {
        const answer = await call('POST', 'leads', { body });
        expect({ status: answer.status, error: answer.json.error }).toEqual({
          status,
          error: { code, message },
        });
      }
      expect(sim.store.leads.size).toBe(0);
    },
  );

  it('refuses unknown names in $select and $filter, and mistyped literals', async () => {
    const select = await call('GET', 'leads?$select=subject,emial');
    expect(select.json.error).toEqual({
      code: '0x80060888',
      message: "Could not find a property named 'emial' on type 'Microsoft.Dynamics.CRM.lead'.",
    });
    const filter = await call('GET', `leads?$filter=${encodeURIComponent("emial eq 'x'")}`);
    expect(filter.json.error.message).toBe(
      "Could not find a property named 'emial' on type 'Microsoft.Dynamics.CRM.lead'.",
    );
    const quotedDate = await call(
      'GET',
      `leads?$filter=${encodeURIComponent("modifiedon gt '2025-01-01'")}`,
    );
    expect(quotedDate.status).toBe(400);
    expect(quotedDate.json.error.message).toBe(
      'A binary operator with incompatible types was detected. Found operand types ' +
        "'Edm.DateTimeOffset' and 'Edm.String' for operator kind 'GreaterThan'.",
    );
  });
});

/** A $batch body with LF or CRLF line ends, built by hand the way the documentation shows it. */
function batchBody(boundary: string, parts: string[]): string {
  return parts.map((part) => `--${boundary}\r\n${part}\r\n`).join('') + `--${boundary}--\r\n`;
}

function changeSet(
  boundary: string,
  requests: { id: string; method: string; url: string; body?: unknown; headers?: string[] }[],
): string {
  const inner = requests.map((request) =>
    [
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      `Content-ID: ${request.id}`,
      '',
      `${request.method} ${request.url} HTTP/1.1`,
      ...(request.body === undefined ? [] : ['Content-Type: application/json; type=entry']),
      ...(request.headers ?? []),
      '',
      request.body === undefined ? '' : JSON.stringify(request.body),
    ].join('\r\n'),
  );
  return (
    `Content-Type: multipart/mixed; boundary=${boundary}\r\n\r\n` +
    `${batchBody(boundary, inner).replace(/\r\n$/, '')}`
  );
}

function single(method: string, url: string, body?: unknown): string {
  const lines = [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    `${method} ${url} HTTP/1.1`,
  ];
  if (body !== undefined) lines.push('Content-Type: application/json', '', JSON.stringify(body));
  else lines.push('');
  return lines.join('\r\n');
}

async function postBatch(
  body: string,
  headers: Record<string, string> = {},
): Promise<{ answer: Answer; items: BatchResponseItem[] }> {
  const answer = await call('POST', '$batch', {
    body,
    headers: { 'Content-Type': 'multipart/mixed; boundary="batch_A1"', ...headers },
  });
  const boundary = multipartBoundary(answer.headers.get('content-type') ?? undefined);
  expect(boundary).toMatch(/^batchresponse_[0-9a-f-]{36}$/);
  return { answer, items: parseBatchResponse(answer.text, boundary as string) };
}

describe('$batch', () => {
  it('runs a change set of three upserts and answers each with its Content-ID', async () => {
    const requests = ['b-1', 'b-2', 'b-3'].map((referralId, index) => ({
      id: String(index + 1),
      method: 'PATCH',
      url:
        index === 0
          ? `${sim.apiUrl}leads(lb_referralid='${referralId}')`
          : `leads(lb_referralid='${referralId}')`,
      body: { subject: `Deal ${referralId}` },
      headers: index === 2 ? ['Prefer: return=representation'] : [],
    }));
    const { answer, items } = await postBatch(
      batchBody('batch_A1', [changeSet('changeset_B1', requests)]),
    );
    expect(answer.status).toBe(200);
    expect(items).toHaveLength(1);
    const [item] = items;
    if (item?.kind !== 'changeset') throw new Error('expected a change-set response');
    expect(item.responses.map((entry) => [entry.contentId, entry.response.status])).toEqual([
      ['1', 204],
      ['2', 204],
      ['3', 201],
    ]);
    const firstId = idFromEntityUrl(item.responses[0]?.response.headers['odata-entityid'] ?? null);
    expect(sim.store.findLeadByKey('b-1')?.leadid).toBe(firstId);
    expect(JSON.parse(item.responses[2]?.response.body ?? '{}')).toMatchObject({
      subject: 'Deal b-3',
      lb_referralid: 'b-3',
    });
    expect(sim.store.leads.size).toBe(3);
  });

  it(
    'rolls the whole change set back when one operation fails and answers with that failure ' +
      'alone',
    async () => {
      await upsertByKey('kept', { subject: 'before' });
      const requests = [
        {
          id: '1',
          method: 'PATCH',
          url: "leads(lb_referralid='kept')",
          body: { subject: 'after' },
        },
        { id: '2', method: 'PATCH', url: "leads(lb_referralid='new-1')", body: { subject: 'new' } },
        { id: '3', method: 'PATCH', url: "leads(lb_referralid='new-2')", body: { emial: 'oops' } },
      ];
      const { answer, items } = await postBatch(
        batchBody('batch_A1', [changeSet('changeset_C1', requests)]),
      );
      expect(answer.status).toBe(400);
      expect(items).toHaveLength(1);
      const [item] = items;
      if (item?.kind !== 'response') throw new Error('expected a bare failure response');
      expect(item.contentId).toBe('3');
      expect(item.response.status).toBe(400);
      expect(JSON.parse(item.response.body)).toEqual({
        error: {
          code: '0x80060888',
          message: "The property 'emial' does not exist on type 'Microsoft.Dynamics.CRM.lead'.",
        },
      });
      expect(sim.store.findLeadByKey('kept')?.subject).toBe('before');
      expect(sim.store.findLeadByKey('new-1')).toBeUndefined();
      expect(sim.store.leads.size).toBe(1);
    },
  );

  it(
    'stops at the first failure outside change sets unless odata.continue-on-error is ' +
      'preferred',
    async () => {
      const parts = [
        single('PATCH', "leads(lb_referralid='c-1')", { subject: 'one' }),
        single('GET', 'leads(00000000-0000-0000-0000-000000000009)'),
        single('PATCH', "leads(lb_referralid='c-2')", { subject: 'two' }),
      ];
      const stopped = await postBatch(batchBody('batch_A1', parts));
      expect(stopped.answer.status).toBe(404);
      expect(
        stopped.items.map((item) => (item.kind === 'response' ? item.response.status : 0)),
      ).toEqual([204, 404]);
      expect(sim.store.findLeadByKey('c-2')).toBeUndefined();

      const continued = await postBatch(batchBody('batch_A1', parts), {
        Prefer: 'odata.continue-on-error',
      });
      expect(continued.answer.status).toBe(200);
      expect(continued.answer.headers.get('preference-applied')).toBe('odata.continue-on-error');
      expect(
        continued.items.map((item) => (item.kind === 'response' ? item.response.status : 0)),
      ).toEqual([204, 404, 204]);
      expect(sim.store.findLeadByKey('c-2')?.subject).toBe('two');
    },
  );

  it('resolves $n references to records created earlier in the change set', async () => {
    const requests = [
      {
        id: '1',
        method: 'POST',
        url: 'leads',
        body: { subject: 'Referenced', lb_referralid: 'r-ref' },
      },
      {
        id: '2',
        method: 'POST',
        url: '/api/data/v9.2/opportunities',
        body: { name: 'Deal', 'originatingleadid@odata.bind': '$1' },
      },
      { id: '3', method: 'PATCH', url: '$1', body: { firstname: 'Kim' } },
    ];
    const { answer, items } = await postBatch(
      batchBody('batch_A1', [changeSet('changeset_R1', requests)]),
    );
    expect(answer.status).toBe(200);
    const leadId = sim.store.findLeadByKey('r-ref')?.leadid;
    expect([...sim.store.opportunities.values()][0]?._originatingleadid_value).toBe(leadId);
    expect(sim.store.findLeadByKey('r-ref')?.firstname).toBe('Kim');
    expect(
      items[0]?.kind === 'changeset'
        ? items[0].responses.map((entry) => entry.response.status)
        : [],
    ).toEqual([204, 204, 204]);

    const unknown = await postBatch(
      batchBody('batch_A1', [
        changeSet('changeset_R2', [
          { id: '1', method: 'PATCH', url: '$7', body: { subject: 'x' } },
        ]),
      ]),
    );
    expect(
      unknown.items[0]?.kind === 'response'
        ? JSON.parse(unknown.items[0].response.body).error.message
        : '',
    ).toBe("Content-ID Reference: '$7' does not exist in the batch context.");
  });

  it('refuses more than 1000 operations and a body that is not multipart', async () => {
    const requests = Array.from({ length: 1001 }, (_, index) => ({
      id: String(index + 1),
      method: 'PATCH',
      url: `leads(lb_referralid='m-${index}')`,
      body: { subject: 's' },
    }));
    const tooMany = await call('POST', '$batch', {
      body: batchBody('batch_A1', [changeSet('changeset_D1', requests)]),
      headers: { 'Content-Type': 'multipart/mixed; boundary=batch_A1' },
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error).toEqual({
      code: '0x80060888',
      message: "A maximum number of '1000' operations are allowed in a change set.",
    });
    expect(sim.store.leads.size).toBe(0);

    const notMultipart = await call('POST', '$batch', { body: '{}' });
    expect(notMultipart.status).toBe(400);
    expect(notMultipart.json.error.message).toBe(
      'A $batch request needs Content-Type: multipart/mixed with a boundary (for example ' +
        "'multipart/mixed; boundary=batch_1'), not 'application/json; charset=utf-8'.",
    );
  });

  it('takes 1000 upserts in one batch', async () => {
    const requests = Array.from({ length: 1000 }, (_, index) => ({
      id: String(index + 1),
      method: 'PATCH',
      url: `leads(lb_referralid='k-${index}')`,
      body: { subject: `s${index}` },
    }));
    const { answer, items } = await postBatch(
      batchBody('batch_A1', [changeSet('changeset_E1', requests)]),
    );
    expect(answer.status).toBe(200);
    expect(items[0]?.kind === 'changeset' ? items[0].responses.length : 0).toBe(1000);
    expect(sim.store.leads.size).toBe(1000);
  });
});

describe('reads', () => {
  it('pages `modifiedon gt X` results with odata.maxpagesize and an opaque nextLink', async () => {
    for (const name of ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']) {
      sim.server.clock.advance(1000); // one second apart: modifiedon holds whole seconds
      await upsertByKey(name, { subject: name });
    }
    const since = String(sim.store.findLeadByKey('p-2')?.modifiedon);
    const touched = sim.store.findLeadByKey('p-1')?.leadid as string;
    sim.server.clock.advance(1000);
    expect(
      (await admin('POST', `/_sim/leads/${touched}/state`, { statecode: 0, statuscode: 2 })).status,
    ).toBe(200);

    const filter = encodeURIComponent(`modifiedon gt ${since} and statecode eq 0`);
    const first = await call(
      'GET',
      `leads?$select=lb_referralid,modifiedon&$filter=${filter}&$orderby=modifiedon asc`,
      {
        headers: { Prefer: 'odata.maxpagesize=2' },
      },
    );
    expect(first.status).toBe(200);
    expect(first.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
    expect(first.json.value.map((row: { lb_referralid: string }) => row.lb_referralid)).toEqual([
      'p-3',
      'p-4',
    ]);
    const nextLink = first.json['@odata.nextLink'] as string;
    expect(nextLink.startsWith(`${sim.apiUrl}leads?`)).toBe(true);
    expect(new URL(nextLink).searchParams.get('$skiptoken')).toMatch(
      /^<cookie pagenumber="2" pagingcookie="[A-Za-z0-9_-]+" istracking="False" \/>$/,
    );

    const second = await call('GET', nextLink, { headers: { Prefer: 'odata.maxpagesize=2' } });
    expect(second.json.value.map((row: { lb_referralid: string }) => row.lb_referralid)).toEqual([
      'p-5',
      'p-1',
    ]);
    expect(second.json['@odata.nextLink']).toBeUndefined();
  });

  it(
    'filters with or, parentheses, null and case-insensitive strings, and honours ' + '$top',
    async () => {
      await upsertByKey('f-1', { subject: 'Alpha', leadqualitycode: 1 });
      await upsertByKey('f-2', { subject: 'beta', leadqualitycode: 3 });
      await upsertByKey('f-3', { subject: 'Gamma' });
      const filter = encodeURIComponent(
        "(subject eq 'ALPHA' or leadqualitycode eq 3) and lb_referralid ne null",
      );
      const both = await call(
        'GET',
        `leads?$select=lb_referralid&$filter=${filter}&$orderby=lb_referralid desc`,
      );
      expect(both.json.value.map((row: { lb_referralid: string }) => row.lb_referralid)).toEqual([
        'f-2',
        'f-1',
      ]);
      const nulls = await call(
        'GET',
        `leads?$select=lb_referralid&$filter=${encodeURIComponent('leadqualitycode eq null')}`,
      );
      expect(nulls.json.value.map((row: { lb_referralid: string }) => row.lb_referralid)).toEqual([
        'f-3',
      ]);
      const top = await call('GET', `leads?$select=subject&$orderby=subject asc&$top=1`, {
        headers: { Prefer: 'odata.maxpagesize=1' },
      });
      expect(top.json.value).toHaveLength(1);
      expect(top.json.value[0].subject).toBe('Alpha');
      expect(top.json['@odata.nextLink']).toBeUndefined();
    },
  );
});

describe('actions', () => {
  async function qualifiedLead(): Promise<{ leadId: string; opportunityId: string }> {
    const created = await upsertByKey(
      'q-1',
      {
        subject: 'ERP rollout',
        lastname: 'Ng',
        companyname: 'Contoso',
        estimatedvalue: 50000,
        estimatedclosedate: '2026-03-31',
      },
      { Prefer: 'return=representation' },
    );
    const leadId = created.json.leadid as string;
    const qualified = await call('POST', `leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
      body: { CreateAccount: true, CreateContact: false, CreateOpportunity: true, Status: 3 },
    });
    expect(qualified.status).toBe(200);
    const opportunity = (
      qualified.json.value as { '@odata.type': string; opportunityid?: string }[]
    ).find((record) => record['@odata.type'] === '#Microsoft.Dynamics.CRM.opportunity');
    expect(
      qualified.json.value.map((record: { '@odata.type': string }) => record['@odata.type']),
    ).toEqual(['#Microsoft.Dynamics.CRM.account', '#Microsoft.Dynamics.CRM.opportunity']);
    return { leadId, opportunityId: opportunity?.opportunityid as string };
  }

  it('qualifies a lead into an opportunity, then wins the opportunity', async () => {
    const { leadId, opportunityId } = await qualifiedLead();
    expect(sim.store.leads.get(leadId)).toMatchObject({
      statecode: 1,
      statuscode: 3,
      _qualifyingopportunityid_value: opportunityId,
    });
    expect(sim.store.opportunities.get(opportunityId)).toMatchObject({
      name: 'ERP rollout',
      estimatedvalue: 50000,
      estimatedclosedate: '2026-03-31',
      lb_referralid: 'q-1',
      _originatingleadid_value: leadId,
      statecode: 0,
      statuscode: 1,
    });

    const again = await call('POST', `leads(${leadId})/Microsoft.Dynamics.CRM.QualifyLead`, {
      body: { CreateAccount: false, CreateContact: false, CreateOpportunity: true, Status: 3 },
    });
    expect(again.status).toBe(400);
    expect(again.json.error.message).toBe(
      `The lead ${leadId} is not open (LeadState.Qualified); only an open lead can be qualified.`,
    );

    const wrongStatus = await call('POST', 'WinOpportunity', {
      body: {
        Status: 4,
        OpportunityClose: {
          subject: 'Won',
          'opportunityid@odata.bind': `/opportunities(${opportunityId})`,
        },
      },
    });
    expect(wrongStatus.status).toBe(400);
    expect(wrongStatus.json.error).toEqual({
      code: '0x80048408',
      message:
        `4 is not a valid status code for state code OpportunityState.Won on ` +
        `opportunity with Id ${opportunityId}.`,
    });

    const won = await call('POST', 'WinOpportunity', {
      body: {
        Status: 3,
        OpportunityClose: {
          subject: 'Won',
          'opportunityid@odata.bind': `/opportunities(${opportunityId})`,
          actualrevenue: 48000,
          actualend: '2026-03-15',
        },
      },
    });
    expect(won.status).toBe(204);
    expect(sim.store.opportunities.get(opportunityId)).toMatchObject({
      statecode: 1,
      statuscode: 3,
      actualvalue: 48000,
      actualclosedate: '2026-03-15',
    });

    const closedAgain = await call('POST', 'LoseOpportunity', {
      body: {
        Status: 4,
        OpportunityClose: {
          subject: 'Lost',
          'opportunityid@odata.bind': `/opportunities(${opportunityId})`,
        },
      },
    });
    expect(closedAgain.status).toBe(400);
    expect(closedAgain.json.error.message).toBe(
      `The opportunity ${opportunityId} is already closed (OpportunityState.Won); only an open ` +
        `opportunity can be won or lost.`,
    );
  });

  it('loses an opportunity as out-sold', async () => {
    const { opportunityId } = await qualifiedLead();
    const lost = await call('POST', 'LoseOpportunity', {
      body: {
        Status: 5,
        OpportunityClose: {
          subject: 'Lost to a competitor',
          'opportunityid@odata.bind': `/opportunities(${opportunityId})`,
        },
      },
    });
    expect(lost.status).toBe(204);
    expect(sim.store.opportunities.get(opportunityId)).toMatchObject({
      statecode: 2,
      statuscode: 5,
      actualvalue: null,
    });
    expect(sim.store.opportunityCloses.at(-1)).toMatchObject({
      subject: 'Lost to a competitor',
      _opportunityid_value: opportunityId,
      outcome: 'lost',
    });
  });
});

describe('admin as a CRM user', () => {
  it(
    'changes a lead state, bumping modifiedon and the row version, and validates the ' + 'pair',
    async () => {
      const created = await upsertByKey(
        'u-1',
        { subject: 'x' },
        { Prefer: 'return=representation' },
      );
      const leadId = created.json.leadid as string;
      const before = sim.store.leads.get(leadId);
      sim.server.clock.advance(1000);
      const changed = await admin('POST', `/_sim/leads/${leadId}/state`, {
        statecode: 2,
        statuscode: 6,
      });
      expect(changed.status).toBe(200);
      expect(changed.json).toMatchObject({ statecode: 2, statuscode: 6 });
      expect(Date.parse(changed.json.modifiedon)).toBeGreaterThan(
        Date.parse(String(before?.modifiedon)),
      );
      expect(changed.json.versionnumber).toBeGreaterThan(Number(before?.versionnumber));

      const invalid = await admin('POST', `/_sim/leads/${leadId}/state`, {
        statecode: 0,
        statuscode: 4,
      });
      expect(invalid.status).toBe(400);
      expect(invalid.json.error.message).toBe(
        `4 is not a valid status code for state code LeadState.Open on lead with Id ${leadId}.`,
      );

      const byReferral = await admin('GET', '/_sim/leads/by-referral/u-1');
      expect(byReferral.json).toMatchObject({ leadid: leadId, statuscode: 6 });
      expect((await admin('GET', '/_sim/leads')).json.count).toBe(1);
    },
  );

  it('qualifies, edits and wins as a user', async () => {
    const created = await upsertByKey(
      'u-2',
      { subject: 'Deal', estimatedvalue: 10 },
      { Prefer: 'return=representation' },
    );
    const qualified = await admin('POST', `/_sim/leads/${created.json.leadid}/qualify`, {});
    expect(qualified.status).toBe(200);
    const opportunityId = qualified.json.value[0].opportunityid as string;
    expect(
      (await admin('PATCH', `/_sim/opportunities/${opportunityId}`, { estimatedvalue: 25 })).json
        .estimatedvalue,
    ).toBe(25);
    const won = await admin('POST', `/_sim/opportunities/${opportunityId}/win`, {});
    expect(won.json).toMatchObject({ statecode: 1, statuscode: 3, actualvalue: 25 });
    expect((await admin('GET', '/_sim/opportunities')).json.value).toHaveLength(1);
  });
});

/** A clock that stands still unless advanced, so Retry-After is exact. */
class StillClock extends SimClock {
  private readonly fixed = Date.parse('2026-01-05T09:00:00Z');
  override nowMs(): number {
    return this.fixed + this.offset;
  }
  override now(): Date {
    return new Date(this.nowMs());
  }
}

describe('service protection', () => {
  it(
    'answers past the request limit with 429 and a Retry-After that frees the ' + 'window',
    async () => {
      const clock = new StillClock();
      const limited = createDynamicsSimulator({
        clock,
        limits: { requestsPerWindow: 3, windowMs: 60_000 },
      });
      await limited.start();
      try {
        const get = () => fetch(`${limited.apiUrl}leads?$top=1`, { headers: ODATA });
        for (let index = 0; index < 3; index++) expect((await get()).status).toBe(200);
        clock.advance(15_000);
        const refused = await get();
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBe('45');
        expect(await refused.json()).toEqual({
          error: {
            code: '0x80072322',
            message: 'Number of requests exceeded the limit of 3 over time window of 60 seconds.',
          },
        });
        const otherCaller = await fetch(`${limited.apiUrl}leads?$top=1`, {
          headers: { ...ODATA, Authorization: 'Bearer other' },
        });
        expect(otherCaller.status).toBe(200);
        clock.advance(45_000);
        expect((await get()).status).toBe(200);
      } finally {
        await limited.stop();
      }
    },
  );

  it('answers requests past the concurrency limit with 429', async () => {
    const limited = createDynamicsSimulator({ limits: { concurrent: 2 } });
    await limited.start();
    try {
      limited.server.faults.configure({ latencyMs: 300 });
      const answers = await Promise.all(
        Array.from({ length: 4 }, () =>
          fetch(`${limited.apiUrl}leads?$top=1`, { headers: ODATA }).then(async (r) => ({
            status: r.status,
            body: await r.json(),
          })),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429, 429]);
      expect(answers.find((answer) => answer.status === 429)?.body).toEqual({
        error: {
          code: '0x80072326',
          message: 'Number of concurrent requests exceeded the limit of 2.',
        },
      });
      // Finished requests leave the count: one after another, every request is admitted.
      limited.server.faults.clear();
      for (let index = 0; index < 3; index++)
        expect((await fetch(`${limited.apiUrl}leads?$top=1`, { headers: ODATA })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('rows an $orderby leaves tied', () => {
  const ids = Array.from({ length: 9 }, (_, i) => `00000000-0000-4000-8000-00000000000${i + 1}`);

  /** Follows nextLinks, two rows a page, collecting the lead ids in the order served. */
  async function readAll(server: DynamicsSimulator, orderBy?: string): Promise<string[]> {
    const seen: string[] = [];
    const order = orderBy === undefined ? '' : `&$orderby=${encodeURIComponent(orderBy)}`;
    let url: string | undefined = `${server.apiUrl}leads?$select=leadid,modifiedon${order}`;
    while (url !== undefined) {
      const page = (await (
        await fetch(url, { headers: { ...ODATA, Prefer: 'odata.maxpagesize=2' } })
      ).json()) as any;
      seen.push(...page.value.map((row: { leadid: string }) => row.leadid));
      url = page['@odata.nextLink'];
    }
    return seen;
  }

  it(
    'come back in an unstable order, so paging on modifiedon alone repeats or skips rows of ' +
      'one second',
    async () => {
      const tied = createDynamicsSimulator({ clock: new StillClock(), seed: 3 });
      await tied.start();
      try {
        for (const leadid of ids) tied.store.create(LEAD, { leadid, subject: leadid });
        const byStamp = await readAll(tied, 'modifiedon asc');
        // Not each of the nine rows once: with seed 3 the second page starts past every tied row,
        // and
        // the read ends.
        expect([...byStamp].sort()).not.toEqual(ids);
        expect(byStamp).toHaveLength(2);
        expect(await readAll(tied, 'modifiedon asc,leadid asc')).toEqual(ids);
        // Without any $orderby, Dataverse orders by the primary key itself.
        expect(await readAll(tied)).toEqual(ids);
      } finally {
        await tied.stop();
      }
    },
  );
});
