// What the console needs of each referral read (customer, hot, answered), kept as pages arrive.
import type { Knex } from 'knex';
import { recordReferralFacts, type ReferralSighting } from '../ledger/index.js';
import type { ReferralWithKind } from './types.js';

/** Substatuses that mean a person answered (accept or decline); expiry is not an answer. */
const ANSWERED_SUBSTATUSES = new Set(['Accepted', 'Declined', 'Won', 'Lost']);

function sightingOf(
  { referral, leadKind, hot }: ReferralWithKind,
  readAt: string,
): ReferralSighting {
  return {
    referralId: referral.id,
    customerName: referral.customerProfile?.name ?? null,
    leadKind,
    hot,
    status: referral.status ?? null,
    substatus: referral.substatus ?? null,
    receivedAt: referral.createdDateTime ?? readAt,
    answered:
      referral.status === 'Active' || ANSWERED_SUBSTATUSES.has(String(referral.substatus ?? '')),
    referralUpdatedAt: referral.updatedDateTime,
  };
}

/** Records the page's referrals; the cycle calls it for every page it reads. */
export async function noteReferrals(
  db: Knex,
  items: readonly ReferralWithKind[],
  now: Date = new Date(),
): Promise<void> {
  await recordReferralFacts(
    db,
    items.map((item) => sightingOf(item, now.toISOString())),
  );
}
