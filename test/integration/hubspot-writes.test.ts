// HubSpot write paths through the simulator: creates with inline associations, the fallback when
// a create finds the record already there, a rerun after a crash mid-batch, 207s, 429s.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/log.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/core/retry.js';
import type { MappedRecord } from '../../src/crm/adapter.js';
import { HubSpotAdapter } from '../../src/crm/hubspot/adapter.js';
import { hubspotModule } from '../../src/crm/hubspot/module.js';
import { loadMapping } from '../../src/mapping/index.js';
import { checkMappingAgainstMetadata } from '../../src/mapping/metadata.js';
import { SimClock } from '../../src/simulators/common/clock.js';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';

const fastRetries = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5 };

let sim: HubSpotSimulator;
let clock: SimClock;

beforeEach(async () => {
  clock = new SimClock();
  sim = createHubSpotSimulator({ port: 0, clock });
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
});

function adapter(policy: RetryPolicy = fastRetries, logger?: Logger): HubSpotAdapter {
  return new HubSpotAdapter({
    target: 'hubspot',
    retryPolicy: policy,
    ...(logger ? { logger } : {}),
    settings: {
      baseUrl: sim.url,
      auth: { kind: 'privateApp', token: SIMULATOR_PRIVATE_APP_TOKEN },
    },
  });
}

const referral = (n: number): MappedRecord => ({
  referralId: `ref-${n}`,
  fields: {
    contact__lastname: `Customer ${n}`,
    contact__email: `customer${n}@fabrikam.example`,
    company__name: `Fabrikam ${n}`,
    deal__dealname: `ERP for Fabrikam ${n}`,
  },
});

