// What leadbridge writes to a referral on accept (deal name, notes, value, close date) never comes
// back into the CRM fields it came from.
import { afterEach, describe, expect, it } from 'vitest';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import { LEAD } from '../../src/simulators/salesforce/index.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

let harness: Harness;
afterEach(async () => harness?.close());

/** An incoming customer inquiry as a customer would send it. */
function inquiry(company: string, deal: string, notes: string): Referral {
  return newCustomerInquiry(harness.pc.store, {
    name: deal,
    customerProfile: {
      name: company,
      size: '51to250employees',
      team: [
        {
          firstName: 'Eva',
          lastName: 'Brandt',
          email: 'eva@litware.example',
          phoneNumber: '+49 30 1234567',
        },
      ],
    },
    details: {
      notes,
      dealValue: 20_000,
      currency: 'EUR',
      closingDateTime: '2027-03-31T00:00:00Z',
      requirements: {
        products: [{ id: 'Microsoft Defender' }],
        industries: [],
        services: [],
        solutions: [],
      },
    },
  });
}

async function admin(
  url: string,
  method: 'POST' | 'PATCH',
  path: string,
  body: unknown = {},
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** The CRM text fields the mappings fill from the referral's deal name and notes. */
function crmText(id: string) {
  const lead = harness.dynamics.store.findLeadByKey(id)!;
  const sfLead = harness.salesforce!.store.findByExternalId(
    LEAD,
    LEAD.fieldsByLowerName.get('partnerreferralid__c')!,
    id,
  )[0]!;
  return {
    subject: lead.subject,
    description: lead.description,
    estimatedvalue: lead.estimatedvalue,
    Company: sfLead.Company,
    Description: sfLead.Description,
  };
}

/**
 * A change on Microsoft's side (a new phone number): the next inbound pass maps the referral again.
 */
function customerEdit(id: string, phoneNumber: string): void {
  const team = [{ ...harness.pc.store.get(id)!.customerProfile!.team![0]!, phoneNumber }];
  harness.pc.store.update(id, {
    customerProfile: { ...harness.pc.store.get(id)!.customerProfile, team },
  });
}

const LITWARE = {
  subject: 'Litware GmbH – Security assessment',
  description:
    'Wants a penetration test of the web shop.\n\nProducts: Microsoft Defender\nCustomer size: ' +
    '51to250employees',
  estimatedvalue: 20_000,
  Company: 'Litware GmbH',
  Description:
    'Wants a penetration test of the web shop.\n\nDeal: Security assessment\nProducts: ' +
    'Microsoft Defender\nEstimated value: 20000',
};
const LITWARE_SALESFORCE_NOTES =
  'Wants a penetration test of the web shop.\n\nDeal: Security assessment\nProducts: Microsoft ' +
  'Defender\nEstimated value: 20000';
const CONTOSO = {
  subject: 'Contoso Pharma – Cloud migration',
  description:
    'Moves 40 servers to Azure this year.\n\nProducts: Microsoft Defender\nCustomer size: ' +
    '51to250employees',
  estimatedvalue: 20_000,
  Company: 'Contoso Pharma',
  Description:
    'Moves 40 servers to Azure this year.\n\nDeal: Cloud migration\nProducts: Microsoft ' +
    'Defender\nEstimated value: 20000',
};

describe(
  'accept echo: the deal fields leadbridge writes to Partner Center are not mapped ' + 'back',
  () => {
    it(
      'accept (Dynamics) → inbound → accept (Salesforce) → inbound leaves the CRM text as the ' +
        'customer’s referral made it',
      async () => {
        harness = await startHarness({ referrals: 0, salesforce: true });
        const viaDynamics = inquiry(
          'Litware GmbH',
          'Security assessment',
          'Wants a penetration test of the web shop.',
        );
        const viaSalesforce = inquiry(
          'Contoso Pharma',
          'Cloud migration',
          'Moves 40 servers to Azure this year.',
        );
        const runtime: Runtime = await harness.runtime();
        await runtime.syncOnce({ runId: 'initial' });
        expect(crmText(viaDynamics.id)).toEqual(LITWARE);
        expect(crmText(viaSalesforce.id)).toEqual(CONTOSO);

        // Dynamics: qualify (the opportunity takes the lead's subject and description), give it a
        // close
        // date and value.
        const lead = harness.dynamics.store.findLeadByKey(viaDynamics.id)!;
        const qualified = await admin(
          harness.dynamics.url,
          'POST',
          `/_sim/leads/${String(lead.leadid)}/qualify`,
        );
        const opportunity = (qualified.value as Array<Record<string, unknown>>).find(
          (row) => row.entity === 'opportunity',
        )!;
        await admin(
          harness.dynamics.url,
          'PATCH',
          `/_sim/opportunities/${String(opportunity.opportunityid)}`,
          { estimatedclosedate: '2027-02-28', estimatedvalue: 35_000 },
        );
        await runtime.syncOnce({ runId: 'accept-dynamics' });
        expect(harness.pc.store.get(viaDynamics.id)).toMatchObject({
          status: 'Active',
          name: 'Litware GmbH – Security assessment',
          details: { notes: LITWARE.description, dealValue: 35_000 },
        });

        customerEdit(viaDynamics.id, '+49 30 7654321');
        customerEdit(viaSalesforce.id, '+1 425 555 0100');
        const inbound1 = await runtime.syncOnce({ runId: 'inbound-1' });
        // The qualified Litware lead lives on as its opportunity: the change is skipped there, with
        // the
        // reason.
        expect(inbound1.inbound.byTarget.dynamics).toMatchObject({
          updated: 1,
          skippedConverted: 1,
          failed: 0,
          quarantined: 0,
        });
        expect(harness.dynamics.store.findLeadByKey(viaSalesforce.id)?.telephone1).toBe(
          '+1 425 555 0100',
        );
        expect(crmText(viaDynamics.id)).toEqual(LITWARE);
        expect(crmText(viaSalesforce.id)).toEqual(CONTOSO);

        // Salesforce: convert (the opportunity is named after the company, as Salesforce does by
        // default).
        const sfLead = harness.salesforce!.store.findByExternalId(
          LEAD,
          LEAD.fieldsByLowerName.get('partnerreferralid__c')!,
          viaSalesforce.id,
        )[0]!;
        await admin(harness.salesforce!.url, 'POST', `/_sim/leads/${String(sfLead.Id)}/convert`, {
          amount: 60_000,
          closeDate: '2027-04-30',
        });
        await runtime.syncOnce({ runId: 'accept-salesforce' });
        expect(harness.pc.store.get(viaSalesforce.id)).toMatchObject({
          status: 'Active',
          name: 'Contoso Pharma',
          details: { notes: CONTOSO.Description, dealValue: 60_000 },
        });

        customerEdit(viaDynamics.id, '+49 30 1111111');
        customerEdit(viaSalesforce.id, '+1 425 555 0199');
        const inbound2 = await runtime.syncOnce({ runId: 'inbound-2' });
        expect(inbound2.inbound.byTarget.dynamics).toMatchObject({
          updated: 1,
          skippedConverted: 1,
          failed: 0,
          quarantined: 0,
        });
        // The Litware lead in Salesforce is mapped again too; the converted Contoso lead is
        // skipped,
        // not quarantined.
        expect(inbound2.inbound.byTarget.salesforce).toMatchObject({
          updated: 1,
          skippedConverted: 1,
          failed: 0,
          quarantined: 0,
        });
        expect(harness.dynamics.store.findLeadByKey(viaSalesforce.id)?.telephone1).toBe(
          '+1 425 555 0199',
        );
        expect(crmText(viaDynamics.id)).toEqual(LITWARE);
        expect(crmText(viaSalesforce.id)).toEqual(CONTOSO);
      },
    );

    it('a later change by someone else to an accepted field is mapped as usual', async () => {
      harness = await startHarness({ referrals: 0, salesforce: true });
      const referral = inquiry(
        'Litware GmbH',
        'Security assessment',
        'Wants a penetration test of the web shop.',
      );
      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'initial' });
      // Accepted in Salesforce without converting: the leads stay open in both CRMs and take
      // changes.
      const sfLead = harness.salesforce!.store.findByExternalId(
        LEAD,
        LEAD.fieldsByLowerName.get('partnerreferralid__c')!,
        referral.id,
      )[0]!;
      await admin(harness.salesforce!.url, 'POST', `/_sim/leads/${String(sfLead.Id)}/status`, {
        status: 'Working - Contacted',
      });
      await runtime.syncOnce({ runId: 'accept' });
      expect(harness.pc.store.get(referral.id)).toMatchObject({
        status: 'Active',
        details: { notes: LITWARE_SALESFORCE_NOTES },
      });

      // Microsoft renames the deal in Partner Center: that is news, and the CRM gets it; the notes
      // we
      // wrote are not.
      harness.pc.store.update(referral.id, { name: 'Security assessment and SOC' });
      await runtime.syncOnce({ runId: 'renamed' });
      expect(harness.dynamics.store.findLeadByKey(referral.id)?.subject).toBe(
        'Litware GmbH – Security assessment and SOC',
      );
      expect(harness.dynamics.store.findLeadByKey(referral.id)?.description).toBe(
        LITWARE.description,
      );
    });
  },
);
