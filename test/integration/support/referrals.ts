// Referrals as a customer sends them, created in the Partner Center simulator's store for a test.
import type { Referral } from '../../../src/simulators/partner-center/payload.js';

interface ReferralStore {
  create(input: Record<string, unknown>): Referral;
}

/**
 * A New, incoming customer inquiry (a marketplace lead, synced by default), with the fields the
 * test gives.
 */
export function newCustomerInquiry(
  store: ReferralStore,
  fields: Record<string, unknown> = {},
): Referral {
  return store.create({
    type: 'Independent',
    qualification: 'Direct',
    direction: 'Incoming',
    inviteContext: null,
    status: 'New',
    substatus: 'Received',
    ...fields,
  });
}
