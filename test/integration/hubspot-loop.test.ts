// The whole loop with HubSpot as a target (alone, and beside Dynamics 365 and Salesforce): Partner
// Center referrals
// become HubSpot records, deal stages flow back as Partner Center outcomes, and a cycle that fails
// mid-batch leaves
// nothing duplicated after the rerun.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/cli/compose.js';
import { configSchemaFor } from '../../src/config/index.js';
import type { Referral } from '../../src/core/referral.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import type { Runtime } from '../../src/sync/cycle.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';
import { companyInquiry, hubspotAdmin, hubspotDealOf, hubspotRecords } from './support/hubspot.js';

let pc: PartnerCenterSimulator;
let hubspot: HubSpotSimulator;
let dir: string;
const opened: Runtime[] = [];
let count = 0;

function hubspotTarget() {
  return {
    name: 'hubspot',
    kind: 'hubspot',
    settings: {
      baseUrl: hubspot.url,
      auth: { kind: 'privateApp', token: SIMULATOR_PRIVATE_APP_TOKEN },
    },
  };
}

/**
 * The runtime the CLI builds, over a config whose targets are `targets` (HubSpot alone by default).
 */
async function loop(targets: unknown[] = [hubspotTarget()]) {
  const config = configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: {
        baseUrl: pc.url,
        auth: { kind: 'static', token: 'pc-token' },
        overlapSeconds: 60,
      },
    },
    targets,
    ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
  });
  const runtime = await createRuntime(config);
  opened.push(runtime);
  return {
    async run() {
      const result = await runtime.syncOnce({ runId: `cycle-${++count}` });
      return { targetsDown: result.targetsDown };
    },
  };
}

