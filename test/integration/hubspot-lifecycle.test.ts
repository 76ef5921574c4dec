// HubSpot beyond writes and outcomes, through the simulator: an expired referral shown on its deal,
// the daily API budget read from response headers (holding reads back when low), and co-sell deals
// that become exactly one Partner Center referral each, with their outcome flowing back.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@hubspot/api-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, type RuntimeOptions } from '../../src/cli/compose.js';
import { configSchemaFor } from '../../src/config/index.js';
import type { Referral } from '../../src/core/referral.js';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import { HubSpotAdapter } from '../../src/crm/hubspot/adapter.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import { getApiBudgetNote, listOutbox } from '../../src/ledger/index.js';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import { dealKey } from '../../src/sync/actions/create-referral.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { companyInquiry, hubspotAdmin, hubspotDealOf, hubspotRecords } from './support/hubspot.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const fastRetries = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5 };

let pc: PartnerCenterSimulator;
let hubspot: HubSpotSimulator;
let dir: string;
const opened: Runtime[] = [];
const adapters: HubSpotAdapter[] = [];

beforeEach(async () => {
  pc = createPartnerCenterSimulator({ port: 0, referrals: 0, seed: 5 });
  hubspot = createHubSpotSimulator({ port: 0 });
  await Promise.all([pc.start(), hubspot.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-hubspot-life-'));
});

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((runtime) => runtime.close()));
  for (const adapter of adapters.splice(0)) await adapter.close();
  await Promise.all([pc.stop(), hubspot.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const settings = (extra: Record<string, unknown> = {}) => ({
  baseUrl: hubspot.url,
  auth: { kind: 'privateApp', token: SIMULATOR_PRIVATE_APP_TOKEN },
  ...extra,
});

function adapter(extra: Record<string, unknown> = {}): HubSpotAdapter {
  const created = new HubSpotAdapter({
    target: 'hubspot',
    retryPolicy: fastRetries,
    settings: settings(extra),
  });
  adapters.push(created);
  return created;
}

/** The runtime the CLI builds with HubSpot as the only target; co-sell scanned every cycle. */
async function runtimeOf(options: RuntimeOptions = {}): Promise<Runtime> {
  const config = configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: {
        baseUrl: pc.url,
        auth: { kind: 'static', token: 'pc-token' },
        overlapSeconds: 60,
      },
    },
    targets: [{ name: 'hubspot', kind: 'hubspot', settings: settings() }],
    ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
    worker: { coSellScanSeconds: 0 },
  });
  const runtime = await createRuntime(config, options);
  opened.push(runtime);
  return runtime;
}

let cycle = 0;
const run = (runtime: Runtime) => runtime.syncOnce({ runId: `cycle-${++cycle}` });

function createReferral(n: number): string {
  return companyInquiry(
    pc.store,
    n,
    {
      company: 'Northwind',
      city: 'Oslo',
      country: 'NO',
      person: 'Kari',
      domain: 'northwind.example',
    },
    { dealValue: 30_000, closingDateTime: '2026-09-30T00:00:00Z', notes: 'Needs a data platform' },
  );
}

const records = (type: string) => hubspotRecords(hubspot.url, type);
const dealOf = (referralId: string) => hubspotDealOf(hubspot.url, referralId);
const referral = (id: string) => pc.store.get(id) as unknown as Referral;
const hubspotCalls = () => hubspot.server.counters().total;

const sim = (route: string, body: unknown, method = 'POST') =>
  hubspotAdmin(hubspot.url, route, body, method);

