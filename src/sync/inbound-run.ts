// What one inbound cycle keeps per target (its write buffer, watermark, cursor) and the steps
// share.
import type { LeadbridgeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { referralVersion } from '../core/referral.js';
import { compareInstants } from '../core/time.js';
import {
  setCursor,
  type AuditEntry,
  type Link,
  type SyncStateRow,
  type transitionSyncStates,
} from '../ledger/index.js';
import type { InboundSyncOptions } from './inbound.js';
import { inboundCursorName, type ReferralWithKind, type SyncTarget } from './types.js';
import type { WatermarkTracker } from './watermark.js';

/**
 * What the steps of the inbound cycle read: the engine's options, logger, clock and attempt budget.
 */
export interface InboundContext {
  options: InboundSyncOptions;
  logger: Logger;
  maxAttempts: number;
  now: () => Date;
}

export interface PendingWrite {
  /** The stream page it came from, or null for a due retry (which does not hold the cursor). */
  pageIndex: number | null;
  item: ReferralWithKind;
  fields: Record<string, unknown>;
  hash: string;
  link: Link | undefined;
  state: SyncStateRow | undefined;
}

export interface TargetRun {
  target: SyncTarget;
  tracker: WatermarkTracker;
  buffer: PendingWrite[];
  /**
   * Set when the CRM failed as a whole: the target sits out the rest of the cycle, its cursor held.
   */
  down: LeadbridgeError | null;
  cursor: string | null;
}

/** The ledger writes of a page (or a flushed batch), committed in one transaction. */
export interface PageRecord {
  links: Array<Partial<Link> & { referralId: string; target: string }>;
  transitions: Parameters<typeof transitionSyncStates>[2];
  audits: AuditEntry[];
}

export function emptyPageRecord(): PageRecord {
  return { links: [], transitions: [], audits: [] };
}

/** Moves the target's cursor to its safe watermark (never backwards). */
export async function saveCursor(
  db: Parameters<typeof setCursor>[0],
  run: TargetRun,
): Promise<void> {
  const safe = run.tracker.safeWatermark();
  if (safe && (run.cursor === null || compareInstants(safe, run.cursor) > 0)) {
    await setCursor(db, inboundCursorName(run.target.name), safe);
    run.cursor = safe;
  }
}

/** The link columns that record which referral version a target has seen. */
export function versionColumns(item: ReferralWithKind, target: string) {
  return {
    referralId: item.referral.id,
    target,
    referralETag: referralVersion(item.referral),
    referralUpdatedAt: item.referral.updatedDateTime,
    referralStatus: item.referral.status,
    leadKind: item.leadKind,
  };
}
