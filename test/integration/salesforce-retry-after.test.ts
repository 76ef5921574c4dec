// The Salesforce adapter waits as long as a 429 / 503 answer's Retry-After asks (capped), through
// real jsforce.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '../../src/core/log.js';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import { SalesforceAdapter } from '../../src/crm/salesforce/adapter.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';

const UPSERT_PATH = '/services/data/v60.0/composite/sobjects/Lead/PartnerReferralId__c';

let sim: SalesforceSimulator;
let retries: LogFields[];
const adapters: SalesforceAdapter[] = [];

beforeEach(async () => {
  sim = createSalesforceSimulator({ port: 0 });
  await sim.start();
  retries = [];
});

afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.close();
  await sim.stop();
});

/** A logger that keeps the "retrying a Salesforce call" lines, which carry the wait chosen. */
function retryLogger(): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    error: () => {},
    warn: (message, fields) => {
      if (message === 'retrying a Salesforce call') retries.push(fields ?? {});
    },
    child: () => logger,
  };
  return logger;
}

function adapter(maxRetryAfterMs: number): SalesforceAdapter {
  const crm = new SalesforceAdapter({
    target: 'sfdc',
    logger: retryLogger(),
    // Backoff of its own at most 5 ms: a longer wait can only come from Retry-After.
    retryPolicy: { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs },
    settings: { instanceUrl: sim.url, auth: { kind: 'accessToken', token: 'sim-token' } },
  });
  adapters.push(crm);
  return crm;
}

const lead = { referralId: 'ref-1', fields: { LastName: 'Brandt', Company: 'Litware GmbH' } };

function statusesOfUpserts(): number[] {
  return sim.server
    .requests()
    .filter((r) => r.method === 'PATCH' && r.path.startsWith(UPSERT_PATH))
    .map((r) => r.status);
}

describe('Salesforce Retry-After', () => {
  it.each([
    ['429', 429, 0.25, 250],
    ['503', 503, 0.3, 300],
  ] as const)(
    'a %s with Retry-After waits what it asks',
    async (_name, status, seconds, waitMs) => {
      sim.server.faults.configure({
        rules: [
          status === 429
            ? { kind: '429', count: 1, retryAfterSeconds: seconds, pathContains: '/composite/' }
            : {
                kind: '5xx',
                status,
                count: 1,
                retryAfterSeconds: seconds,
                pathContains: '/composite/',
              },
        ],
      });
      const [result] = await adapter(60_000).upsertLeads([lead]);
      expect(result).toMatchObject({ ok: true, created: true });
      expect(statusesOfUpserts()).toEqual([status, 200]);
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({ attempt: 1, delayMs: waitMs });
    },
  );

  it('caps a long Retry-After at the policy’s maxRetryAfterMs', async () => {
    sim.server.faults.configure({
      rules: [{ kind: '429', count: 1, retryAfterSeconds: 3600, pathContains: '/composite/' }],
    });
    await adapter(40).upsertLeads([lead]);
    expect(retries[0]).toMatchObject({ delayMs: 40 });
  });

  it('a 500 (no Retry-After) falls back to the capped exponential backoff', async () => {
    sim.server.faults.configure({
      rules: [{ kind: '5xx', status: 500, count: 1, pathContains: '/composite/' }],
    });
    await adapter(60_000).upsertLeads([lead]);
    expect(statusesOfUpserts()).toEqual([500, 200]);
    expect(retries).toHaveLength(1);
    expect(retries[0]?.delayMs as number).toBeLessThanOrEqual(5);
  });

  it('a query page (GET) honours Retry-After as well', async () => {
    const crm = adapter(60_000);
    await crm.upsertLeads([lead]);
    sim.server.faults.configure({
      rules: [{ kind: '429', count: 1, retryAfterSeconds: 0.2, pathContains: '/query' }],
    });
    const record = await crm.getByReferralId('ref-1');
    expect(record?.referralId).toBe('ref-1');
    expect(retries[0]).toMatchObject({ delayMs: 200 });
  });
});