describe('HubSpot: an expired referral shown on its deal', () => {
  it(
    'moves the open deal to closed lost with the reason once, and sends nothing to Partner ' +
      'Center',
    async () => {
      const id = createReferral(1);
      const runtime = await runtimeOf();
      await run(runtime);
      expect((await dealOf(id)).properties.dealstage).toBe('appointmentscheduled');
      pc.server.clock.advance(15 * DAY_MS);
      const expired = await run(runtime);
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Expired' });
      expect(expired.outbox.byKind['reflect-expired']).toMatchObject({ sent: 1 });
      expect((await dealOf(id)).properties).toMatchObject({
        dealstage: 'closedlost',
        closed_lost_reason: 'Partner Center referral expired unanswered',
      });
      const eTag = referral(id).eTag;
      await run(runtime);
      await run(runtime);
      expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Expired', eTag });
      expect((await listOutbox(runtime.ledger.db, id)).map((r) => [r.action, r.state])).toEqual([
        ['set-external-reference', 'sent'],
        ['reflect-expired', 'sent'],
      ]);
    },
  );

  it('leaves a deal in a closed stage alone, and writes an open one once', async () => {
    const hubspotAdapter = adapter();
    const [won, open] = ['ref-won', 'ref-open'];
    const fields = (n: string) => ({
      contact__email: `${n}@northwind.example`,
      company__name: `Northwind ${n}`,
      deal__dealname: `Deal ${n}`,
    });
    await hubspotAdapter.upsertLeads([
      { referralId: won, fields: fields('won') },
      { referralId: open, fields: fields('open') },
    ]);
    await sim(`/_sim/deals/${(await dealOf(won)).id}/stage`, { stage: 'closedwon' });
    const reflection = { deal__dealstage: 'closedlost', contact__hs_lead_status: 'UNQUALIFIED' };
    const before = hubspot.writeCalls;
    const wonState = (await hubspotAdapter.getByReferralId(won))!;
    expect(await hubspotAdapter.reflectExpired(wonState, reflection)).toBe(false);
    expect(hubspot.writeCalls).toBe(before);
    expect((await dealOf(won)).properties.dealstage).toBe('closedwon');

    const openState = (await hubspotAdapter.getByReferralId(open))!;
    expect(await hubspotAdapter.reflectExpired(openState, reflection)).toBe(true);
    expect(hubspot.writeCalls).toBe(before + 2);
    expect((await dealOf(open)).properties.dealstage).toBe('closedlost');
    const contact = (await records('contacts')).find(
      (c) => c.properties.leadbridge_referral_id === open,
    );
    expect(contact.properties.hs_lead_status).toBe('UNQUALIFIED');
    const again = (await hubspotAdapter.getByReferralId(open))!;
    expect(await hubspotAdapter.reflectExpired(again, reflection)).toBe(false);
    expect(hubspot.writeCalls).toBe(before + 2);
    await expect(
      hubspotAdapter.reflectExpired(openState, { dealstage: 'closedlost' }),
    ).rejects.toThrow(
      'hubspot target "hubspot": status.expiredReflection.dealstage names no object: write ' +
        'deal__<property>, contact__<property> or company__<property>',
    );
  });
});

describe('HubSpot: the daily API budget', () => {
  it('holds back on the headers alone when the usage read is refused', async () => {
    const hubspotAdapter = adapter();
    await sim('/_sim/limits', { daily: 1000, dailyUsed: 950 }, 'PUT');
    await hubspotAdapter.getByReferralId('ref-none');
    await sim(
      '/_sim/faults',
      {
        rules: [
          {
            kind: 'status',
            refuseStatus: 403,
            errorCode: 'MISSING_SCOPES',
            message: "This app hasn't been granted all required scopes to make this call.",
            pathContains: '/account-info/',
          },
        ],
      },
      'PUT',
    );
    const calls = hubspotCalls();
    const pages = [];
    for await (const page of hubspotAdapter.readChanges(null)) pages.push(page);
    expect(pages).toEqual([]);
    expect(hubspotCalls() - calls).toBe(1);
    expect(hubspotAdapter.apiBudget()).toMatchObject({ used: 953, holdingBack: true });
  });

  it(
    'is read from the daily headers of ordinary responses, and holds outcome and co-sell reads ' +
      'back past the share',
    async () => {
      const hubspotAdapter = adapter();
      expect(hubspotAdapter.apiBudget()).toBeNull();
      await sim('/_sim/limits', { daily: 1000, dailyUsed: 400 }, 'PUT');
      await hubspotAdapter.getByReferralId('ref-none');
      // Three batch reads (contacts, companies, deals): the last one saw 403 of 1,000 used.
      expect(hubspotAdapter.apiBudget()).toEqual({
        used: 403,
        max: 1000,
        limitShare: 0.8,
        holdingBack: false,
      });

      await sim('/_sim/limits', { dailyUsed: 900 }, 'PUT');
      await hubspotAdapter.getByReferralId('ref-none');
      expect(hubspotAdapter.apiBudget()).toMatchObject({ used: 903, holdingBack: true });
      let calls = hubspotCalls();
      const pages = [];
      for await (const page of hubspotAdapter.readChanges(null)) pages.push(page);
      expect(pages).toEqual([]);
      // One usage read instead of the searches; it says when the allocation resets.
      expect(hubspotCalls() - calls).toBe(1);
      expect(hubspotAdapter.apiBudget()).toMatchObject({ used: 904, holdingBack: true });
      calls = hubspotCalls();
      expect(await hubspotAdapter.readSharedDeals('leadbridge_share_with_microsoft', [])).toEqual(
        [],
      );
      for await (const page of hubspotAdapter.readChanges(null)) pages.push(page);
      expect(hubspotCalls() - calls).toBe(0);

      // Writes go on, and their headers show the allocation freed: reads resume.
      await sim('/_sim/limits', { dailyUsed: 10 }, 'PUT');
      await hubspotAdapter.upsertLeads([
        { referralId: 'ref-1', fields: { contact__email: 'a@b.example', deal__dealname: 'A' } },
      ]);
      expect(hubspotAdapter.apiBudget()).toMatchObject({ max: 1000, holdingBack: false });
      for await (const page of hubspotAdapter.readChanges(null)) pages.push(page);
      expect(pages.flatMap((p) => p.records.map((r) => r.referralId))).toEqual(['ref-1']);
    },
  );

  it('honours a configured share, and the runtime records the budget per target', async () => {
    const hubspotAdapter = adapter({ maxDailyApiShare: 0.3 });
    await sim('/_sim/limits', { daily: 1000, dailyUsed: 299 }, 'PUT');
    await hubspotAdapter.getByReferralId('ref-none');
    expect(hubspotAdapter.apiBudget()).toEqual({
      used: 302,
      max: 1000,
      limitShare: 0.3,
      holdingBack: true,
    });
    expect(() => adapter({ maxDailyApiShare: 1.5 })).toThrow('invalid HubSpot settings');

    // A cycle writes a referral (responses with daily headers); `status` reads the note it leaves.
    await sim('/_sim/limits', { daily: 1000, dailyUsed: 100 }, 'PUT');
    createReferral(3);
    const runtime = await runtimeOf();
    await run(runtime);
    expect(await getApiBudgetNote(runtime.ledger.db, 'hubspot')).toMatchObject({
      max: 1000,
      limitShare: 0.8,
      holdingBack: false,
    });
  });
});

