// The Salesforce simulator driven by the real jsforce 3.10 over loopback HTTP, plus OAuth and admin
// flows.
import jsforce from 'jsforce';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  LEAD,
  createSalesforceSimulator,
  systemInput,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';

type Connection = InstanceType<typeof jsforce.Connection>;

let sim: SalesforceSimulator;

function connect(version = '60.0', accessToken = 'token'): Connection {
  return new jsforce.Connection({ instanceUrl: sim.url, accessToken, version });
}

async function admin(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** What a rejected jsforce call carried: errorCode, message and the error entry. */
async function rejection(
  promise: PromiseLike<unknown>,
): Promise<{ errorCode: string; message: string; data: any }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { errorCode: string; message: string; data: unknown };
    return { errorCode: e.errorCode, message: e.message, data: e.data };
  }
  throw new Error('expected the call to be rejected');
}

function leads(count: number, from = 0): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    FirstName: 'Ada',
    LastName: `Lovelace ${from + i}`,
    Company: `Analytical Engines ${from + i}`,
    Email: `ada${from + i}@example.com`,
    PartnerReferralId__c: `ref-${from + i}`,
  }));
}

/**
 * The first error of a failed save result as the wire carries it (collections use `statusCode`).
 */
function firstError(result: { success: boolean; errors: unknown[] }): {
  statusCode: string;
  message: string;
} {
  return result.errors[0] as { statusCode: string; message: string };
}

/** Puts records straight into the store, for volume tests that are not about the write path. */
function seedLeads(count: number): void {
  for (const lead of leads(count)) {
    const result = sim.store.create(LEAD, systemInput(LEAD, lead as Record<string, string>));
    if (!result.ok) throw new Error(result.error.message);
  }
}

function compositeCalls(method: string): number {
  return sim.server
    .requests()
    .filter((r) => r.method === method && r.path.includes('/composite/sobjects')).length;
}

beforeAll(async () => {
  sim = createSalesforceSimulator();
  await sim.start();
});

afterAll(async () => {
  await sim.stop();
});

beforeEach(async () => {
  expect((await admin('POST', '/_sim/reset')).status).toBe(204);
});

