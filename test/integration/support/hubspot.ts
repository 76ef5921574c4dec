// What the HubSpot simulator holds, read through its /_sim/ routes, and referrals for its tests.
import type { Referral } from '../../../src/simulators/partner-center/payload.js';
import { newCustomerInquiry } from './referrals.js';

/** Every record of one object type (contacts, companies, deals) the simulator holds. */
export async function hubspotRecords(baseUrl: string, type: string): Promise<any[]> {
  const response = await fetch(`${baseUrl}/_sim/objects/${type}`);
  return ((await response.json()) as { results: any[] }).results;
}

/** The deal holding a referral's id, if any. */
export async function hubspotDealOf(baseUrl: string, referralId: string): Promise<any> {
  return (await hubspotRecords(baseUrl, 'deals')).find(
    (deal) => deal.properties.leadbridge_referral_id === referralId,
  );
}

/** A customer inquiry from `company` (numbered n), its person and a deal value in euros. */
export function companyInquiry(
  store: { create(input: Record<string, unknown>): Referral },
  n: number,
  customer: { company: string; city: string; country: string; person: string; domain: string },
  details: { dealValue: number; closingDateTime: string; notes: string },
): string {
  return newCustomerInquiry(store, {
    customerProfile: {
      name: `${customer.company} ${n}`,
      address: { city: customer.city, country: customer.country },
      team: [
        {
          firstName: customer.person,
          lastName: `Buyer ${n}`,
          email: `${customer.person.toLowerCase()}${n}@${customer.domain}`,
        },
      ],
    },
    details: { ...details, currency: 'EUR' },
  }).id;
}

/** A call to a /_sim/ route of the simulator (a user's edit in HubSpot, say); throws if refused. */
export async function hubspotAdmin(
  baseUrl: string,
  route: string,
  body: unknown,
  method = 'POST',
): Promise<void> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${route}: ${response.status} ${await response.text()}`);
}