/** A deal a salesperson creates in HubSpot (the official client, as a HubSpot user's tools do). */
async function createSharedDeal(properties: Record<string, string>): Promise<string> {
  const client = new Client({ basePath: hubspot.url, accessToken: SIMULATOR_PRIVATE_APP_TOKEN });
  const deal = await client.crm.deals.basicApi.create({
    properties: { dealstage: 'qualifiedtobuy', ...properties },
    associations: [],
  });
  return deal.id;
}

const referralsFor = (dealId: string) =>
  pc.store.all().filter((r) => r.externalReferenceId === dealId);

describe('HubSpot: co-sell deals', () => {
  it(
    'makes one referral of a flagged deal, even when the worker dies after the create, and ' +
      'sends its outcome',
    async () => {
      const dealId = await createSharedDeal({
        dealname: 'Northwind analytics',
        amount: '75000',
        closedate: '2027-04-30T00:00:00.000Z',
        description: 'Fabric for 200 analysts',
        leadbridge_share_with_microsoft: 'true',
        leadbridge_customer_name: 'Northwind Traders',
        leadbridge_customer_country: 'NO',
      });
      await createSharedDeal({ dealname: 'Not shared', leadbridge_share_with_microsoft: 'false' });
      const crashing = await runtimeOf({
        afterDealCreated: () => {
          throw new Error('killed after the create');
        },
      });
      await run(crashing);
      expect(referralsFor(dealId)).toHaveLength(1);

      const runtime = await runtimeOf();
      await run(runtime);
      await run(runtime);
      expect(pc.store.all()).toHaveLength(1);
      const created = referralsFor(dealId)[0]!;
      expect(created).toMatchObject({
        name: 'Northwind analytics',
        type: 'Shared',
        qualification: 'SalesQualified',
        customerProfile: { name: 'Northwind Traders', address: { country: 'NO' } },
        details: { dealValue: 75000, currency: 'USD', notes: 'Fabric for 200 analysts' },
      });
      const deal = (await records('deals')).find((d) => d.id === dealId);
      expect(deal.properties.leadbridge_referral_id).toBe(created.id);
      const rows = await listOutbox(runtime.ledger.db, dealKey('hubspot', dealId));
      expect(rows.map((row) => [row.state, row.attempts])).toEqual([['sent', 2]]);

      await sim(`/_sim/deals/${dealId}/stage`, { stage: 'closedwon' });
      await run(runtime);
      await run(runtime);
      expect(referral(created.id)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(pc.store.all()).toHaveLength(1);
    },
  );

  it('costs no more than two HubSpot calls in an idle cycle between co-sell scans', async () => {
    createReferral(2);
    const config = configSchemaFor(CRM_MODULES).parse({
      source: {
        partnerCenter: { baseUrl: pc.url, auth: { kind: 'static', token: 'pc-token' } },
      },
      targets: [{ name: 'hubspot', kind: 'hubspot', settings: settings() }],
      ledger: { client: 'sqlite', filename: path.join(dir, 'idle.sqlite') },
    });
    const runtime = await createRuntime(config);
    opened.push(runtime);
    await run(runtime);
    await run(runtime);
    const before = hubspotCalls();
    await run(runtime);
    expect(hubspotCalls() - before).toBe(2);
  });
});