beforeEach(async () => {
  pc = createPartnerCenterSimulator({ port: 0, referrals: 0, seed: 7 });
  hubspot = createHubSpotSimulator({ port: 0 });
  await Promise.all([pc.start(), hubspot.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-hubspot-'));
});

afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((runtime) => runtime.close()));
  await Promise.all([pc.stop(), hubspot.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function createReferral(n: number): string {
  return companyInquiry(
    pc.store,
    n,
    { company: 'Fabrikam', city: 'Lyon', country: 'FR', person: 'Ann', domain: 'fabrikam.example' },
    { dealValue: 50_000, closingDateTime: '2026-06-30T00:00:00Z', notes: 'Needs an ERP' },
  );
}

const records = (type: string) => hubspotRecords(hubspot.url, type);
const dealOf = (referralId: string) => hubspotDealOf(hubspot.url, referralId);
const referral = (id: string) => pc.store.get(id) as unknown as Referral;

const sim = (route: string, body: unknown, method = 'POST') =>
  hubspotAdmin(hubspot.url, route, body, method);

describe('the loop with HubSpot as the only target', () => {
  it(
    'writes new referrals as an associated contact, company and deal, and the deal id back to ' +
      'Partner Center',
    async () => {
      const ids = [createReferral(1), createReferral(2)];
      const cycles = await loop();
      expect((await cycles.run()).targetsDown).toEqual([]);
      for (const id of ids) {
        const deal = await dealOf(id);
        expect(deal.properties).toMatchObject({
          dealname: expect.any(String),
          amount: '50000',
          dealstage: 'appointmentscheduled',
          leadbridge_lead_kind: 'customerInquiry',
        });
        expect(deal.associations.contacts).toHaveLength(1);
        expect(deal.associations.companies).toHaveLength(1);
        expect(referral(id).externalReferenceId).toBe(deal.id);
      }
      const contacts = await records('contacts');
      expect(contacts.map((c) => c.properties.email).sort()).toEqual([
        'ann1@fabrikam.example',
        'ann2@fabrikam.example',
      ]);
      expect((await records('companies')).map((c) => c.properties.country).sort()).toEqual([
        'FR',
        'FR',
      ]);
    },
  );

  it(
    'accepts and wins the referral of a won deal, and loses the referral of a lost one with ' +
      'its reason',
    async () => {
      const [won, lost] = [createReferral(3), createReferral(4)];
      const cycles = await loop();
      await cycles.run();
      await sim(`/_sim/deals/${(await dealOf(won)).id}/stage`, { stage: 'closedwon' });
      await sim(`/_sim/deals/${(await dealOf(lost)).id}/stage`, {
        stage: 'closedlost',
        closedLostReason: 'Customer chose another vendor',
      });
      expect((await cycles.run()).targetsDown).toEqual([]);
      await cycles.run();
      expect(referral(won)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(referral(lost)).toMatchObject({
        status: 'Closed',
        substatus: 'Lost',
        statusReason: 'Customer chose another vendor',
      });
    },
  );

  it('declines the referral whose contact was marked Unqualified', async () => {
    const id = createReferral(5);
    const cycles = await loop();
    await cycles.run();
    const contactId = (await dealOf(id)).associations.contacts[0];
    await sim(`/_sim/contacts/${contactId}/lead-status`, {
      status: 'UNQUALIFIED',
      declineReason: "Customer didn't respond",
    });
    await cycles.run();
    await cycles.run();
    expect(referral(id)).toMatchObject({ status: 'Closed', substatus: 'Declined' });
  });

  it(
    'duplicates nothing when a cycle fails after the contacts were written but before the ' +
      'deals',
    async () => {
      const ids = [createReferral(6), createReferral(7), createReferral(8)];
      const cycles = await loop();
      await sim(
        '/_sim/faults',
        { rules: [{ kind: '5xx', status: 500, pathContains: '/objects/deals/batch/create' }] },
        'PUT',
      );
      const failed = await cycles.run();
      expect(failed.targetsDown).not.toEqual([]);
      expect(await records('contacts')).toHaveLength(3);
      expect(await records('deals')).toHaveLength(0);
      await fetch(`${hubspot.url}/_sim/faults`, { method: 'DELETE' });
      await cycles.run();
      expect(await records('contacts')).toHaveLength(3);
      expect(await records('companies')).toHaveLength(3);
      const deals = await records('deals');
      expect(deals).toHaveLength(3);
      for (const deal of deals) {
        expect(deal.associations.contacts).toHaveLength(1);
        expect(deal.associations.companies).toHaveLength(1);
      }
      for (const id of ids) expect(referral(id).externalReferenceId).toBe((await dealOf(id)).id);
    },
  );

  it(
    'completes the associations a crash left undone when every record already ' + 'exists',
    async () => {
      createReferral(9);
      const cycles = await loop();
      // The deal create is refused whole, so the deal goes through the upsert path, whose
      // association call then fails: the deal exists, unlinked.
      await sim(
        '/_sim/faults',
        {
          rules: [
            { kind: 'status', refuseStatus: 400, count: 1, pathContains: '/deals/batch/create' },
            { kind: '5xx', status: 500, pathContains: '/associate/default' },
          ],
        },
        'PUT',
      );
      expect((await cycles.run()).targetsDown).not.toEqual([]);
      expect((await records('deals'))[0].associations.contacts).toEqual([]);
      await fetch(`${hubspot.url}/_sim/faults`, { method: 'DELETE' });
      await cycles.run();
      const deals = await records('deals');
      expect(deals).toHaveLength(1);
      expect(deals[0].associations.contacts).toHaveLength(1);
      expect(deals[0].associations.companies).toHaveLength(1);
      expect(await records('contacts')).toHaveLength(1);
    },
  );
});

describe('the loop with all three targets at once', () => {
  let dynamics: DynamicsSimulator;
  let salesforce: SalesforceSimulator;
  beforeEach(async () => {
    dynamics = createDynamicsSimulator({ port: 0 });
    salesforce = createSalesforceSimulator({ port: 0 });
    await Promise.all([dynamics.start(), salesforce.start()]);
  });
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((runtime) => runtime.close()));
    await Promise.all([dynamics.stop(), salesforce.stop()]);
  });

  it(
    'writes each referral to Dynamics 365, Salesforce and HubSpot, and a HubSpot win ' + 'wins it',
    async () => {
      const ids = [createReferral(10), createReferral(11)];
      const cycles = await loop([
        {
          name: 'dynamics',
          kind: 'dynamics365',
          settings: { url: dynamics.url, auth: { kind: 'static', token: 'd365-token' } },
        },
        {
          name: 'salesforce',
          kind: 'salesforce',
          settings: {
            instanceUrl: salesforce.url,
            auth: { kind: 'accessToken', token: 'sf-token' },
          },
        },
        hubspotTarget(),
      ]);
      expect((await cycles.run()).targetsDown).toEqual([]);
      for (const id of ids) {
        expect(dynamics.store.findLeadByKey(id)).toBeDefined();
        expect(await dealOf(id)).toBeDefined();
      }
      const sfLeads = await (await fetch(`${salesforce.url}/_sim/leads`)).json();
      expect(JSON.stringify(sfLeads)).toContain(ids[0]);
      expect(await records('deals')).toHaveLength(2);

      await sim(`/_sim/deals/${(await dealOf(ids[0]!)).id}/stage`, { stage: 'closedwon' });
      expect((await cycles.run()).targetsDown).toEqual([]);
      await cycles.run();
      expect(referral(ids[0]!)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(referral(ids[1]!)).toMatchObject({ status: 'New' });
      expect(await records('deals')).toHaveLength(2);
    },
  );
});

describe('the loop with the deal-only mapping', () => {
  const dealOnly = () => ({ ...hubspotTarget(), mapping: 'bundled:deal-only' });

  it(
    'writes each referral as one deal in one write call per batch, and its stage and decline ' +
      'flow back',
    async () => {
      const [won, declined] = [createReferral(20), createReferral(21)];
      const cycles = await loop([dealOnly()]);
      expect((await cycles.run()).targetsDown).toEqual([]);
      expect(hubspot.writeCalls).toBe(1);
      expect(await records('contacts')).toEqual([]);
      expect(await records('companies')).toEqual([]);
      const deal = await dealOf(won);
      expect(deal.properties).toMatchObject({
        dealname: 'Fabrikam 20: ' + referral(won).name,
        amount: '50000',
        dealstage: 'appointmentscheduled',
      });
      expect(deal.properties.description).toContain('Email: ann20@fabrikam.example');
      expect(referral(won).externalReferenceId).toBe(deal.id);

      await sim(`/_sim/deals/${deal.id}/stage`, { stage: 'closedwon' });
      await sim(
        `/_sim/objects/deals/${(await dealOf(declined)).id}`,
        { properties: { leadbridge_decline_reason: 'Not a customer' } },
        'PATCH',
      );
      expect((await cycles.run()).targetsDown).toEqual([]);
      await cycles.run();
      expect(referral(won)).toMatchObject({ status: 'Closed', substatus: 'Won' });
      expect(referral(declined)).toMatchObject({
        status: 'Closed',
        substatus: 'Declined',
        statusReason: 'Not a customer',
      });
      expect(await records('deals')).toHaveLength(2);
    },
  );

  it('names the bundled mappings when a target asks for one that does not exist', () => {
    const parsed = configSchemaFor(CRM_MODULES).safeParse({
      source: { partnerCenter: { baseUrl: pc.url, auth: { kind: 'static', token: 't' } } },
      targets: [{ ...hubspotTarget(), mapping: 'bundled:deals' }],
      ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
    });
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'targets.0.mapping',
        'hubspot has no bundled mapping "bundled:deals" (bundled: bundled:deal-only; or give a ' +
          "mapping file's path)",
      ],
    ]);
  });
});
