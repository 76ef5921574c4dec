// `leadbridge demo leads`: the walk-through's ids (referral, Dynamics lead, opportunity).
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError } from '../core/errors.js';
import { endpointOf } from './compose.js';

/** One synced referral as the demo's simulators hold it. */
export interface DemoLeadRow {
  referralId: string;
  leadId: string;
  opportunityId: string | null;
  company: string;
  /**
   * Dataverse state of the lead, then of its opportunity: Open, Qualified, Disqualified;
   * opportunity Open, Won, Lost.
   */
  crmState: string;
  /** Partner Center status/substatus, e.g. New/Received, Active/Accepted, Closed/Won. */
  referralStatus: string;
}

// statecode values of Dataverse's lead and opportunity tables (LEAD_STATE / OPPORTUNITY_STATE:
// https://learn.microsoft.com/en-us/previous-versions/aa477355(v=msdn.10),
// .../aa477398(v=msdn.10)).
const LEAD_STATES: Record<number, string> = { 0: 'Open', 1: 'Qualified', 2: 'Disqualified' };
const OPPORTUNITY_STATES: Record<number, string> = { 0: 'Open', 1: 'Won', 2: 'Lost' };

type SimRow = Record<string, unknown>;

/**
 * Reads the simulators' /_sim/ admin routes (no token; only the bundled simulators have them): last
 * changed first.
 */
export async function collectDemoLeads(
  config: LeadbridgeConfig,
  limit: number,
  ids: readonly string[] = [],
): Promise<DemoLeadRow[]> {
  const dynamics = config.targets.find((target) => target.kind === 'dynamics365');
  if (!dynamics) {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      'demo leads needs a dynamics365 target pointing at the Dynamics 365 simulator (the demo ' +
        'config has one)',
    );
  }
  // The walk-through's table is the Dynamics 365 simulator's (its /_sim/ routes), so this command
  // names its kind.
  const crmUrl = endpointOf(dynamics);
  const pcUrl = config.source.partnerCenter.baseUrl.replace(/\/+$/, '');
  const wanted = new Set(ids.map((id) => id.toLowerCase()));
  const leads = (await simRows(`${crmUrl}/_sim/leads`)).filter(
    (lead) =>
      typeof lead.lb_referralid === 'string' &&
      (wanted.size === 0 ||
        [lead.lb_referralid, lead.leadid, lead._qualifyingopportunityid_value].some((id) =>
          wanted.has(String(id).toLowerCase()),
        )),
  );
  const opportunities = new Map(
    (await simRows(`${crmUrl}/_sim/opportunities`)).map((row) => [String(row.opportunityid), row]),
  );
  if (wanted.size > 0 && leads.length === 0) {
    throw new LeadbridgeError(
      'NOT_FOUND',
      `demo leads: no lead in the Dynamics 365 simulator (${crmUrl}) has the referral, lead or ` +
        `opportunity id ${ids.join(', ')}`,
    );
  }
  // The lead a user just qualified (or whose opportunity was just won) comes first: the next step
  // needs its ids.
  const changedOn = (lead: SimRow) => {
    const opportunity = opportunities.get(String(lead._qualifyingopportunityid_value));
    const stamps = [String(lead.modifiedon ?? ''), String(opportunity?.modifiedon ?? '')];
    return stamps.sort().at(-1)!;
  };
  leads.sort(
    (a, b) =>
      changedOn(b).localeCompare(changedOn(a)) || String(a.leadid).localeCompare(String(b.leadid)),
  );
  return Promise.all(leads.slice(0, limit).map((lead) => rowOf(lead, opportunities, pcUrl)));
}

async function rowOf(
  lead: SimRow,
  opportunities: Map<string, SimRow>,
  pcUrl: string,
): Promise<DemoLeadRow> {
  const opportunityId =
    typeof lead._qualifyingopportunityid_value === 'string'
      ? lead._qualifyingopportunityid_value
      : null;
  const opportunity = opportunityId ? opportunities.get(opportunityId) : undefined;
  const referral = await simJson(
    `${pcUrl}/_sim/referrals/${encodeURIComponent(String(lead.lb_referralid))}`,
  ).catch(() => null);
  const leadState = LEAD_STATES[Number(lead.statecode)] ?? String(lead.statecode);
  return {
    referralId: String(lead.lb_referralid),
    leadId: String(lead.leadid),
    opportunityId,
    company: typeof lead.companyname === 'string' ? lead.companyname : '',
    crmState: opportunity
      ? `${leadState}, opportunity ` +
        `${OPPORTUNITY_STATES[Number(opportunity.statecode)] ?? String(opportunity.statecode)}`
      : leadState,
    referralStatus: referral
      ? `${String(referral.status)}/${String(referral.substatus)}`
      : '(not in Partner Center)',
  };
}

const HEADER = [
  'REFERRAL ID',
  'DYNAMICS LEAD ID',
  'OPPORTUNITY ID',
  'COMPANY',
  'CRM STATE',
  'REFERRAL',
];

export function formatDemoLeads(rows: DemoLeadRow[]): string {
  if (rows.length === 0)
    return (
      'no referral has reached the Dynamics 365 simulator yet (the first cycle takes a ' +
      'few seconds)\n'
    );
  const table = [
    HEADER,
    ...rows.map((r) => [
      r.referralId,
      r.leadId,
      r.opportunityId ?? '-',
      r.company,
      r.crmState,
      r.referralStatus,
    ]),
  ];
  const widths = HEADER.map((_, column) =>
    Math.max(...table.map((cells) => cells[column]!.length)),
  );
  return (
    table
      .map((cells) =>
        cells
          .map((cell, column) => cell.padEnd(widths[column]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

async function simRows(url: string): Promise<SimRow[]> {
  const body = await simJson(url);
  return Array.isArray(body.value) ? (body.value as SimRow[]) : [];
}

async function simJson(url: string): Promise<SimRow> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new LeadbridgeError(
      'NETWORK_ERROR',
      `demo leads: ${url} did not answer (${(error as Error).message}); is the demo (npm ` +
        `start) running, and is --config its config?`,
      { cause: error },
    );
  }
  if (!response.ok) {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `demo leads: ${url} answered ${response.status}; demo leads works only against the ` +
        `bundled simulators (npm start or leadbridge simulate)`,
      { status: response.status },
    );
  }
  return (await response.json()) as SimRow;
}