describe('sObject collections through jsforce', () => {
  it(
    'creates 250 leads in two collection calls of at most 200 when jsforce splits ' + 'them',
    async () => {
      const conn = connect();
      const results = await conn.sobject('Lead').create(leads(250), { allowRecursive: true });
      expect(results).toHaveLength(250);
      expect(results.every((r) => r.success && /^00Q[A-Za-z0-9]{15}$/.test(String(r.id)))).toBe(
        true,
      );
      expect(new Set(results.map((r) => r.id)).size).toBe(250);
      expect(compositeCalls('POST')).toBe(2);
      const count = await conn.query('SELECT COUNT() FROM Lead');
      expect(count.totalSize).toBe(250);
    },
  );

  it('refuses a collection of more than 200 records with EXCEEDED_ID_LIMIT', async () => {
    const failure = await rejection(connect().sobject('Lead').create(leads(201)));
    expect(failure.errorCode).toBe('EXCEEDED_ID_LIMIT');
    expect(failure.message).toBe(
      'record limit reached. cannot submit more than 200 records into this call',
    );
  });

  it('upserts by PartnerReferralId__c: created first, then updated in place', async () => {
    const conn = connect();
    const first = await conn.sobject('Lead').upsert(leads(3), 'PartnerReferralId__c');
    expect(first.map((r) => [r.success, r.created])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    const before = await conn.sobject('Lead').retrieve(String(first[0]?.id));
    const changed = leads(3).map((lead) => ({ ...lead, Title: 'CTO' }));
    const second = await conn.sobject('Lead').upsert(changed, 'PartnerReferralId__c');
    expect(second.map((r) => [r.id, r.success, r.created])).toEqual(
      first.map((r) => [r.id, true, false]),
    );
    const after = await conn.sobject('Lead').retrieve(String(first[0]?.id));
    expect(after.Title).toBe('CTO');
    expect(Date.parse(String(after.SystemModstamp))).toBeGreaterThan(
      Date.parse(String(before.SystemModstamp)),
    );
    expect(compositeCalls('PATCH')).toBe(2);
  });

  it('fails only the record with a bad picklist value, with the exact error', async () => {
    const batch = leads(3);
    batch[1] = { ...batch[1], Rating: 'Scorching' };
    const results = await connect().sobject('Lead').create(batch);
    expect(results.map((r) => r.success)).toEqual([true, false, true]);
    expect(results[1]).toEqual({
      success: false,
      errors: [
        {
          statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          message: 'Rating: bad value for restricted picklist field: Scorching',
          fields: ['Rating'],
        },
      ],
    });
  });

  it('rolls every record back under allOrNone when one fails', async () => {
    const batch = leads(3);
    batch[2] = { ...batch[2], Email: 'not-an-email' };
    const conn = connect();
    const results = await conn.sobject('Lead').create(batch, { allOrNone: true });
    expect(results.map((r) => (r.success ? 'ok' : firstError(r).statusCode))).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'INVALID_EMAIL_ADDRESS',
    ]);
    expect((await conn.query('SELECT COUNT() FROM Lead')).totalSize).toBe(0);
  });

  it('flags an external id given twice in one upsert call', async () => {
    const results = await connect()
      .sobject('Lead')
      .upsert([...leads(1), ...leads(1)], 'PartnerReferralId__c');
    expect(results.map((r) => (r.success ? 'ok' : firstError(r).message))).toEqual([
      'Duplicate external id specified: ref-0',
      'Duplicate external id specified: ref-0',
    ]);
  });

  it('updates and deletes through collections; queryAll still sees deleted rows', async () => {
    const conn = connect();
    const created = await conn.sobject('Lead').create(leads(2));
    const ids = created.map((r) => String(r.id));
    const updated = await conn
      .sobject('Lead')
      .update(ids.map((Id) => ({ Id, Status: 'Working - Contacted' })));
    expect(updated).toEqual(ids.map((id) => ({ id, success: true, errors: [] })));
    const fetched = await conn.sobject('Lead').retrieve([...ids, '00Q5g000000zzzzAAA']);
    expect(fetched.map((r) => r && [r.Id, r.Status])).toEqual([
      ...ids.map((id) => [id, 'Working - Contacted']),
      null,
    ]);
    const deleted = await conn.sobject('Lead').destroy([ids[0] as string, '00Qbogus']);
    expect(deleted).toEqual([
      { id: ids[0], success: true, errors: [] },
      {
        success: false,
        errors: [{ statusCode: 'MALFORMED_ID', message: 'malformed id 00Qbogus', fields: [] }],
      },
    ]);
    expect((await conn.query('SELECT Id FROM Lead')).totalSize).toBe(1);
    const all = await conn
      .query('SELECT Id, IsDeleted FROM Lead ORDER BY IsDeleted DESC')
      .scanAll(true);
    expect(all.records.map((r) => [r.Id, r.IsDeleted])).toEqual([
      [ids[0], true],
      [ids[1], false],
    ]);
  });
});

