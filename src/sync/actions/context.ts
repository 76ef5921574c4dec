// What every outbox action's handler works with (the ledger port, the source, the targets) and the
// verdicts they share.
import {
  ConflictError,
  isLeadbridgeError,
  normaliseError,
  type LeadbridgeError,
} from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { nextRetryAt } from '../../core/retry.js';
import { referralVersionForms, type Referral } from '../../core/referral.js';
import {
  enqueueOutcomes,
  getEchoes,
  getLinks,
  upsertEchoes,
  type AuditEntry,
  type Ledger,
  type Link,
  type LinkETagMove,
  type OutboxRow,
  type OutcomeToSend,
  type ReferralEcho,
} from '../../ledger/index.js';
import type { OutboxHandler, OutboxVerdict } from '../outbox.js';
import type { DealWriter } from './create-referral.js';
import type { OutboundStats, OutcomeWriter, ReferralSource, SyncTarget } from '../types.js';

/**
 * What handlers read from the ledger, and the one write they make outside the drain's transaction.
 */
export interface HandlerLedger {
  /** The referral's links on these targets (those that exist). */
  linksOf(referralId: string, targets: readonly string[]): Promise<Link[]>;
  /** Records outbox rows (deduplicated); returns how many were new. */
  enqueue(rows: OutcomeToSend[]): Promise<number>;
  /** The values leadbridge wrote into the referral earlier (see sync/echo.ts). */
  echoesOf(referralId: string): Promise<ReferralEcho[]>;
  /**
   * Records what an accept is about to write, before it is sent (an upsert: a resend records the
   * same).
   */
  recordEchoes(echoes: ReferralEcho[]): Promise<void>;
}

export function handlerLedger(ledger: Ledger): HandlerLedger {
  return {
    async linksOf(referralId, targets) {
      const found = await Promise.all(
        [...new Set(targets)].map(async (target) =>
          (await getLinks(ledger.db, target, [referralId])).get(referralId),
        ),
      );
      return found.filter((link): link is Link => link !== undefined);
    },
    enqueue: (rows) => enqueueOutcomes(ledger.db, rows),
    echoesOf: async (referralId) =>
      (await getEchoes(ledger.db, [referralId])).get(referralId) ?? [],
    recordEchoes: (echoes) => upsertEchoes(ledger.db, echoes),
  };
}

export interface ActionContext {
  ledger: HandlerLedger;
  source: ReferralSource & OutcomeWriter;
  targets: ReadonlyMap<string, SyncTarget>;
  /** Creates partner-originated referrals (create-referral); absent in runtimes without co-sell. */
  deals?: DealWriter;
  logger: Logger;
  /**
   * Counters of the cycle the handlers run in (conflicts, expiries reflected; the drain counts
   * verdicts).
   */
  stats: OutboundStats;
  /** A row whose send keeps failing is quarantined at this attempt. */
  maxAttempts: number;
  now: () => Date;
}

/**
 * 412 (the referral changed since it was read) or 409 (archived meanwhile): read again, re-decide.
 */
export function isWriteConflict(error: unknown): error is LeadbridgeError {
  return error instanceof ConflictError || (isLeadbridgeError(error) && error.status === 409);
}

/** The audit entry of one handled row. */
export function audit(
  context: ActionContext,
  row: OutboxRow,
  action: string,
  crmRecordId: string | null,
  detail: Record<string, unknown>,
): AuditEntry {
  return {
    at: context.now().toISOString(),
    runId: row.runId ?? 'outbox',
    referralId: row.referralId,
    target: row.target,
    action,
    crmRecordId,
    detail,
  };
}

/**
 * A 412 met: audited and counted; the caller reads again and re-plans (core/retry.ts
 * CONFLICT_REREADS).
 */
export function conflictAudit(
  context: ActionContext,
  row: OutboxRow,
  crmRecordId: string | null,
  detail: Record<string, unknown>,
): AuditEntry {
  context.stats.conflicts++;
  context.logger.warn('write met a conflict; reading again', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
  });
  return audit(context, row, 'conflict', crmRecordId, {
    ...detail,
    policy:
      'Partner Center wins for customer data, the CRM for the outcome: re-read and re-planned',
  });
}

export function quarantined(
  context: ActionContext,
  row: OutboxRow,
  reason: string,
  audits: AuditEntry[],
): OutboxVerdict {
  context.logger.warn('outcome quarantined', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
    reason,
  });
  return {
    state: 'quarantined',
    error: reason,
    effects: {
      audits: [
        ...audits,
        audit(context, row, 'outcome-quarantined', null, { action: row.action, reason }),
      ],
    },
  };
}

/** Failed for now: tried again after the backoff of core/retry.ts (nextRetryAt). */
export function failed(
  context: ActionContext,
  row: OutboxRow,
  message: string,
  audits: AuditEntry[],
): OutboxVerdict {
  const entry = audit(context, row, 'outcome-failed', null, {
    action: row.action,
    message,
    attempts: row.attempts,
  });
  return {
    state: 'failed',
    error: message,
    nextAttemptAt: nextRetryAt(context.now(), row.attempts),
    effects: { audits: [...audits, entry] },
  };
}

/**
 * A handler that settles what it throws: a failure becomes a failed verdict with a backoff, except
 * a record that no longer exists (404) or a row that failed maxAttempts times: those are
 * quarantined.
 */
export function settlingThrown(context: ActionContext, handler: OutboxHandler): OutboxHandler {
  return async (row, signal) => {
    try {
      return await handler(row, signal);
    } catch (thrown) {
      const error = normaliseError(thrown);
      if (error.code === 'NOT_FOUND')
        return quarantined(
          context,
          row,
          `${row.action} found nothing to write to: ${error.message}`,
          [],
        );
      if (row.attempts >= context.maxAttempts)
        return quarantined(
          context,
          row,
          `${row.action} failed ${row.attempts} times: ${error.message}`,
          [],
        );
      return failed(context, row, error.message, []);
    }
  };
}

/**
 * Link moves from each recorded form of `before` (eTag, updatedDateTime) to the same form of
 * `after`.
 */
export function versionMoves(
  referralId: string,
  before: Referral,
  after: Referral,
): LinkETagMove[] {
  const from = referralVersionForms(before);
  const to = referralVersionForms(after);
  const moves: LinkETagMove[] = [];
  if (before.eTag && after.eTag)
    moves.push({
      referralId,
      fromETag: from[0]!,
      toETag: to[0]!,
      updatedAt: after.updatedDateTime,
    });
  moves.push({
    referralId,
    fromETag: from[from.length - 1]!,
    toETag: to[to.length - 1]!,
    updatedAt: after.updatedDateTime,
  });
  return moves;
}
