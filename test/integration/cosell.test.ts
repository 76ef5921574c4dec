// Partner-originated deals: a flagged Dynamics opportunity and a flagged Salesforce Opportunity
// each
// become exactly one Partner Center referral, also across a crash after the create; outcomes flow
// back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox } from '../../src/ledger/index.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { dealKey } from '../../src/sync/actions/create-referral.js';
import { createRuntime } from '../../src/cli/compose.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ salesforce: true });
});

afterAll(async () => {
  await harness.close();
});

async function createDynamicsOpportunity(values: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${harness.dynamics.url}/api/data/v9.2/opportunities`, {
    method: 'POST',
    headers: {
      Authorization: 'Bearer d365-token',
      'Content-Type': 'application/json',
      'OData-Version': '4.0',
      'OData-MaxVersion': '4.0',
      Prefer: 'return=representation',
    },
    body: JSON.stringify(values),
  });
  expect(response.status).toBe(201);
  return String(((await response.json()) as { opportunityid: string }).opportunityid);
}

async function createSalesforceOpportunity(values: Record<string, unknown>): Promise<string> {
  const response = await fetch(
    `${harness.salesforce!.url}/services/data/v60.0/sobjects/Opportunity`,
    {
      method: 'POST',
      headers: { Authorization: 'Bearer sf-token', 'Content-Type': 'application/json' },
      body: JSON.stringify(values),
    },
  );
  expect(response.status).toBe(201);
  return String(((await response.json()) as { id: string }).id);
}

const dealsIn = (crmId: string) =>
  harness.pc.store.all().filter((referral) => referral.externalReferenceId === crmId);

describe('co-sell deals from the CRMs', () => {
  let dynamicsId: string;
  let salesforceId: string;

  it(
    'creates one referral per flagged deal, even when the worker dies after the ' + 'create',
    async () => {
      dynamicsId = await createDynamicsOpportunity({
        name: 'Contoso ERP roll-out',
        lb_sharewithmicrosoft: true,
        lb_customername: 'Contoso Ltd',
        lb_customercountry: 'DE',
        estimatedvalue: 120000,
        estimatedclosedate: '2027-03-31',
        description: 'Dynamics 365 Finance for 400 seats',
      });
      salesforceId = await createSalesforceOpportunity({
        Name: 'Fabrikam data platform',
        StageName: 'Prospecting',
        CloseDate: '2027-06-30',
        Amount: 80000,
        Description: 'Azure data platform migration',
        ShareWithMicrosoft__c: true,
        CustomerName__c: 'Fabrikam Inc',
        CustomerCountry__c: 'US',
      });
      // First run: each create lands in Partner Center, then the worker "dies" before the ledger
      // commit.
      const crashing: Runtime = await createRuntime(harness.config, {
        afterDealCreated: () => {
          throw new Error('killed after the create');
        },
      });
      await crashing.syncOnce({ runId: 'crash-run' });
      await crashing.close();
      expect(dealsIn(dynamicsId)).toHaveLength(1);
      expect(dealsIn(salesforceId)).toHaveLength(1);

      const runtime = await harness.runtime();
      await runtime.syncOnce({ runId: 'run-2' });
      await runtime.syncOnce({ runId: 'run-3' });
      expect(dealsIn(dynamicsId)).toHaveLength(1);
      expect(dealsIn(salesforceId)).toHaveLength(1);
      const created = dealsIn(dynamicsId)[0]!;
      expect(created).toMatchObject({
        name: 'Contoso ERP roll-out',
        type: 'Shared',
        qualification: 'SalesQualified',
        status: 'Active',
        substatus: 'Accepted',
        customerProfile: { name: 'Contoso Ltd', address: { country: 'DE' } },
        details: {
          dealValue: 120000,
          currency: 'USD',
          notes: 'Dynamics 365 Finance for 400 seats',
        },
      });
      // The opportunity carries the referral id: from now on it is an ordinary linked record.
      const opportunity = harness.dynamics.store.opportunities.get(dynamicsId)!;
      expect(opportunity.lb_referralid).toBe(created.id);
      const rows = await listOutbox(runtime.ledger.db, dealKey('dynamics', dynamicsId));
      expect(rows.map((row) => row.state)).toEqual(['sent']);
      expect(rows[0]!.attempts).toBe(2);
    },
  );

  it('sends won and lost outcomes of the linked deals to Partner Center', async () => {
    const won = await fetch(`${harness.dynamics.url}/_sim/opportunities/${dynamicsId}/win`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(won.status).toBeLessThan(300);
    const lost = await fetch(
      `${harness.salesforce!.url}/_sim/opportunities/${salesforceId}/close`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ won: false, reason: 'Customer chose another vendor' }),
      },
    );
    expect(lost.status).toBeLessThan(300);
    const runtime = await harness.runtime();
    await runtime.syncOnce({ runId: 'run-outcomes' });
    expect(dealsIn(dynamicsId)[0]).toMatchObject({ status: 'Closed', substatus: 'Won' });
    expect(dealsIn(salesforceId)[0]).toMatchObject({
      status: 'Closed',
      substatus: 'Lost',
      statusReason: 'Customer chose another vendor',
    });
  });

  it('quarantines a deal lacking a required field, names it, sends it once fixed', async () => {
    const id = await createDynamicsOpportunity({
      name: 'Woodgrove pilot',
      lb_sharewithmicrosoft: true,
      lb_customername: 'Woodgrove Bank',
      lb_customercountry: 'GB',
      estimatedvalue: 15000,
      description: 'Pilot',
    });
    // Looked for at every cycle (the default is once a minute).
    const runtime = await harness.runtime((config) => ({
      ...config,
      worker: { ...config.worker, coSellScanSeconds: 0 },
    }));
    await runtime.syncOnce({ runId: 'run-q1' });
    expect(dealsIn(id)).toHaveLength(0);
    const rows = await listOutbox(runtime.ledger.db, dealKey('dynamics', id));
    expect(rows.map((row) => row.state)).toEqual(['quarantined']);
    expect(rows[0]!.lastError).toContain('details.closingDateTime');
    const fixed = await fetch(`${harness.dynamics.url}/_sim/opportunities/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ estimatedclosedate: '2027-01-15' }),
    });
    expect(fixed.status).toBeLessThan(300);
    await runtime.syncOnce({ runId: 'run-q2' });
    expect(dealsIn(id)).toHaveLength(1);
    const after = await listOutbox(runtime.ledger.db, dealKey('dynamics', id));
    expect(after.map((row) => row.state)).toEqual(['superseded', 'sent']);
  });
});