describe('single records through jsforce', () => {
  it('creates, retrieves with fields, updates and deletes a lead', async () => {
    const conn = connect();
    const created = await conn
      .sobject('Lead')
      .create({ LastName: 'Hopper', Company: 'Navy', AnnualRevenue: 5000 });
    expect(created).toEqual({ id: expect.stringMatching(/^00Q/), success: true, errors: [] });
    const lead = await conn
      .sobject('Lead')
      .retrieve(String(created.id), { fields: ['Name', 'Status', 'IsConverted'] });
    expect(lead).toEqual({
      attributes: { type: 'Lead', url: `/services/data/v60.0/sobjects/Lead/${created.id}` },
      Name: 'Hopper',
      Status: 'Open - Not Contacted',
      IsConverted: false,
    });
    expect(
      await conn.sobject('Lead').update({ Id: String(created.id), FirstName: 'Grace' }),
    ).toEqual({ id: created.id, success: true, errors: [] });
    expect((await conn.sobject('Lead').retrieve(String(created.id))).Name).toBe('Grace Hopper');
    await conn.sobject('Lead').destroy(String(created.id));
    expect((await rejection(conn.sobject('Lead').retrieve(String(created.id)))).errorCode).toBe(
      'NOT_FOUND',
    );
  });

  it('refuses invalid writes with the platform error codes and messages', async () => {
    const conn = connect();
    const lead = conn.sobject('Lead');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [
        { LastName: 'X', Company: 'Y', Emial: 'a@b.co' },
        'INVALID_FIELD',
        "No such column 'Emial' on sobject of type Lead",
      ],
      [{ LastName: 'X' }, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [Company]'],
      [
        { LastName: 'X', Company: 'Y', Email: 'bad@' },
        'INVALID_EMAIL_ADDRESS',
        'Email: invalid email address: bad@',
      ],
      [
        { LastName: 'X', Company: 'Y', Status: 'Open' },
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        'Lead Status: bad value for restricted picklist field: Open',
      ],
      [
        { LastName: 'X', Company: 'Y', LeadKind__c: 'k'.repeat(41) },
        'STRING_TOO_LONG',
        `Lead Kind: data value too large: ${'k'.repeat(41)} (max length=40)`,
      ],
      [
        { LastName: 'X', Company: 'Y', NumberOfEmployees: 'many' },
        'JSON_PARSER_ERROR',
        'Cannot deserialize instance of int from VALUE_STRING value many or request may be ' +
          'missing a required field',
      ],
      [
        { LastName: 'X', Company: 'Y', IsConverted: true },
        'INVALID_FIELD_FOR_INSERT_UPDATE',
        'Unable to create/update fields: IsConverted. Please check the security settings of ' +
          'this field and verify that it is read/write for your profile or permission set.',
      ],
    ];
    for (const [record, errorCode, message] of cases) {
      expect(await rejection(lead.create(record))).toMatchObject({ errorCode, message });
    }
    const required = await rejection(lead.create({ FirstName: 'X' }));
    expect(required.data).toEqual({
      message: 'Required fields are missing: [LastName, Company]',
      errorCode: 'REQUIRED_FIELD_MISSING',
      fields: ['LastName', 'Company'],
    });
  });

  it(
    'refuses a second lead with the same PartnerReferralId__c (case-insensitive) as ' +
      'DUPLICATE_VALUE',
    async () => {
      const conn = connect();
      const first = await conn
        .sobject('Lead')
        .create({ LastName: 'A', Company: 'B', PartnerReferralId__c: 'ABC-1' });
      const failure = await rejection(
        conn.sobject('Lead').create({ LastName: 'C', Company: 'D', PartnerReferralId__c: 'abc-1' }),
      );
      expect(failure.errorCode).toBe('DUPLICATE_VALUE');
      expect(failure.message).toBe(
        `duplicate value found: PartnerReferralId__c duplicates value on record with id: ` +
          `${first.id}`,
      );
    },
  );

  it('upserts one record: 201 created, then 200 created:false (204 before API 46.0)', async () => {
    const conn = connect();
    const record = { PartnerReferralId__c: 'solo-1', LastName: 'Solo', Company: 'Han' };
    const created = await conn.sobject('Lead').upsert(record, 'PartnerReferralId__c');
    expect(created).toEqual({
      id: expect.stringMatching(/^00Q/),
      success: true,
      errors: [],
      created: true,
    });
    const updated = await conn
      .sobject('Lead')
      .upsert({ ...record, Title: 'Pilot' }, 'PartnerReferralId__c');
    expect(updated).toEqual({ id: created.id, success: true, errors: [], created: false });
    const old = await connect('45.0')
      .sobject('Lead')
      .upsert({ ...record, Title: 'Captain' }, 'PartnerReferralId__c');
    expect(old).toEqual({ success: true, errors: [] });
    const notExternal = await rejection(
      conn.sobject('Lead').upsert({ Email: 'a@b.co', LastName: 'x', Company: 'y' }, 'Email'),
    );
    expect(notExternal).toMatchObject({
      errorCode: 'NOT_FOUND',
      message: 'Provided external ID field does not exist or is not accessible: Email',
    });
  });

  it(
    'lists updated and deleted ids of a window through jsforce updated() and ' + 'deleted()',
    async () => {
      const conn = connect();
      const [kept, removed] = (await conn.sobject('Lead').create(leads(2))).map((r) =>
        String(r.id),
      );
      await conn.sobject('Lead').destroy(String(removed));
      const from = new Date(Date.now() - 120_000);
      const to = new Date(Date.now() + 120_000);
      expect(await conn.sobject('Lead').updated(from, to)).toMatchObject({ ids: [kept] });
      const deleted = await conn.sobject('Lead').deleted(from, to);
      expect(deleted.deletedRecords).toEqual([
        { id: removed, deletedDate: expect.stringMatching(/\+0000$/) },
      ]);
      const stale = await rejection(
        conn.sobject('Lead').updated(new Date(Date.now() - 31 * 86_400_000), to),
      );
      expect(stale).toMatchObject({
        errorCode: 'INVALID_REPLICATION_DATE',
        message: 'start must be within the last 30 days',
      });
    },
  );

  it('refuses an upsert whose body sets the external id to another value', async () => {
    const res = await fetch(
      `${sim.url}/services/data/v60.0/sobjects/Lead/PartnerReferralId__c/ref-1`,
      {
        method: 'PATCH',
        headers: { Authorization: 'Bearer token', 'Content-Type': 'application/json' },
        body: JSON.stringify({ PartnerReferralId__c: 'ref-2', LastName: 'X', Company: 'Y' }),
      },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([
      {
        message:
          'The value of PartnerReferralId__c in the request body (ref-2) does not match the ' +
          'value in the URL (ref-1)',
        errorCode: 'INVALID_FIELD',
        fields: ['PartnerReferralId__c'],
      },
    ]);
  });
});

describe('SOQL through jsforce', () => {
  it('pages 2,500 records with autoFetch in batches of 2000', async () => {
    seedLeads(2500);
    const conn = connect();
    const before = sim.server.requests().length;
    const result = await conn
      .query('SELECT Id, LastName FROM Lead ORDER BY LastName')
      .run({ autoFetch: true, maxFetch: 10_000 });
    expect(result.totalSize).toBe(2500);
    expect(result.records).toHaveLength(2500);
    expect(new Set(result.records.map((r) => r.Id)).size).toBe(2500);
    expect(sim.server.requests().length - before).toBe(2);
  });

  it(
    'follows nextRecordsUrl with queryMore until done, honouring Sforce-Query-Options ' +
      'batchSize',
    async () => {
      seedLeads(2500);
      const conn = connect();
      // The raw response, as jsforce rebuilds nextRecordsUrl from the locator in its own results.
      const first = await conn.request<{
        totalSize: number;
        done: boolean;
        records: unknown[];
        nextRecordsUrl?: string;
      }>(`/query?q=${encodeURIComponent('SELECT Id FROM Lead')}`);
      expect(first).toMatchObject({ totalSize: 2500, done: false });
      expect(first.records).toHaveLength(2000);
      expect(first.nextRecordsUrl).toMatch(
        /^\/services\/data\/v60\.0\/query\/01g[A-Za-z0-9]{15}-2000$/,
      );
      const rest = await conn.queryMore(String(first.nextRecordsUrl));
      expect(rest).toMatchObject({ totalSize: 2500, done: true });
      expect(rest.records).toHaveLength(500);
      const small = await conn
        .query('SELECT Id FROM Lead')
        .execute({ headers: { 'Sforce-Query-Options': 'batchSize=500' } });
      expect(small.records).toHaveLength(500);
      expect(small.nextRecordsUrl).toMatch(/-500$/);
    },
  );

  it(
    'matches an escaped quote and backslash exactly, and refuses an injected quote as ' +
      'MALFORMED_QUERY',
    async () => {
      const conn = connect();
      const companies = ["O'Brien \\ Sons", "O'Brien Sons", 'OBrien \\ Sons', "o'brien \\\\ sons"];
      await conn
        .sobject('Lead')
        .create(companies.map((Company, i) => ({ LastName: `L${i}`, Company })));
      const exact = await conn.query(
        "SELECT Company FROM Lead WHERE Company = 'O\\'Brien \\\\ Sons'",
      );
      expect(exact.records.map((r) => r.Company)).toEqual(["O'Brien \\ Sons"]);
      const injected = await rejection(
        conn.query("SELECT Id FROM Lead WHERE Company = 'O'Brien' OR Company != ''"),
      );
      expect(injected.errorCode).toBe('MALFORMED_QUERY');
      expect(injected.message).toBe(
        "SELECT Id FROM Lead WHERE Company = 'O'Brien' OR Company != ''\n" +
          '                                       ^\n' +
          'ERROR at Row:1:Column:40\n' +
          "unexpected token: 'Brien'",
      );
    },
  );

  it(
    'filters by SystemModstamp with unquoted datetimes, IN, LIKE and relationship ' + 'fields',
    async () => {
      const conn = connect();
      await conn.sobject('Lead').create(leads(3));
      const cut = new Date(Date.now() - 60_000).toISOString();
      const recent = await conn.query(
        `SELECT Id FROM Lead WHERE SystemModstamp > ${cut} AND PartnerReferralId__c IN ('ref-0', ` +
          `'REF-2')`,
      );
      expect(recent.totalSize).toBe(2);
      const like = await conn.query(
        "SELECT LastName FROM Lead WHERE LastName LIKE '%lace 1' ORDER BY LastName DESC",
      );
      expect(like.records.map((r) => r.LastName)).toEqual(['Lovelace 1']);
      const noneYet = await conn.query(
        'SELECT Id, ConvertedOpportunity.StageName FROM Lead LIMIT 1',
      );
      expect(noneYet.records[0]?.ConvertedOpportunity).toBeNull();
    },
  );

  it(
    "answers the SOQL jsforce's query builder writes, including SELECT * expanded through " +
      'describe',
    async () => {
      const conn = connect();
      await conn.sobject('Lead').create(leads(3));
      const picked = await conn
        .sobject('Lead')
        .find({ PartnerReferralId__c: { $in: ['ref-0', 'ref-2'] }, Email: { $like: 'ada%' } }, [
          'Id',
          'PartnerReferralId__c',
        ])
        .sort('-PartnerReferralId__c');
      expect(picked.map((r) => r.PartnerReferralId__c)).toEqual(['ref-2', 'ref-0']);
      const everything = await conn
        .sobject('Lead')
        .find({ Status: 'Open - Not Contacted' }, '*')
        .limit(1);
      expect(Object.keys(everything[0] ?? {})).toEqual([
        'attributes',
        ...LEAD.fields.map((f) => f.name),
      ]);
    },
  );

  it('refuses unknown fields and mistyped filters with INVALID_FIELD', async () => {
    const conn = connect();
    const unknown = await rejection(conn.query('SELECT Id, Emial FROM Lead'));
    expect(unknown.errorCode).toBe('INVALID_FIELD');
    expect(unknown.message).toContain("No such column 'Emial' on entity 'Lead'.");
    const quotedDate = await rejection(
      conn.query("SELECT Id FROM Lead WHERE SystemModstamp > '2025-01-01T00:00:00Z'"),
    );
    expect(quotedDate.errorCode).toBe('INVALID_FIELD');
    expect(quotedDate.message).toMatch(
      new RegExp(
        String.raw`value of filter criterion for field 'SystemModstamp' must be of type` +
          String.raw` dateTime and should not be enclosed in quotes$`,
      ),
    );
  });
});

describe('sessions, limits and describe', () => {
  it('answers INVALID_SESSION_ID once sessions are expired, while a new token works', async () => {
    const conn = connect();
    await conn.query('SELECT Id FROM Lead');
    expect((await admin('POST', '/_sim/expire-sessions')).status).toBe(204);
    const failure = await rejection(conn.query('SELECT Id FROM Lead'));
    expect(failure).toMatchObject({
      errorCode: 'INVALID_SESSION_ID',
      message: 'Session expired or invalid',
    });
    await expect(
      connect('60.0', 'fresh-token').query('SELECT Id FROM Lead'),
    ).resolves.toMatchObject({ totalSize: 0 });
  });

  it(
    'answers REQUEST_LIMIT_EXCEEDED at the daily limit and reports usage in ' + 'Sforce-Limit-Info',
    async () => {
      const conn = connect();
      await conn.query('SELECT Id FROM Lead');
      expect(conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 100_000 } });
      expect((await admin('POST', '/_sim/api-usage', { used: 100_000 })).body).toEqual({
        used: 100_000,
        limit: 100_000,
      });
      const failure = await rejection(conn.query('SELECT Id FROM Lead'));
      expect(failure).toMatchObject({
        errorCode: 'REQUEST_LIMIT_EXCEEDED',
        message: 'TotalRequests Limit exceeded.',
      });
    },
  );

  it('answers the platform bodies for a missing token and an unknown version', async () => {
    const unauthenticated = await fetch(`${sim.url}/services/data/v60.0/sobjects/Lead/describe`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual([
      { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
    ]);
    const unknown = await fetch(`${sim.url}/services/data/v99.0/limits`, {
      headers: { Authorization: 'Bearer token' },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe(
      '[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]',
    );
    expect(unknown.headers.get('sforce-limit-info')).toBe('api-usage=0/100000');
  });

  it('describes Lead with types, lengths, keys and picklist values', async () => {
    const conn = connect();
    const lead = await conn.sobject('Lead').describe();
    const byName = new Map(lead.fields.map((f) => [f.name, f]));
    expect(byName.get('PartnerReferralId__c')).toMatchObject({
      type: 'string',
      length: 100,
      externalId: true,
      unique: true,
      custom: true,
    });
    expect(byName.get('LastName')).toMatchObject({
      nillable: false,
      createable: true,
      updateable: true,
    });
    expect(byName.get('IsConverted')).toMatchObject({
      type: 'boolean',
      createable: false,
      updateable: false,
    });
    expect(
      byName.get('Status')?.picklistValues?.map((p) => [p.value, p.active, p.defaultValue]),
    ).toEqual([
      ['Open - Not Contacted', true, true],
      ['Working - Contacted', true, false],
      ['Closed - Converted', true, false],
      ['Closed - Not Converted', true, false],
    ]);
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name)).toEqual(['Account', 'Lead', 'Opportunity']);
    const versions = (await (await fetch(`${sim.url}/services/data/`)).json()) as unknown[];
    expect(versions.at(-1)).toEqual({
      label: "Winter '25",
      url: '/services/data/v62.0',
      version: '62.0',
    });
  });
});

describe('OAuth token endpoint', () => {
  const post = (form: Record<string, string>) =>
    fetch(`${sim.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  const jwtPart = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('issues a token for client credentials that jsforce can use', async () => {
    const res = await post({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 'secret',
    });
    expect(res.status).toBe(200);
    const token = (await res.json()) as Record<string, string>;
    expect(token).toMatchObject({ instance_url: sim.url, token_type: 'Bearer', scope: 'api' });
    expect(token.id).toBe(`${sim.url}/id/00D5g000004SimOrgEAA/0055g000004SimUsrAAA`);
    expect(Number(token.issued_at)).toBeGreaterThan(0);
    const conn = new jsforce.Connection({
      instanceUrl: token.instance_url,
      accessToken: token.access_token,
      version: '60.0',
    });
    await expect(conn.query('SELECT COUNT() FROM Lead')).resolves.toMatchObject({ totalSize: 0 });
    const viaJsforce = new jsforce.Connection({
      oauth2: { loginUrl: sim.url, clientId: 'cid', clientSecret: 'secret' },
      version: '60.0',
    });
    const user = await viaJsforce.authorize({ grant_type: 'client_credentials' });
    expect(user).toMatchObject({
      id: '0055g000004SimUsrAAA',
      organizationId: '00D5g000004SimOrgEAA',
    });
    expect(viaJsforce.instanceUrl).toBe(sim.url);
    await expect(viaJsforce.query('SELECT COUNT() FROM Lead')).resolves.toMatchObject({
      totalSize: 0,
    });
  });

  it(
    'accepts a well-formed current JWT assertion and refuses malformed or expired ' + 'ones',
    async () => {
      const header = jwtPart({ alg: 'RS256' });
      const claims = {
        iss: 'cid',
        sub: 'integration@example.com',
        aud: 'https://login.salesforce.com',
      };
      const current =
        `${header}.` + `${jwtPart({ ...claims, exp: Math.floor(Date.now() / 1000) + 300 })}.c2ln`;
      const expired =
        `${header}.` + `${jwtPart({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 })}.c2ln`;
      const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
      const ok = await post({ grant_type: grant, assertion: current });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ token_type: 'Bearer', instance_url: sim.url });
      const stale = await post({ grant_type: grant, assertion: expired });
      expect(stale.status).toBe(400);
      expect(await stale.json()).toEqual({
        error: 'invalid_grant',
        error_description: 'invalid assertion: expired assertion: exp is in the past',
      });
      const malformed = await post({ grant_type: grant, assertion: 'not-a-jwt' });
      expect(await malformed.json()).toEqual({
        error: 'invalid_grant',
        error_description:
          'invalid assertion: the assertion is not a JWT of three dot-separated parts',
      });
    },
  );

  it('checks client secrets when clients are configured', async () => {
    const strict = createSalesforceSimulator({
      oauthClients: { cid: 'right' },
      validTokens: ['preset'],
    });
    await strict.start();
    try {
      const res = await fetch(`${strict.url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=cid&client_secret=wrong',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'invalid_client',
        error_description: 'invalid client credentials',
      });
      const stranger = new jsforce.Connection({
        instanceUrl: strict.url,
        accessToken: 'guess',
        version: '60.0',
      });
      expect((await rejection(stranger.query('SELECT Id FROM Lead'))).errorCode).toBe(
        'INVALID_SESSION_ID',
      );
      const preset = new jsforce.Connection({
        instanceUrl: strict.url,
        accessToken: 'preset',
        version: '60.0',
      });
      await expect(preset.query('SELECT Id FROM Lead')).resolves.toMatchObject({ totalSize: 0 });
    } finally {
      await strict.stop();
    }
  });
});

