// Integration tests of the Salesforce adapter: the real jsforce 3.10 against the Salesforce
// simulator over loopback HTTP.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import type { CrmChangePage, MappedRecord } from '../../src/crm/adapter.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';
import { SalesforceAdapter } from '../../src/crm/salesforce/adapter.js';
import {
  LEAD,
  createSalesforceSimulator,
  systemInput,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';

const fastRetries = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5 };
const LEAD_ID = /^00Q[A-Za-z0-9]{15}$/;
const UPSERT_PATH = '/services/data/v60.0/composite/sobjects/Lead/PartnerReferralId__c';
const INVALID_FIELD_MESSAGE =
  'salesforce target "sfdc": upsert of 1 Lead records by PartnerReferralId__c failed: ' +
  "INVALID_FIELD: No such column 'Colour__c' on sobject of type Lead";

let sim: SalesforceSimulator;
const adapters: SalesforceAdapter[] = [];

beforeEach(async () => {
  sim = createSalesforceSimulator({ port: 0 });
  await sim.start();
});

afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.close();
  await sim.stop();
});

function adapterWith(
  auth: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): SalesforceAdapter {
  const adapter = new SalesforceAdapter({
    target: 'sfdc',
    retryPolicy: fastRetries,
    settings: { instanceUrl: sim.url, auth, ...extra },
  });
  adapters.push(adapter);
  return adapter;
}

const withToken = () => adapterWith({ kind: 'accessToken', token: 'sim-token' });
const withClientCredentials = () =>
  adapterWith({
    kind: 'clientCredentials',
    clientId: 'app',
    clientSecret: 'secret',
    loginUrl: sim.url,
  });

const leadRecord = (n: number, extra: Record<string, unknown> = {}): MappedRecord => ({
  referralId: `ref-${String(n).padStart(5, '0')}`,
  fields: {
    LastName: `Customer ${n}`,
    Company: `Company ${n}`,
    Email: `c${n}@example.com`,
    ...extra,
  },
});

