// Outcomes a CRM user records (through the simulators' /_sim/ routes), and the Partner Center state
// each must give.
import type { SimulatorUrls } from './processes.js';
import { admin, type SimReferral } from './sim.js';

/**
 * What a user does in which CRM; the status/substatus Partner Center must end in (domain.md, the
 * life cycle).
 */
const PLAYS = [
  { crm: 'dynamics365', act: 'win', expected: 'Closed/Won' },
  { crm: 'dynamics365', act: 'lose', expected: 'Closed/Lost' },
  { crm: 'dynamics365', act: 'disqualify', expected: 'Closed/Declined' },
  { crm: 'salesforce', act: 'win', expected: 'Closed/Won' },
  { crm: 'salesforce', act: 'decline', expected: 'Closed/Declined' },
] as const;

export interface PlannedOutcome {
  referralId: string;
  crm: (typeof PLAYS)[number]['crm'];
  act: (typeof PLAYS)[number]['act'];
  /** status/substatus in Partner Center once the outcome is reported. */
  expected: string;
}

/** The first `count` synced referrals still New, each given the next play in turn. */
export function planOutcomes(referrals: SimReferral[], count: number): PlannedOutcome[] {
  return referrals
    .filter((r) => r.status === 'New')
    .slice(0, count)
    .map((r, i) => ({ referralId: r.id, ...PLAYS[i % PLAYS.length]! }));
}

/** Records every planned outcome in its CRM, as its user would. */
export async function recordOutcomes(
  urls: SimulatorUrls,
  planned: PlannedOutcome[],
): Promise<void> {
  for (const outcome of planned) {
    if (outcome.crm === 'dynamics365') await recordInDynamics(urls.dynamics365, outcome);
    else await recordInSalesforce(urls.salesforce, outcome);
  }
}

async function recordInDynamics(base: string, outcome: PlannedOutcome): Promise<void> {
  const lead = await admin<{ leadid: string }>(
    base,
    'GET',
    `/_sim/leads/by-referral/${encodeURIComponent(outcome.referralId)}`,
  );
  if (outcome.act === 'disqualify') {
    // Disqualified (2) / Lost (4): declined with "Customer chose another vendor" in the bundled
    // mapping.
    await admin(base, 'POST', `/_sim/leads/${lead.leadid}/state`, { statecode: 2, statuscode: 4 });
    return;
  }
  const qualified = await admin<{ value: Array<{ entity: string; opportunityid?: string }> }>(
    base,
    'POST',
    `/_sim/leads/${lead.leadid}/qualify`,
    {},
  );
  const opportunityId = qualified.value.find((row) => row.entity === 'opportunity')?.opportunityid;
  if (!opportunityId) throw new Error(`qualifying lead ${lead.leadid} made no opportunity`);
  // Partner Center needs a deal value and a close date to accept (api-facts.md §1, "Accept").
  await admin(base, 'PATCH', `/_sim/opportunities/${opportunityId}`, {
    estimatedvalue: 25_000,
    estimatedclosedate: '2027-03-31',
  });
  await admin(base, 'POST', `/_sim/opportunities/${opportunityId}/${outcome.act}`, {});
}

async function recordInSalesforce(base: string, outcome: PlannedOutcome): Promise<void> {
  const lead = await admin<{ Id: string }>(
    base,
    'GET',
    `/_sim/leads/by-referral/${encodeURIComponent(outcome.referralId)}`,
  );
  if (outcome.act === 'decline') {
    await admin(base, 'POST', `/_sim/leads/${lead.Id}/status`, {
      status: 'Closed - Not Converted',
    });
    return;
  }
  const converted = await admin<{ opportunityId: string }>(
    base,
    'POST',
    `/_sim/leads/${lead.Id}/convert`,
    { amount: 40_000, closeDate: '2027-04-30' },
  );
  await admin(base, 'POST', `/_sim/opportunities/${converted.opportunityId}/close`, { won: true });
}
