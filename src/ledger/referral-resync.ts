// One referral written again on the next cycle (the console's resync button), whatever its state.
import type { Knex } from 'knex';
import { ledgerOperation, nowIso, toIsoTimestamp, toNumber } from './dialect.js';
import { TABLE } from './migrations.js';
import { SYNC_TRANSITIONS } from './sync-state.js';
import { assertMove } from './transitions.js';

/**
 * Makes the referral's row on `target` failed and due at `now` with a fresh attempt budget, so the
 * next cycle
 * re-reads it from Partner Center and writes it (a due retry is decided even when its version was
 * seen).
 * applied goes there through pending, quarantined directly; a pending row (a cycle holds it) is
 * left alone.
 * Returns how many rows moved (0 when the referral has no row on the target).
 */
export async function scheduleReferralResync(
  db: Knex,
  options: { referralId: string; target: string; now: string },
): Promise<number> {
  const reason = 'when scheduling a resync of one referral';
  assertMove(SYNC_TRANSITIONS, 'sync-state', 'applied', 'pending', reason);
  assertMove(SYNC_TRANSITIONS, 'sync-state', 'pending', 'failed', reason);
  assertMove(SYNC_TRANSITIONS, 'sync-state', 'quarantined', 'failed', reason);
  const due = toIsoTimestamp(options.now, 'scheduleReferralResync now');
  return ledgerOperation(`scheduleReferralResync("${options.referralId}")`, async () =>
    toNumber(
      await db(TABLE.syncStates)
        .where({ referral_id: options.referralId, target: options.target })
        .whereIn('state', ['applied', 'quarantined', 'failed'])
        .update({
          state: 'failed',
          attempts: 0,
          next_retry_at: due,
          quarantine_reason: null,
          updated_at: nowIso(),
        }),
    ),
  );
}
