// Integration tests of the HubSpot adapter: the official @hubspot/api-client 13.4.0 against the
// HubSpot simulator.
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import type { CrmChangePage, MappedRecord } from '../../src/crm/adapter.js';
import { HubSpotAdapter } from '../../src/crm/hubspot/adapter.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import { crmModuleOf } from '../../src/crm/module.js';
import { loadMapping, parseMapping } from '../../src/mapping/index.js';
import { checkMappingAgainstMetadata } from '../../src/mapping/metadata.js';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';

const fastRetries = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5 };

let sim: HubSpotSimulator;
const adapters: HubSpotAdapter[] = [];

beforeEach(async () => {
  sim = createHubSpotSimulator({ port: 0 });
  await sim.start();
});

afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.close();
  await sim.stop();
});

function adapter(settings: Record<string, unknown> = {}): HubSpotAdapter {
  const created = new HubSpotAdapter({
    target: 'hubspot',
    retryPolicy: fastRetries,
    settings: {
      baseUrl: sim.url,
      auth: { kind: 'privateApp', token: SIMULATOR_PRIVATE_APP_TOKEN },
      ...settings,
    },
  });
  adapters.push(created);
  return created;
}

const referral = (n: number, extra: Record<string, unknown> = {}): MappedRecord => ({
  referralId: `ref-${String(n).padStart(4, '0')}`,
  fields: {
    contact__firstname: 'Ann',
    contact__lastname: `Customer ${n}`,
    contact__email: `customer${n}@fabrikam.example`,
    company__name: `Fabrikam ${n}`,
    deal__dealname: `ERP for Fabrikam ${n}`,
    deal__amount: 50000,
    deal__closedate: '2026-06-30T00:00:00.000Z',
    ...extra,
  },
});

async function admin(method: string, path: string, body?: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as Record<string, any>;
}