describe('CRM user actions under /_sim/', () => {
  it(
    'converts a lead into an account and an opportunity, after which the API cannot ' + 'update it',
    async () => {
      const conn = connect();
      const created = await conn.sobject('Lead').create({
        LastName: 'Turing',
        Company: 'Bletchley',
        CountryCode: 'GB',
        AnnualRevenue: 250000,
        PartnerReferralId__c: 'ref-convert',
      });
      const converted = await admin('POST', `/_sim/leads/${created.id}/convert`, {
        closeDate: '2030-06-30',
      });
      expect(converted.status).toBe(200);
      expect(converted.body.lead).toMatchObject({
        IsConverted: true,
        Status: 'Closed - Converted',
        ConvertedOpportunityId: converted.body.opportunityId,
        ConvertedAccountId: converted.body.accountId,
      });
      expect(converted.body.opportunity).toMatchObject({
        Name: 'Bletchley',
        StageName: 'Prospecting',
        CloseDate: '2030-06-30',
        Amount: 250000,
        AccountId: converted.body.accountId,
        PartnerReferralId__c: 'ref-convert',
        IsClosed: false,
        IsWon: false,
      });
      expect(converted.body.account).toMatchObject({
        Name: 'Bletchley',
        BillingCountry: 'United Kingdom',
        BillingCountryCode: 'GB',
      });
      const locked = await rejection(
        conn.sobject('Lead').update({ Id: String(created.id), Title: 'Dr' }),
      );
      expect(locked).toMatchObject({
        errorCode: 'CANNOT_UPDATE_CONVERTED_LEAD',
        message: 'cannot reference converted lead',
      });
      const joined = await conn.query(
        'SELECT Id, ConvertedOpportunity.StageName, ConvertedOpportunity.Account.Name FROM Lead ' +
          'WHERE IsConverted = true',
      );
      expect(joined.records[0]?.ConvertedOpportunity).toMatchObject({
        attributes: { type: 'Opportunity' },
        StageName: 'Prospecting',
        Account: { attributes: { type: 'Account' }, Name: 'Bletchley' },
      });
    },
  );

  it('closes opportunities won or lost and moves lead status with a decline reason', async () => {
    const conn = connect();
    const opportunities = await conn.sobject('Opportunity').create([
      { Name: 'Deal A', StageName: 'Qualification', CloseDate: '2030-01-31', Amount: 1000 },
      { Name: 'Deal B', StageName: 'Qualification', CloseDate: '2030-01-31' },
    ]);
    const won = await admin('POST', `/_sim/opportunities/${opportunities[0]?.id}/close`, {
      won: true,
    });
    expect(won.body).toMatchObject({ StageName: 'Closed Won', IsClosed: true, IsWon: true });
    const lost = await admin('POST', `/_sim/opportunities/${opportunities[1]?.id}/close`, {
      won: false,
      reason: 'Customer chose another vendor',
    });
    expect(lost.body).toMatchObject({
      StageName: 'Closed Lost',
      IsClosed: true,
      IsWon: false,
      LossReason__c: 'Customer chose another vendor',
    });
    const lead = await conn
      .sobject('Lead')
      .create({ LastName: 'Noether', Company: 'Erlangen', PartnerReferralId__c: 'ref-decline' });
    const declined = await admin('POST', `/_sim/leads/${lead.id}/status`, {
      status: 'Closed - Not Converted',
      reason: 'Not a customer',
    });
    expect(declined.body).toMatchObject({
      Status: 'Closed - Not Converted',
      DeclineReason__c: 'Not a customer',
    });
    const byReferral = await admin('GET', '/_sim/leads/by-referral/ref-decline');
    expect(byReferral.body).toMatchObject({ Id: lead.id, Status: 'Closed - Not Converted' });
    const badStatus = await admin('POST', `/_sim/leads/${lead.id}/status`, { status: 'Lost' });
    expect(badStatus).toEqual({
      status: 400,
      body: [
        {
          message: 'Lead Status: bad value for restricted picklist field: Lost',
          errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          fields: ['Status'],
        },
      ],
    });
    expect((await admin('GET', '/_sim/opportunities')).body.totalSize).toBe(2);
  });

  it('bumps SystemModstamp on every change so incremental queries see admin edits', async () => {
    const conn = connect();
    const created = await conn.sobject('Lead').create({ LastName: 'Curie', Company: 'Sorbonne' });
    const before = String((await conn.sobject('Lead').retrieve(String(created.id))).SystemModstamp);
    expect(before).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$/);
    const edited = await admin('PATCH', `/_sim/leads/${created.id}`, { Rating: 'Hot' });
    expect(edited.body.Rating).toBe('Hot');
    expect(Date.parse(edited.body.SystemModstamp)).toBeGreaterThan(Date.parse(before));
    const since = new Date(Date.parse(before)).toISOString();
    const changed = await conn.query(`SELECT Id, Rating FROM Lead WHERE SystemModstamp > ${since}`);
    expect(changed.records.map((r) => [r.Id, r.Rating])).toEqual([[created.id, 'Hot']]);
  });
});

