// The pure side of sync states: how a chain of changes moves a row (checked against the table).
import { toIsoTimestamp } from './dialect.js';
import {
  describeRow,
  SYNC_TRANSITIONS,
  type SyncStateChange,
  type SyncStateRow,
} from './sync-state.js';
import { assertMove } from './transitions.js';

/**
 * Pure: the rows that result from applying `changes` in order to `current` (changes to one referral
 * chain).
 * Throws LEDGER_ERROR on the first move that SYNC_TRANSITIONS does not allow; a referral without a
 * row may start anywhere.
 */
export function planSyncStateMoves(
  target: string,
  current: ReadonlyMap<string, SyncStateRow>,
  changes: readonly SyncStateChange[],
  now: string,
): SyncStateRow[] {
  const planned = new Map<string, SyncStateRow>();
  for (const change of changes) {
    const before = planned.get(change.referralId) ?? current.get(change.referralId);
    if (before)
      assertMove(
        SYNC_TRANSITIONS,
        'sync-state',
        before.state,
        change.to,
        describeRow(change.referralId, target),
      );
    planned.set(change.referralId, applySyncStateChange(target, before, change, now));
  }
  return [...planned.values()];
}

/** What each destination state does to the retry bookkeeping. */
function applySyncStateChange(
  target: string,
  before: SyncStateRow | undefined,
  change: SyncStateChange,
  now: string,
): SyncStateRow {
  const base: SyncStateRow = before ?? {
    referralId: change.referralId,
    target,
    state: change.to,
    attempts: 0,
    nextRetryAt: null,
    lastError: null,
    lastErrorCode: null,
    quarantineReason: null,
    updatedAt: now,
    runId: null,
  };
  const moved: SyncStateRow = {
    ...base,
    state: change.to,
    updatedAt: now,
    runId: change.runId ?? base.runId,
    nextRetryAt: null,
  };
  switch (change.to) {
    case 'failed': {
      const nextRetryAt = change.nextRetryAt
        ? toIsoTimestamp(
            change.nextRetryAt,
            `nextRetryAt ${describeRow(change.referralId, target)}`,
          )
        : null;
      return {
        ...moved,
        attempts: base.attempts + 1,
        nextRetryAt,
        lastError: change.error?.message ?? null,
        lastErrorCode: change.error?.code ?? null,
        quarantineReason: null,
      };
    }
    case 'applied':
      return {
        ...moved,
        attempts: 0,
        lastError: null,
        lastErrorCode: null,
        quarantineReason: null,
      };
    case 'quarantined':
      return {
        ...moved,
        lastError: change.error?.message ?? base.lastError,
        lastErrorCode: change.error?.code ?? base.lastErrorCode,
        quarantineReason: change.quarantineReason ?? change.error?.message ?? 'quarantined',
      };
    case 'pending':
      // The last error stays visible while the referral is retried.
      return { ...moved, quarantineReason: null };
  }
}