async function collect(pages: AsyncIterable<CrmChangePage>): Promise<CrmChangePage[]> {
  const out: CrmChangePage[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

describe('HubSpot adapter writes', () => {
  it('is registered as the kind "hubspot" in the module list', async () => {
    const loaded = await crmModuleOf(CRM_MODULES, 'hubspot').createAdapter({
      target: 'hs',
      settings: {
        baseUrl: sim.url,
        auth: { kind: 'privateApp', token: SIMULATOR_PRIVATE_APP_TOKEN },
      },
    });
    expect(loaded.kind).toBe('hubspot');
    expect(loaded.maxBatchSize).toBe(100);
  });

  it(
    'creates a company, a contact and a deal in the new-deal stage, associated, and a rerun ' +
      'duplicates nothing',
    async () => {
      const hubspot = adapter();
      const first = await hubspot.upsertLeads([referral(1), referral(2)]);
      expect(first.map((r) => r.ok && r.created)).toEqual([true, true]);
      const again = await hubspot.upsertLeads([referral(1), referral(2)]);
      expect(again.map((r) => r.ok && r.created)).toEqual([false, false]);
      expect(again.map((r) => r.ok && r.recordId)).toEqual(first.map((r) => r.ok && r.recordId));

      const deals = (await admin('GET', '/_sim/objects/deals')).results;
      const contacts = (await admin('GET', '/_sim/objects/contacts')).results;
      const companies = (await admin('GET', '/_sim/objects/companies')).results;
      expect([deals.length, contacts.length, companies.length]).toEqual([2, 2, 2]);
      const deal = deals.find((d: any) => d.properties.leadbridge_referral_id === 'ref-0001');
      expect(deal.properties).toMatchObject({
        dealname: 'ERP for Fabrikam 1',
        amount: '50000',
        pipeline: 'default',
        dealstage: 'appointmentscheduled',
        closedate: '2026-06-30T00:00:00.000Z',
      });
      expect(deal.associations.contacts).toHaveLength(1);
      expect(deal.associations.companies).toHaveLength(1);
      const contact = contacts.find((c: any) => c.id === deal.associations.contacts[0]);
      expect(contact.properties.email).toBe('customer1@fabrikam.example');
      expect(contact.associations.companies).toEqual(deal.associations.companies);
    },
  );

  it(
    'never moves a deal back to the new-deal stage when the referral is written ' + 'again',
    async () => {
      const hubspot = adapter();
      const [written] = await hubspot.upsertLeads([referral(3)]);
      const dealId = written?.ok ? written.recordId : '';
      await admin('POST', `/_sim/deals/${dealId}/stage`, { stage: 'contractsent' });
      await hubspot.upsertLeads([referral(3, { deal__amount: 60000 })]);
      const deal = (await admin('GET', '/_sim/objects/deals')).results[0];
      expect(deal.properties.dealstage).toBe('contractsent');
      expect(deal.properties.amount).toBe('60000');
    },
  );

  it(
    'fails only the referral HubSpot refuses, with its code, verbatim message and field, and ' +
      'writes the rest',
    async () => {
      const hubspot = adapter();
      const results = await hubspot.upsertLeads([
        referral(4),
        referral(5, { deal__hs_priority: 'urgent' }),
        referral(6),
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, false, true]);
      const failed = results[1];
      // New deals are created in one call with a trace id each: HubSpot answers 207 naming the
      // one it refused.
      expect(failed?.ok === false && failed.error).toMatchObject({
        code: 'VALIDATION_ERROR',
        retryable: false,
        fields: ['deal__hs_priority'],
      });
      const creates = sim.server
        .requests()
        .filter((r) => r.path === '/crm/v3/objects/deals/batch/create');
      expect(creates.map((r) => r.status)).toEqual([207]);
      expect(failed?.ok === false && failed.error.message).toContain(
        'urgent was not one of the allowed options',
      );
      expect((await admin('GET', '/_sim/objects/deals')).results).toHaveLength(2);
    },
  );

  it(
    'associates a second referral of a person already in HubSpot with that contact (409 ' +
      'CONFLICT)',
    async () => {
      const hubspot = adapter();
      await hubspot.upsertLeads([referral(7)]);
      const [result] = await hubspot.upsertLeads([
        referral(8, { contact__email: 'customer7@fabrikam.example', contact__lastname: 'Other' }),
      ]);
      expect(result).toMatchObject({ ok: true, created: true });
      const contacts = (await admin('GET', '/_sim/objects/contacts')).results;
      expect(contacts).toHaveLength(1);
      expect(contacts[0].properties.lastname).toBe('Customer 7');
      const deal = (await admin('GET', '/_sim/objects/deals')).results.find(
        (d: any) => d.properties.leadbridge_referral_id === 'ref-0008',
      );
      expect(deal.associations.contacts).toEqual([contacts[0].id]);
      // The create's 207 names the contact; no contact upsert is tried.
      const contactCalls = sim.server
        .requests()
        .filter((r) => r.path.startsWith('/crm/v3/objects/contacts/batch/'))
        .map((r) => `${r.path.split('/').at(-1)} ${r.status}`);
      expect(contactCalls).toEqual(['create 201', 'create 207']);
    },
  );

  it('names fields without an object prefix instead of sending them', async () => {
    const [result] = await adapter().upsertLeads([referral(9, { colour: 'red' })]);
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_FIELD', fields: ['colour'] },
    });
    expect((await admin('GET', '/_sim/objects/deals')).results).toHaveLength(0);
  });

  it('waits out a 429 with the rate-limit headers and writes once', async () => {
    await admin('PUT', '/_sim/faults', {
      rules: [{ kind: '429', count: 2, pathContains: '/batch/upsert' }],
    });
    const results = await adapter().upsertLeads([referral(10)]);
    expect(results[0]?.ok).toBe(true);
    expect((await admin('GET', '/_sim/objects/deals')).results).toHaveLength(1);
  });

  it(
    'stops at a spent daily allocation with the DAILY policy in the message, without ' + 'retrying',
    async () => {
      await admin('PUT', '/_sim/limits', { daily: 5, dailyUsed: 5 });
      const hubspot = adapter();
      await expect(hubspot.upsertLeads([referral(11)])).rejects.toThrow(
        'hubspot target "hubspot": read of 1 deals by referral id failed: DAILY: You have ' +
          'reached your daily limit. (the daily allocation is used up)',
      );
      expect(hubspot.callCount).toBe(1);
    },
  );

  it('says a refused private-app token is an authentication failure', async () => {
    const hubspot = adapter({ auth: { kind: 'privateApp', token: 'not-a-token' } });
    await expect(hubspot.upsertLeads([referral(12)])).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      status: 401,
      providerCode: 'INVALID_AUTHENTICATION',
    });
  });
});

