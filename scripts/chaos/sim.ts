// The chaos suite's hands and eyes on the simulators: their /_sim/ admin routes (no faults, no auth
// there).
import type { SimulatorUrls } from './processes.js';

export async function admin<T = unknown>(
  base: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${base}${route} → ${response.status} ${await response.text()}`);
  return (response.status === 204 ? null : await response.json()) as T;
}

/** A referral as the Partner Center simulator's admin list shows it (only what the checks read). */
export interface SimReferral {
  id: string;
  status: string;
  substatus: string;
  externalReferenceId?: string | null;
  [field: string]: unknown;
}

export interface PartnerWrite {
  referralId: string;
  from: string;
  to: string;
}

export async function listReferrals(urls: SimulatorUrls): Promise<SimReferral[]> {
  const page = await admin<{ value: SimReferral[] }>(
    urls['partner-center'],
    'GET',
    '/_sim/referrals?list=true',
  );
  return page.value;
}

export async function partnerWrites(urls: SimulatorUrls): Promise<PartnerWrite[]> {
  return (await admin<{ value: PartnerWrite[] }>(urls['partner-center'], 'GET', '/_sim/writes'))
    .value;
}

/** Dataverse leads (lb_referralid is the alternate key holding the referral id). */
export async function dynamicsLeads(
  urls: SimulatorUrls,
): Promise<Array<{ leadid: string; lb_referralid: string | null }>> {
  return (
    await admin<{ value: Array<{ leadid: string; lb_referralid: string | null }> }>(
      urls.dynamics365,
      'GET',
      '/_sim/leads',
    )
  ).value;
}

export async function salesforceLeads(
  urls: SimulatorUrls,
): Promise<Array<{ Id: string; PartnerReferralId__c: string | null }>> {
  return (
    await admin<{ records: Array<{ Id: string; PartnerReferralId__c: string | null }> }>(
      urls.salesforce,
      'GET',
      '/_sim/leads',
    )
  ).records;
}

/**
 * Fault rules for every API, `rate` of requests in all: a third each 429 (Retry-After 1 s), 5xx
 * (500 / 503)
 * and dropped connections. Admin routes never fail.
 */
export async function injectFaults(urls: SimulatorUrls, rate: number, seed: number): Promise<void> {
  const third = rate / 3;
  // Each rule draws on the requests the previous ones let through, so the shares compound to
  // `rate`.
  const rules = [
    { kind: '429', rate: third, retryAfterSeconds: 1 },
    { kind: '5xx', rate: third / (1 - third), status: 503, retryAfterSeconds: 1 },
    { kind: '5xx', rate: third / (1 - 2 * third) / 2, status: 500 },
    { kind: 'drop', rate: third / 2 / (1 - 2.5 * third) },
  ];
  for (const [i, base] of Object.values(urls).entries())
    await admin(base, 'PUT', '/_sim/faults', { seed: seed + i, rules: rate > 0 ? rules : [] });
}

export async function faultsInjected(urls: SimulatorUrls): Promise<number> {
  let total = 0;
  for (const base of Object.values(urls))
    total += (await admin<{ faultsInjected: number }>(base, 'GET', '/_sim/stats')).faultsInjected;
  return total;
}