async function objects(type: string): Promise<Array<Record<string, any>>> {
  const response = await fetch(`${sim.url}/_sim/objects/${type}`);
  return ((await response.json()) as { results: Array<Record<string, any>> }).results;
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.url}${path}`, {
    method: path.startsWith('/_sim') ? 'PUT' : 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${SIMULATOR_PRIVATE_APP_TOKEN}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const paths = () =>
  sim.server.requests().map((r) => `${r.path.split('/').slice(4).join('/')} ${r.status}`);

/** Every deal associated with exactly one contact and one company, the contact with the company. */
async function expectLinked(count: number): Promise<void> {
  const [deals, contacts, companies] = [
    await objects('deals'),
    await objects('contacts'),
    await objects('companies'),
  ];
  expect([deals.length, contacts.length, companies.length]).toEqual([count, count, count]);
  for (const deal of deals) {
    expect(deal.associations.contacts).toHaveLength(1);
    expect(deal.associations.companies).toHaveLength(1);
    const contact = contacts.find((c) => c.id === deal.associations.contacts[0]);
    expect(contact?.associations.companies).toEqual(deal.associations.companies);
  }
}

describe('HubSpot creates', () => {
  it('creates new referrals in three write calls, associations inline, none apart', async () => {
    const results = await adapter().upsertLeads([referral(1), referral(2), referral(3)]);
    expect(results.map((r) => r.ok && r.created)).toEqual([true, true, true]);
    expect(paths()).toEqual([
      'deals/batch/read 207',
      'companies/batch/upsert 200',
      'contacts/batch/create 201',
      'deals/batch/create 201',
    ]);
    expect(sim.writeCalls).toBe(3);
    await expectLinked(3);
  });

  it(
    'writes a referral whose create HubSpot refused as existing through the upsert path, ' +
      'never a duplicate',
    async () => {
      // Two writers of the same referral: both read no deal, one create wins, the other is
      // refused with a CONFLICT and upserts instead.
      const [first, second] = await Promise.all([
        adapter().upsertLeads([referral(4)]),
        adapter().upsertLeads([referral(4)]),
      ]);
      expect([first[0]?.ok, second[0]?.ok]).toEqual([true, true]);
      expect(first[0]?.ok && first[0].recordId).toBe(second[0]?.ok && second[0].recordId);
      const conflicts = sim.server
        .requests()
        .filter((r) => r.path.endsWith('/batch/create') && r.status === 207);
      expect(conflicts.length).toBeGreaterThan(0);
      await expectLinked(1);
    },
  );

  it('reruns a batch cut by a crash after its contacts were created, no duplicates', async () => {
    await post('/_sim/faults', {
      rules: [{ kind: '5xx', status: 500, count: 6, pathContains: '/deals/batch/create' }],
    });
    const batch = [referral(5), referral(6), referral(7)];
    await expect(adapter().upsertLeads(batch)).rejects.toMatchObject({ status: 500 });
    expect((await objects('contacts')).length).toBe(3);
    expect((await objects('deals')).length).toBe(0);
    const rerun = await adapter().upsertLeads(batch);
    expect(rerun.map((r) => r.ok && r.created)).toEqual([true, true, true]);
    await expectLinked(3);
  });
});

describe('HubSpot shared contacts', () => {
  it('gives two new referrals of one person in one batch the same contact', async () => {
    const second = { ...referral(11), fields: { ...referral(11).fields } };
    second.fields.contact__email = 'customer10@fabrikam.example';
    const results = await adapter().upsertLeads([referral(10), second]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    // The second create is refused as a CONFLICT naming the first contact, which is taken as
    // it is: no contact upsert, no association call, the three write calls of any new batch.
    expect(paths()).toEqual([
      'deals/batch/read 207',
      'companies/batch/upsert 200',
      'contacts/batch/create 207',
      'deals/batch/create 201',
    ]);
    expect(sim.writeCalls).toBe(3);
    const contacts = await objects('contacts');
    expect(contacts).toHaveLength(1);
    for (const deal of await objects('deals'))
      expect(deal.associations.contacts).toEqual([contacts[0]?.id]);
  });
  it("gives a person's referral in a later batch their contact, in three write calls", async () => {
    await adapter().upsertLeads([referral(12)]);
    const again = { ...referral(13), fields: { ...referral(13).fields } };
    again.fields.contact__email = 'customer12@fabrikam.example';
    const before = sim.writeCalls;
    const [result] = await adapter().upsertLeads([again]);
    expect(result).toMatchObject({ ok: true, created: true });
    expect(sim.writeCalls - before).toBe(3);
    const contacts = await objects('contacts');
    expect(contacts.map((c) => c.properties.email)).toEqual(['customer12@fabrikam.example']);
    const deals = await objects('deals');
    expect(deals.map((d) => d.associations.contacts)).toEqual([
      [contacts[0]?.id],
      [contacts[0]?.id],
    ]);
  });
});

describe('HubSpot multi-status answers', () => {
  it('creates the valid inputs of a traced batch create, naming the refused one', async () => {
    const { status, body } = await post('/crm/v3/objects/deals/batch/create', {
      inputs: [
        { properties: { dealname: 'A', leadbridge_referral_id: 'a' }, objectWriteTraceId: 'a' },
        { properties: { dealname: 'B', amount: 'lots' }, objectWriteTraceId: 'b' },
      ],
    });
    expect(status).toBe(207);
    expect(body.results.map((r: any) => r.properties.dealname)).toEqual(['A']);
    expect(body.errors).toMatchObject([
      { status: 'error', category: 'VALIDATION_ERROR', context: { objectWriteTraceId: ['b'] } },
    ]);
    const again = await post('/crm/v3/objects/deals/batch/create', {
      inputs: [{ properties: { dealname: 'C', leadbridge_referral_id: 'a' } }],
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ category: 'CONFLICT' });
    expect(again.body.message).toMatch(/^Deal already exists\. Existing ID: \d+$/);
  });

  it('associates the valid pairs of a batch and names the pair at fault (207)', async () => {
    const [written] = await adapter().upsertLeads([referral(8)]);
    const dealId = written?.ok ? written.recordId : '';
    const contactId = (await objects('contacts'))[0]?.id;
    const { status, body } = await post(
      '/crm/v4/associations/deals/contacts/batch/associate/default',
      {
        inputs: [
          { from: { id: dealId }, to: { id: contactId } },
          { from: { id: dealId }, to: { id: '999999' } },
        ],
      },
    );
    expect(status).toBe(207);
    expect(body.results).toHaveLength(1);
    expect(body.errors).toMatchObject([
      { category: 'VALIDATION_ERROR', context: { fromObjectId: [dealId], toObjectId: ['999999'] } },
    ]);
  });
});

describe('HubSpot rate limit', () => {
  it('waits the rolling window a 429 names (capped by the policy) and then writes', async () => {
    await post('/_sim/limits', { perTenSeconds: 2 });
    const delays: number[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (message, fields) => {
        if (message !== 'retrying a HubSpot call') return;
        delays.push(Number(fields?.delayMs));
        // The window has passed by the time the retry goes out.
        clock.advance(10_000);
      },
      child: () => logger,
    };
    const results = await adapter({ ...fastRetries, maxRetryAfterMs: 30 }, logger).upsertLeads([
      referral(9),
    ]);
    expect(results[0]?.ok).toBe(true);
    // X-HubSpot-RateLimit-Remaining 0 and -Interval-Milliseconds 10000: 10 s, capped at 30 ms
    // (a plain backoff here would be at most 5 ms).
    expect(delays).toEqual([30]);
    expect(sim.server.requests().filter((r) => r.status === 429)).toHaveLength(1);
  });
});

describe('HubSpot deal-only mapping', () => {
  it("passes the check against the portal's deal properties", async () => {
    const file = hubspotModule.bundledMappings?.['deal-only'] ?? '';
    const mapping = await loadMapping(file);
    expect(Object.keys(mapping.definition.fields).every((name) => name.startsWith('deal__'))).toBe(
      true,
    );
    expect(checkMappingAgainstMetadata(mapping, await adapter().describeEntity('lead'))).toEqual(
      [],
    );
  });
});