async function admin(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function changesSince(
  adapter: SalesforceAdapter,
  since: string | null,
): Promise<CrmChangePage[]> {
  const pages: CrmChangePage[] = [];
  for await (const page of adapter.readChanges(since)) pages.push(page);
  return pages;
}

async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

const requestsTo = (method: string, pathPart: string) =>
  sim.server.requests().filter((r) => r.method === method && r.path.includes(pathPart));

describe('SalesforceAdapter upserts', () => {
  it('sends every REST call through the configured limiter', async () => {
    let queued = 0;
    const limiter = { add: <T>(task: () => Promise<T>) => (queued++, task()) };
    const adapter = new SalesforceAdapter({
      target: 'sfdc',
      retryPolicy: fastRetries,
      limiter,
      settings: { instanceUrl: sim.url, auth: { kind: 'accessToken', token: 't' } },
    });
    adapters.push(adapter);
    const results = await adapter.upsertLeads(Array.from({ length: 250 }, (_, i) => leadRecord(i)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(queued).toBe(2); // two collection upserts of 200 and 50
    expect(adapter.callCount).toBe(2);
  });

  it('is registered as the salesforce kind with the configured batch size', async () => {
    const made = await salesforceModule.createAdapter({
      target: 'x',
      settings: { instanceUrl: sim.url, auth: { kind: 'accessToken', token: 't' }, batchSize: 150 },
    });
    expect(made).toBeInstanceOf(SalesforceAdapter);
    expect(made.kind).toBe('salesforce');
    expect(made.maxBatchSize).toBe(150);
  });

  it(
    'backfills 450 leads in 3 collection calls, then updates the same records on a second ' +
      'pass',
    async () => {
      const crm = withToken();
      const records = Array.from({ length: 450 }, (_, i) => leadRecord(i));
      const first = await crm.upsertLeads(records);
      expect(requestsTo('PATCH', UPSERT_PATH).map((r) => r.status)).toEqual([200, 200, 200]);
      expect(sim.server.counters().total).toBe(3);
      expect(crm.callCount).toBe(3);
      expect(first).toHaveLength(450);
      expect(first.every((r) => r.ok && r.created && LEAD_ID.test(r.recordId))).toBe(true);
      expect(first.map((r) => r.referralId)).toEqual(records.map((r) => r.referralId));

      const second = await crm.upsertLeads(records);
      expect(second.map((r) => (r.ok ? { id: r.recordId, created: r.created } : r))).toEqual(
        first.map((r) => (r.ok ? { id: r.recordId, created: false } : r)),
      );
      expect(crm.callCount).toBe(6);
      const stored = sim.store.findByExternalId(
        LEAD,
        LEAD.fields.find((f) => f.name === 'PartnerReferralId__c')!,
        'ref-00449',
      );
      expect(stored.map((row) => [row.Id, row.Company])).toEqual([
        [(first[449] as { recordId: string }).recordId, 'Company 449'],
      ]);
    },
  );

  it(
    "fails only the record the org refuses, with Salesforce's code and message " + 'verbatim',
    async () => {
      const crm = withToken();
      const records = [leadRecord(1), leadRecord(2, { Rating: 'Scorching' }), leadRecord(3)];
      const results = await crm.upsertLeads(records);
      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      expect(results[1]).toEqual({
        referralId: 'ref-00002',
        ok: false,
        error: {
          code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          message: 'Rating: bad value for restricted picklist field: Scorching',
          retryable: false,
          fields: ['Rating'],
        },
      });
      // A refused record is final: no retry round.
      expect(requestsTo('PATCH', UPSERT_PATH)).toHaveLength(1);
    },
  );

  it(
    "throws for a call the org refuses as a whole, naming the call and Salesforce's " + 'error',
    async () => {
      const crm = withToken();
      const error = await rejectionOf(crm.upsertLeads([leadRecord(1, { Colour__c: 'red' })]));
      expect(error).toMatchObject({
        code: 'HTTP_ERROR',
        providerCode: 'INVALID_FIELD',
        retryable: false,
      });
      expect(error.message).toBe(INVALID_FIELD_MESSAGE);
      expect(crm.callCount).toBe(1);
    },
  );

  it('writes referrals mapped as opportunities through the Opportunity collection', async () => {
    const crm = withToken();
    const results = await crm.upsertLeads([
      {
        referralId: 'ref-opp',
        entity: 'opportunity',
        fields: { Name: 'Deal', StageName: 'Prospecting', CloseDate: '2026-06-30', Amount: 5000 },
      },
      leadRecord(1),
    ]);
    expect(results.map((r) => r.ok && r.recordId.slice(0, 3))).toEqual(['006', '00Q']);
    expect(sim.server.requests().map((r) => r.path)).toEqual([
      UPSERT_PATH,
      '/services/data/v60.0/composite/sobjects/Opportunity/PartnerReferralId__c',
    ]);
    expect(await crm.getByReferralId('ref-opp')).toMatchObject({
      entity: 'opportunity',
      fields: { Name: 'Deal', Amount: 5000 },
      opportunity: null,
    });
  });

  it('refuses a blank referral id without sending it', async () => {
    const crm = withToken();
    const results = await crm.upsertLeads([
      { referralId: ' ', fields: { LastName: 'X', Company: 'Y' } },
      leadRecord(1),
    ]);
    expect(results[0]).toEqual({
      referralId: ' ',
      ok: false,
      error: {
        code: 'INVALID_REFERRAL_ID',
        message: 'the referral id is blank, so the record has no external id to upsert by',
        retryable: false,
      },
    });
    expect(results[1]?.ok).toBe(true);
  });

  it(
    'retries a collection call after a 503 and after a dropped connection (upserts by ' +
      'external id are idempotent)',
    async () => {
      const crm = withToken();
      sim.server.faults.configure({
        rules: [
          { kind: '5xx', status: 503, count: 1, pathContains: '/composite/' },
          { kind: 'drop', count: 1, pathContains: '/composite/' },
        ],
      });
      const results = await crm.upsertLeads([leadRecord(1), leadRecord(2)]);
      expect(results.map((r) => r.ok && r.created)).toEqual([true, true]);
      expect(requestsTo('PATCH', UPSERT_PATH).map((r) => r.status)).toEqual([503, 0, 200]);
      expect(crm.callCount).toBe(3);
    },
  );

  it('stops at once with RATE_LIMITED when the daily API allocation is used up', async () => {
    const crm = withToken();
    sim.setApiUsage(100_000);
    const error = await rejectionOf(crm.upsertLeads([leadRecord(1)]));
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      retryable: false,
      status: 403,
      providerCode: 'REQUEST_LIMIT_EXCEEDED',
    });
    expect(error.message).toBe(
      'salesforce target "sfdc": upsert of 1 Lead records by PartnerReferralId__c refused: the ' +
        "org's daily API request limit is used up " +
        '(api-usage 100000/100000) (REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.); ' +
        'calls succeed again once the rolling 24-hour allocation frees up',
    );
    expect(crm.callCount).toBe(1);
  });
});

describe('SalesforceAdapter sessions', () => {
  it('names the target and the expired access token when a given token is refused', async () => {
    const crm = withToken();
    await crm.upsertLeads([leadRecord(1)]);
    sim.expireSessions();
    const error = await rejectionOf(crm.upsertLeads([leadRecord(2)]));
    expect(error).toMatchObject({
      code: 'AUTH_FAILED',
      status: 401,
      providerCode: 'INVALID_SESSION_ID',
      retryable: false,
    });
    expect(error.message).toBe(
      'salesforce target "sfdc": the access token has expired or was revoked ' +
        '(INVALID_SESSION_ID: Session expired or invalid); ' +
        "put a new token in the target's settings.auth.token, or use clientCredentials or jwt " +
        'auth so that leadbridge can renew it',
    );
    expect(crm.callCount).toBe(2);
  });

  it(
    'gets a client-credentials token lazily and renews it once when the session ' + 'expires',
    async () => {
      const crm = withClientCredentials();
      expect(crm.callCount).toBe(0);
      expect((await crm.upsertLeads([leadRecord(1)]))[0]?.ok).toBe(true);
      sim.expireSessions();
      const results = await crm.upsertLeads([leadRecord(2)]);
      expect(results[0]).toMatchObject({ ok: true, created: true });
      expect(sim.server.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'POST /services/oauth2/token 200',
        `PATCH ${UPSERT_PATH} 200`,
        `PATCH ${UPSERT_PATH} 401`,
        'POST /services/oauth2/token 200',
        `PATCH ${UPSERT_PATH} 200`,
      ]);
      expect(crm.callCount).toBe(5);
    },
  );

  it('reports a refused client secret as AUTH_FAILED with the OAuth error', async () => {
    await sim.stop();
    sim = createSalesforceSimulator({ port: 0, oauthClients: { app: 'right' } });
    await sim.start();
    const crm = adapterWith({
      kind: 'clientCredentials',
      clientId: 'app',
      clientSecret: 'wrong',
      loginUrl: sim.url,
    });
    const error = await rejectionOf(crm.getByReferralId('ref-1'));
    expect(error).toMatchObject({ code: 'AUTH_FAILED', providerCode: 'invalid_client' });
    expect(error.message).toBe(
      `salesforce target "sfdc": the client-credentials token request to ${sim.url}` +
        `/services/oauth2/token was refused: invalid_client: invalid client credentials`,
    );
    expect(crm.callCount).toBe(1);
  });

  it('signs a JWT bearer assertion with the private key and uses the token it gets', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const crm = adapterWith({
      kind: 'jwt',
      clientId: 'app',
      username: 'sync@example.com',
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      loginUrl: sim.url,
    });
    expect((await crm.upsertLeads([leadRecord(1)]))[0]?.ok).toBe(true);
    expect(sim.server.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /services/oauth2/token 200',
      `PATCH ${UPSERT_PATH} 200`,
    ]);
  });
});

