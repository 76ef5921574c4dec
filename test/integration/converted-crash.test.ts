// Converted / qualified CRM leads and the crash window: an accept applied in Partner Center but
// never recorded.
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, getLinks, getSyncStates } from '../../src/ledger/index.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import { LEAD } from '../../src/simulators/salesforce/index.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { drainOutboxActions } from '../../src/sync/actions/index.js';
import { OutboundSync } from '../../src/sync/outbound.js';
import { emptyOutboundStats } from '../../src/sync/types.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

let harness: Harness;
afterEach(async () => harness?.close());

const REFERRALS_API = '/v1.0/engagements/referrals/';

function inquiry(company: string, deal: string): Referral {
  return newCustomerInquiry(harness.pc.store, {
    name: deal,
    customerProfile: {
      name: company,
      size: '51to250employees',
      team: [{ firstName: 'Eva', lastName: 'Brandt', email: 'eva@litware.example' }],
    },
    details: {
      notes: 'Wants a penetration test of the web shop.',
      dealValue: 20_000,
      currency: 'EUR',
      closingDateTime: '2027-03-31T00:00:00Z',
    },
  });
}

async function admin(url: string, method: 'POST' | 'PATCH', path: string, body: unknown = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

function sfLeadOf(referralId: string): Record<string, unknown> {
  const field = LEAD.fieldsByLowerName.get('partnerreferralid__c')!;
  return harness.salesforce!.store.findByExternalId(LEAD, field, referralId)[0]!;
}

async function convertInSalesforce(referralId: string): Promise<string> {
  const converted = await admin(
    harness.salesforce!.url,
    'POST',
    `/_sim/leads/${String(sfLeadOf(referralId).Id)}/convert`,
    { amount: 60_000, closeDate: '2027-04-30' },
  );
  return String((converted.opportunity as Record<string, unknown>).Id);
}

async function qualifyInDynamics(referralId: string): Promise<string> {
  const lead = harness.dynamics.store.findLeadByKey(referralId)!;
  const url = harness.dynamics.url;
  const qualified = await admin(url, 'POST', `/_sim/leads/${String(lead.leadid)}/qualify`);
  const opportunity = (qualified.value as Array<Record<string, unknown>>).find(
    (row) => row.entity === 'opportunity',
  )!;
  const id = String(opportunity.opportunityid);
  await admin(url, 'PATCH', `/_sim/opportunities/${id}`, {
    estimatedclosedate: '2027-02-28',
    estimatedvalue: 35_000,
  });
  return id;
}

/**
 * The worker is killed right after Partner Center applied an accept: the verdict and new eTag are
 * never recorded.
 */
async function acceptThenDie(runtime: Runtime): Promise<void> {
  const real = runtime.source;
  const dying = Object.assign(Object.create(real) as Runtime['source'], {
    async accept(...args: Parameters<Runtime['source']['accept']>) {
      await real.accept(...args);
      throw new Error('worker killed after the Partner Center write');
    },
  });
  const { ledger, targets } = runtime;
  const killed = new OutboundSync({ ledger, source: dying, targets });
  expect(await killed.collect({ runId: 'killed' })).toMatchObject({ enqueued: 1 });
  const drained = emptyOutboundStats();
  await drainOutboxActions(
    { ledger, source: dying, targets, runId: 'killed', concurrency: 8 },
    drained,
  );
  expect(drained).toMatchObject({ sent: 0 });
}

function patchesOf(referralId: string): number {
  return harness.pc.server
    .requests()
    .filter((r) => r.method === 'PATCH' && r.path.startsWith(`${REFERRALS_API}${referralId}`))
    .filter((r) => r.status >= 200 && r.status < 300).length;
}

async function statesOf(runtime: Runtime, target: string, id: string) {
  return (await getSyncStates(runtime.ledger.db, target, [id])).get(id)?.state;
}

describe('converted leads after a crash between the Partner Center write and the ledger', () => {
  it(
    'Salesforce: the accept of a converted lead, applied but unrecorded, is not written back ' +
      'into either CRM',
    async () => {
      harness = await startHarness({ salesforce: true });
      const referral = inquiry('Contoso Pharma', 'Cloud migration');
      const first = await harness.runtime();
      await first.syncOnce({ runId: 'initial' });
      const dynamicsBefore = { ...harness.dynamics.store.findLeadByKey(referral.id)! };
      const opportunityId = await convertInSalesforce(referral.id);
      await acceptThenDie(first);
      expect(harness.pc.store.get(referral.id)).toMatchObject({
        status: 'Active',
        name: 'Contoso Pharma',
      });
      await first.close();

      const restarted = await harness.runtime();
      const after = await restarted.syncOnce({ runId: 'after-restart' });
      // Our own accept is recognised (echoes recorded before the send): nothing to write in
      // Dynamics
      // ...
      expect(after.inbound.byTarget.dynamics).toMatchObject({
        updated: 0,
        unchanged: 1,
        failed: 0,
      });
      // ... and the converted Salesforce lead is skipped with the reason, not quarantined.
      expect(after.inbound.byTarget.salesforce).toMatchObject({
        skippedConverted: 1,
        failed: 0,
        quarantined: 0,
      });
      const { subject, description } = harness.dynamics.store.findLeadByKey(referral.id)!;
      expect({ subject, description }).toEqual({
        subject: dynamicsBefore.subject,
        description: dynamicsBefore.description,
      });
      expect(await statesOf(restarted, 'salesforce', referral.id)).toBe('applied');
      expect((await auditTrail(restarted.ledger.db, referral.id)).at(-1)).toMatchObject({
        action: 'skipped-converted',
        target: 'salesforce',
        detail: {
          reason:
            `the CRM lead ${String(sfLeadOf(referral.id).Id)} was converted into ` +
            `opportunity ${opportunityId}; a converted lead takes no more changes`,
        },
      });
      // One write-back and one accept: the accept was not sent a second time.
      expect(patchesOf(referral.id)).toBe(2);
    },
  );

  it(
    'Salesforce: a lead converted after our last read is skipped from its save error, and ' +
      'stays so for later edits',
    async () => {
      harness = await startHarness({ salesforce: true });
      const referral = inquiry('Fabrikam Ltd', 'Data platform');
      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'initial' });
      await convertInSalesforce(referral.id);
      harness.pc.store.update(referral.id, { customerProfile: { name: 'Fabrikam Holdings' } });
      // Inbound alone: the outbound read has not seen the conversion yet, so the CRM's refusal
      // tells.
      const inbound = await runtime.inbound.runCycle({ runId: 'edit-1' });
      expect(inbound.byTarget.salesforce).toMatchObject({
        skippedConverted: 1,
        failed: 0,
        quarantined: 0,
      });
      const link = (await getLinks(runtime.ledger.db, 'salesforce', [referral.id])).get(
        referral.id,
      );
      expect(link?.crmConvertedInto).toBe('');
      expect((await auditTrail(runtime.ledger.db, referral.id)).at(-1)).toMatchObject({
        action: 'skipped-converted',
        detail: { error: { code: 'CANNOT_UPDATE_CONVERTED_LEAD' } },
      });
      for (let edit = 2; edit <= 7; edit++) {
        harness.pc.store.update(referral.id, { customerProfile: { name: `Fabrikam ${edit}` } });
        const cycle = await runtime.syncOnce({ runId: `edit-${edit}` });
        expect(cycle.inbound.byTarget.salesforce).toMatchObject({ skippedConverted: 1, failed: 0 });
        // The Dynamics lead is open: the customer's data reaches it.
        expect(harness.dynamics.store.findLeadByKey(referral.id)?.companyname).toBe(
          `Fabrikam ${edit}`,
        );
      }
      expect(await statesOf(runtime, 'salesforce', referral.id)).toBe('applied');
      const trail = await auditTrail(runtime.ledger.db, referral.id);
      expect(trail.filter((e) => e.action === 'quarantined' || e.action === 'failed')).toEqual([]);
      // The outbound read named the opportunity meanwhile.
      const named = (await getLinks(runtime.ledger.db, 'salesforce', [referral.id])).get(
        referral.id,
      );
      expect(named?.crmConvertedInto).toBe(String(sfLeadOf(referral.id).ConvertedOpportunityId));
    },
  );

  it(
    'Dynamics: the accept of a qualified lead, applied but unrecorded, then a real edit: ' +
      'skipped, never quarantined',
    async () => {
      harness = await startHarness();
      const referral = inquiry('Litware GmbH', 'Security assessment');
      const first = await harness.runtime();
      await first.syncOnce({ runId: 'initial' });
      const opportunityId = await qualifyInDynamics(referral.id);
      await acceptThenDie(first);
      expect(harness.pc.store.get(referral.id)).toMatchObject({
        status: 'Active',
        name: 'Litware GmbH – Security assessment',
      });
      await first.close();

      const restarted = await harness.runtime();
      const lead = { ...harness.dynamics.store.findLeadByKey(referral.id)! };
      const echo = await restarted.syncOnce({ runId: 'after-restart' });
      expect(echo.inbound.byTarget.dynamics).toMatchObject({ skippedConverted: 1, updated: 0 });
      harness.pc.store.update(referral.id, { customerProfile: { name: 'Litware Group' } });
      const edited = await restarted.syncOnce({ runId: 'edited' });
      expect(edited.inbound.byTarget.dynamics).toMatchObject({
        skippedConverted: 1,
        updated: 0,
        failed: 0,
        quarantined: 0,
      });
      expect(harness.dynamics.store.findLeadByKey(referral.id)).toMatchObject({
        subject: lead.subject,
        companyname: lead.companyname,
        statecode: 1,
      });
      expect((await auditTrail(restarted.ledger.db, referral.id)).at(-1)).toMatchObject({
        action: 'skipped-converted',
        detail: {
          reason:
            `the CRM lead ${String(lead.leadid)} was converted into opportunity ` +
            `${opportunityId}; a converted lead takes no more changes`,
        },
      });
      expect(patchesOf(referral.id)).toBe(2);
    },
  );

  it(
    'both CRMs, leads still open: an unrecorded accept is recognised as our own write (no CRM ' +
      'update)',
    async () => {
      harness = await startHarness({ salesforce: true });
      const referral = inquiry('Northwind Traders', 'Endpoint rollout');
      const first = await harness.runtime();
      await first.syncOnce({ runId: 'initial' });
      await admin(
        harness.salesforce!.url,
        'POST',
        `/_sim/leads/${String(sfLeadOf(referral.id).Id)}/status`,
        {
          status: 'Working - Contacted',
        },
      );
      const written = {
        dynamics: harness.dynamics.store.findLeadByKey(referral.id)!.description,
        salesforce: sfLeadOf(referral.id).Description,
      };
      await acceptThenDie(first);
      // Partner Center now holds the CRM's text as the accept notes: mapping it back would nest it.
      expect(harness.pc.store.get(referral.id)?.details?.notes).toBe(written.salesforce);
      await first.close();

      const restarted = await harness.runtime();
      const after = await restarted.syncOnce({ runId: 'after-restart' });
      expect(after.inbound.byTarget.dynamics).toMatchObject({ updated: 0, unchanged: 1 });
      expect(after.inbound.byTarget.salesforce).toMatchObject({ updated: 0, unchanged: 1 });
      expect(harness.dynamics.store.findLeadByKey(referral.id)!.description).toBe(written.dynamics);
      expect(sfLeadOf(referral.id).Description).toBe(written.salesforce);
    },
  );
});