describe('State and Country/Territory Picklists (on by default, as in a new org)', () => {
  it(
    'describes CountryCode and a dependent StateCode, each state valid for its country ' + 'only',
    async () => {
      const fields = (await connect().sobject('Lead').describe()).fields;
      const countryCode = fields.find((field) => field.name === 'CountryCode');
      const stateCode = fields.find((field) => field.name === 'StateCode');
      expect(countryCode).toMatchObject({
        type: 'picklist',
        restrictedPicklist: true,
        dependentPicklist: false,
      });
      expect(countryCode?.picklistValues).toContainEqual(
        expect.objectContaining({ value: 'GB', label: 'United Kingdom', active: true }),
      );
      expect(stateCode).toMatchObject({
        type: 'picklist',
        dependentPicklist: true,
        controllerName: 'CountryCode',
      });
      const washington = stateCode?.picklistValues?.find((entry) => entry.label === 'Washington');
      const countryIndex = countryCode?.picklistValues?.findIndex(
        (entry) => entry.value === 'US',
      ) as number;
      const bits = Buffer.from(String(washington?.validFor), 'base64');
      expect(washington?.value).toBe('WA');
      expect(((bits[countryIndex >> 3] as number) & (0x80 >> (countryIndex % 8))) !== 0).toBe(true);
      expect(
        [...bits].reduce((sum, byte) => sum + byte.toString(2).replace(/0/g, '').length, 0),
      ).toBe(1);
    },
  );

  it(
    'refuses a country or state text that is not an integration value, and syncs codes and ' +
      'integration values',
    async () => {
      const conn = connect();
      const saved = await conn.sobject('Lead').create(
        [
          { LastName: 'Code', Company: 'A', CountryCode: 'us', StateCode: 'WA' },
          { LastName: 'Name', Company: 'B', Country: 'canada', State: 'Ontario' },
          { LastName: 'Free', Company: 'C', Country: 'UK' },
          { LastName: 'Stateless', Company: 'D', CountryCode: 'DE', State: 'Bavaria' },
          { LastName: 'Wrong', Company: 'E', CountryCode: 'XX' },
        ],
        { allOrNone: false },
      );
      expect(saved.map((result) => result.success)).toEqual([true, true, false, false, false]);
      expect(saved[2]).toMatchObject({
        errors: [
          {
            statusCode: 'FIELD_INTEGRITY_EXCEPTION',
            message:
              "There's a problem with this country, even though it may appear correct. Please " +
              'select a country/territory from the list of valid countries.: Country',
            fields: ['Country'],
          },
        ],
      });
      expect(saved[3]).toMatchObject({
        errors: [
          {
            statusCode: 'FIELD_INTEGRITY_EXCEPTION',
            message:
              "There's a problem with this state, even though it may appear correct. Please " +
              'select a state from the list of valid states.: State',
            fields: ['State'],
          },
        ],
      });
      expect(saved[4]).toMatchObject({
        errors: [
          {
            statusCode: 'FIELD_INTEGRITY_EXCEPTION',
            message:
              "The CountryCode field contains XX, which isn't an available country/territory.",
            fields: ['CountryCode'],
          },
        ],
      });
      const rows = await conn.query<{
        LastName: string;
        Country: string;
        CountryCode: string;
        State: string;
        StateCode: string;
      }>('SELECT LastName, Country, CountryCode, State, StateCode FROM Lead ORDER BY LastName');
      expect(
        rows.records.map(({ LastName, Country, CountryCode, State, StateCode }) => [
          LastName,
          Country,
          CountryCode,
          State,
          StateCode,
        ]),
      ).toEqual([
        ['Code', 'United States', 'US', 'Washington', 'WA'],
        ['Name', 'Canada', 'CA', 'Ontario', 'ON'],
      ]);
    },
  );

  it(
    'knows no code fields in an org with the picklists off, where Country is free ' + 'text',
    async () => {
      const plain = createSalesforceSimulator({ statePicklists: false });
      await plain.start();
      try {
        const conn = new jsforce.Connection({
          instanceUrl: plain.url,
          accessToken: 'token',
          version: '60.0',
        });
        const fields = (await conn.sobject('Lead').describe()).fields.map((field) => field.name);
        expect(fields).toContain('Country');
        expect(fields).not.toContain('CountryCode');
        expect(
          (await conn.sobject('Lead').create({ LastName: 'Free', Company: 'C', Country: 'UK' }))
            .success,
        ).toBe(true);
        const refused = await rejection(
          conn.sobject('Lead').create({ LastName: 'Code', Company: 'C', CountryCode: 'GB' }),
        );
        expect(refused).toMatchObject({
          errorCode: 'INVALID_FIELD',
          message: "No such column 'CountryCode' on sobject of type Lead",
        });
      } finally {
        await plain.stop();
      }
    },
  );
});