describe('SalesforceAdapter reads', () => {
  it('round-trips quotes and backslashes, and an injection attempt matches nothing', async () => {
    const crm = withToken();
    const referralId = "O'Brien \\ Sons";
    const [written] = await crm.upsertLeads([
      {
        referralId,
        fields: { LastName: 'Brien', Company: referralId, Description: 'line 1\nline "2"' },
      },
    ]);
    expect(written).toMatchObject({ ok: true, created: true });
    const state = await crm.getByReferralId(referralId);
    expect(state).toMatchObject({
      referralId,
      recordId: (written as { recordId: string }).recordId,
      entity: 'lead',
      fields: {
        Company: referralId,
        Description: 'line 1\nline "2"',
        PartnerReferralId__c: referralId,
        Status: 'Open - Not Contacted',
      },
      opportunity: null,
    });
    expect(await crm.getByReferralId("x' OR Name != '")).toBeNull();
    expect(await crm.getByReferralId("O'Brien \\")).toBeNull();
    // One upsert, then a lead query and an opportunity query per lookup.
    expect(sim.server.counters().byStatus).toEqual({ '200': 7 });
  });

  it('retries a query after a server error and a dropped connection', async () => {
    const crm = withToken();
    await crm.upsertLeads([leadRecord(1)]);
    sim.server.faults.configure({
      rules: [
        { kind: '5xx', status: 500, count: 1, method: 'GET' },
        { kind: 'drop', count: 1, method: 'GET' },
      ],
    });
    expect(await crm.getByReferralId('ref-00001')).toMatchObject({
      referralId: 'ref-00001',
      fields: { Company: 'Company 1' },
    });
    expect(requestsTo('GET', '/query').map((r) => r.status)).toEqual([500, 0, 200, 200]);
    expect(crm.callCount).toBe(5);
  });

  it(
    'reads a converted, won referral with its opportunity, and nothing more after the ' + 'cursor',
    async () => {
      const crm = withToken();
      const [open, converted] = await crm.upsertLeads([leadRecord(1), leadRecord(2)]);
      const leadId = (converted as { recordId: string }).recordId;
      const conversion = await admin(`/_sim/leads/${leadId}/convert`, {
        opportunityName: 'Big deal',
        amount: 120000,
        closeDate: '2026-03-31',
      });
      const opportunityId = String(conversion.opportunityId);
      await admin(`/_sim/opportunities/${opportunityId}/close`, { won: true });

      const pages = await changesSince(crm, null);
      expect(pages).toHaveLength(1);
      const [page] = pages as [CrmChangePage];
      expect(page.records.map((r) => r.referralId)).toEqual(['ref-00001', 'ref-00002']);
      expect(page.records[0]).toMatchObject({
        recordId: (open as { recordId: string }).recordId,
        opportunity: null,
      });
      const won = page.records[1];
      expect(won).toMatchObject({
        recordId: leadId,
        entity: 'lead',
        fields: {
          IsConverted: true,
          ConvertedOpportunityId: opportunityId,
          Status: 'Closed - Converted',
        },
        opportunity: {
          recordId: opportunityId,
          fields: {
            Name: 'Big deal',
            StageName: 'Closed Won',
            IsClosed: true,
            IsWon: true,
            Amount: 120000,
            CloseDate: '2026-03-31',
          },
        },
      });
      expect(won?.modifiedAt).toBe(won?.opportunity?.modifiedAt);
      expect(page.cursor).toBe(won?.modifiedAt);
      expect(page.cursor).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      expect(await changesSince(crm, page.cursor)).toEqual([]);

      // Only the opportunity changes: its lead is fetched to complete the referral's state.
      await admin(`/_sim/opportunities/${opportunityId}/close`, {
        won: false,
        reason: 'Customer chose another vendor',
      });
      const [later] = (await changesSince(crm, page.cursor)) as [CrmChangePage];
      expect(later.records).toHaveLength(1);
      expect(later.records[0]).toMatchObject({
        referralId: 'ref-00002',
        recordId: leadId,
        opportunity: {
          recordId: opportunityId,
          fields: { StageName: 'Closed Lost', LossReason__c: 'Customer chose another vendor' },
        },
      });
    },
  );

  it('follows query pages one at a time and cuts change pages at 500 records', async () => {
    const crm = withToken();
    for (let i = 0; i < 2100; i++) {
      const saved = sim.store.create(
        LEAD,
        systemInput(LEAD, {
          LastName: `L${i}`,
          Company: `C${i}`,
          PartnerReferralId__c: `seed-${i}`,
        }),
      );
      if (!saved.ok) throw new Error(saved.error.message);
    }
    const pages = await changesSince(crm, null);
    expect(pages.map((p) => p.records.length)).toEqual([500, 500, 500, 500, 100]);
    expect(new Set(pages.flatMap((p) => p.records.map((r) => r.referralId))).size).toBe(2100);
    expect(pages.map((p) => p.cursor)).toEqual(
      pages.map((p) => p.records[p.records.length - 1]?.modifiedAt),
    );
    expect(requestsTo('GET', '/query/').length).toBe(1);
    expect(crm.callCount).toBe(sim.server.counters().total);
  });
});