describe('HubSpot adapter outcome reads', () => {
  it(
    'reads changed deals and contacts as one state per referral, with prefixed fields and an ' +
      'ms cursor',
    async () => {
      const hubspot = adapter();
      const written = await hubspot.upsertLeads([referral(20), referral(21)]);
      const dealId = written[1]?.ok ? written[1].recordId : '';
      const pages = await collect(hubspot.readChanges(null));
      const states = pages.flatMap((p) => p.records);
      expect(states.map((s) => s.referralId).sort()).toEqual(['ref-0020', 'ref-0021']);
      const cursor = pages.at(-1)?.cursor ?? null;
      expect(cursor).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

      await admin('POST', `/_sim/deals/${dealId}/stage`, {
        stage: 'closedlost',
        closedLostReason: 'Customer chose another vendor',
      });
      const later = (await collect(hubspot.readChanges(cursor))).flatMap((p) => p.records);
      expect(later).toHaveLength(1);
      expect(later[0]).toMatchObject({
        referralId: 'ref-0021',
        recordId: dealId,
        entity: 'lead',
        fields: {
          deal__dealstage: 'closedlost',
          deal__closed_lost_reason: 'Customer chose another vendor',
          contact__email: 'customer21@fabrikam.example',
          company__name: 'Fabrikam 21',
        },
      });
    },
  );

  it(
    'pages by (stamp, id) through more results than one page without losing or repeating ' + 'any',
    async () => {
      const hubspot = adapter({ searchPageSize: 7 });
      const records = Array.from({ length: 30 }, (_, i) => referral(100 + i));
      await hubspot.upsertLeads(records);
      const pages = await collect(hubspot.readChanges(null));
      const ids = pages.flatMap((p) => p.records.map((r) => r.referralId));
      expect(new Set(ids).size).toBe(30);
      expect(pages.length).toBeGreaterThan(4);
    },
  );

  it('reads one referral back by its id, and null for an unknown one', async () => {
    const hubspot = adapter();
    await hubspot.upsertLeads([referral(30)]);
    const state = await hubspot.getByReferralId('ref-0030');
    expect(state?.fields).toMatchObject({ deal__dealname: 'ERP for Fabrikam 30' });
    expect(await hubspot.getByReferralId('ref-9999')).toBeNull();
  });

  it('describes the three objects as one entity, with deal stages as picklist values', async () => {
    const metadata = await adapter().describeEntity('lead');
    const stage = metadata.fields.find((f) => f.name === 'deal__dealstage');
    expect(stage).toMatchObject({ type: 'picklist', createable: true });
    expect(stage?.picklistValues).toEqual([
      'appointmentscheduled',
      'qualifiedtobuy',
      'presentationscheduled',
      'decisionmakerboughtin',
      'contractsent',
      'closedwon',
      'closedlost',
    ]);
    expect(metadata.fields.find((f) => f.name === 'contact__hs_object_id')).toMatchObject({
      createable: false,
    });
    await expect(adapter().describeEntity('Account')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // Co-sell names deal properties unprefixed, as the entity "opportunity".
    const opportunity = await adapter().describeEntity('opportunity');
    expect(opportunity.entity).toBe('opportunity');
    expect(opportunity.fields.find((f) => f.name === 'leadbridge_share_with_microsoft')).toEqual({
      name: 'leadbridge_share_with_microsoft',
      type: 'boolean',
      required: false,
      createable: true,
      updateable: true,
    });
    expect(opportunity.fields.some((f) => f.name.startsWith('deal__'))).toBe(false);
  });
});

describe('HubSpot mappings against the portal', () => {
  it(
    'the bundled mapping passes the check against the properties, and a wrong stage is ' + 'caught',
    async () => {
      const hubspotModule = crmModuleOf(CRM_MODULES, 'hubspot');
      const metadata = await adapter().describeEntity('lead');
      const mapping = await loadMapping(hubspotModule.mappingFile);
      expect(checkMappingAgainstMetadata(mapping, metadata)).toEqual([]);
      // Its coSell section names deal properties the portal has (checked as "opportunity").
      const deals = await adapter().describeEntity('opportunity');
      expect(checkMappingAgainstMetadata(mapping, deals, { coSellOnly: true })).toEqual([]);
      expect(mapping.definition.status?.expiredReflection).toEqual({
        deal__dealstage: 'closedlost',
        deal__closed_lost_reason: 'Partner Center referral expired unanswered',
      });
      const text = (await readFile(hubspotModule.mappingFile, 'utf8')).replace(
        'deal__dealstage: closedwon',
        'deal__dealstage: won',
      );
      const issues = checkMappingAgainstMetadata(parseMapping(text, 'mapping.yaml'), metadata);
      expect(issues.map((i) => i.message)).toEqual([
        '"won" is not a value of the CRM picklist "deal__dealstage" (values: ' +
          'appointmentscheduled, qualifiedtobuy, presentationscheduled, decisionmakerboughtin, ' +
          'contractsent, closedwon, closedlost), so this rule never matches',
      ]);
    },
  );
});

describe('HubSpot adapter with an OAuth app', () => {
  it('refreshes the access token, and again once it has expired', async () => {
    await sim.stop();
    sim = createHubSpotSimulator({
      port: 0,
      oauthApps: [{ clientId: 'app-1', clientSecret: 'secret-1', refreshToken: 'refresh-1' }],
    });
    await sim.start();
    const hubspot = adapter({
      auth: {
        kind: 'oauth',
        clientId: 'app-1',
        clientSecret: 'secret-1',
        refreshToken: 'refresh-1',
      },
    });
    expect((await hubspot.upsertLeads([referral(40)]))[0]?.ok).toBe(true);
    await fetch(`${sim.url}/_sim/oauth/expire`, { method: 'POST' });
    expect((await hubspot.upsertLeads([referral(41)]))[0]?.ok).toBe(true);
    const tokenCalls = sim.server.requests().filter((r) => r.path === '/oauth/v1/token');
    expect(tokenCalls.map((r) => r.status)).toEqual([200, 200]);
    // OAuth calls have no daily limit, so no daily headers: no budget to report or hold back on.
    expect(hubspot.apiBudget()).toBeNull();
  });

  it('names the refresh token when HubSpot refuses it', async () => {
    const hubspot = adapter({
      auth: { kind: 'oauth', clientId: 'app-1', clientSecret: 'secret-1', refreshToken: 'wrong' },
    });
    await expect(hubspot.upsertLeads([referral(42)])).rejects.toThrow(
      /OAuth refresh token was refused/,
    );
  });
});
