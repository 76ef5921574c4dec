// Drains the ledger's outbox: each claimed row goes to its action's handler; a round is recorded in
// one transaction.
import PQueue from 'p-queue';
import { normaliseError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import {
  appendAudit,
  claimOutbox,
  markOutboxMany,
  moveLinkETags,
  upsertLinks,
  type AuditEntry,
  type Ledger,
  type LinkETagMove,
  type LinkUpdate,
  type OutboxMark,
  type OutboxRow,
  type OutboxState,
  type ClaimLease,
} from '../ledger/index.js';

/**
 * Ledger writes that belong to a handled row; they are committed together with the row's new state.
 */
interface OutboxEffects {
  links?: LinkUpdate[];
  /** Referral versions leadbridge itself replaced (see moveLinkETags). */
  eTagMoves?: LinkETagMove[];
  audits?: AuditEntry[];
}

/**
 * What a handler decided for one row: sent, superseded (no longer needed) or failed (retried
 * later).
 */
export type OutboxVerdict = (
  | { state: Extract<OutboxState, 'sent' | 'superseded' | 'quarantined'>; error?: string }
  | { state: 'failed'; error: string; nextAttemptAt?: string }
) & { effects?: OutboxEffects };

export type OutboxHandler = (row: OutboxRow, signal?: AbortSignal) => Promise<OutboxVerdict>;

/** The handler of an outbox `action` value, and the action module its rows are counted under. */
export interface RegisteredHandler {
  kind: string;
  handle: OutboxHandler;
}

export interface DrainOptions {
  runId: string;
  concurrency: number;
  signal?: AbortSignal;
  logger: Logger;
  /**
   * Rows claimed per round (default four per concurrent send). A round's verdicts are recorded
   * together, so a small round keeps what a killed worker loses, and redoes after a re-read, small.
   */
  claimSize?: number;
  /**
   * Each claim names its worker and holds until then (renewed while the cycle runs; see
   * sync/recovery.ts).
   */
  lease?: () => ClaimLease;
}

type VerdictCounts = Record<OutboxVerdict['state'], number>;

export interface DrainStats extends VerdictCounts {
  /** The same counts per action module (its `kind`), counted as each verdict is reached. */
  byKind: Record<string, VerdictCounts>;
}

export function emptyDrainStats(): DrainStats {
  return { sent: 0, failed: 0, superseded: 0, quarantined: 0, byKind: {} };
}

/**
 * Claims and handles outbox rows until none are left (rows that fail now wait for their next
 * attempt).
 */
export async function drainOutbox(
  ledger: Ledger,
  handlers: ReadonlyMap<string, RegisteredHandler>,
  options: DrainOptions,
): Promise<DrainStats> {
  const stats = emptyDrainStats();
  const queue = new PQueue({ concurrency: options.concurrency });
  for (;;) {
    if (options.signal?.aborted) break;
    const rows = await claimOutbox(
      ledger.db,
      options.claimSize ?? Math.max(50, options.concurrency * 4),
      options.runId,
      {
        ...(options.lease ? { lease: options.lease() } : {}),
      },
    );
    if (rows.length === 0) break;
    const verdicts = await queue.addAll(rows.map((row) => () => handleRow(handlers, row, options)));
    await recordRound(ledger, rows, verdicts);
    verdicts.forEach((verdict, i) => {
      const kind = handlers.get((rows[i] as OutboxRow).action)?.kind ?? 'unknown';
      stats[verdict.state]++;
      (stats.byKind[kind] ??= { sent: 0, failed: 0, superseded: 0, quarantined: 0 })[
        verdict.state
      ]++;
    });
  }
  return stats;
}

async function handleRow(
  handlers: ReadonlyMap<string, RegisteredHandler>,
  row: OutboxRow,
  options: DrainOptions,
): Promise<OutboxVerdict> {
  const handler = handlers.get(row.action);
  let verdict: OutboxVerdict;
  if (!handler) {
    verdict = { state: 'failed', error: `no handler for outbox action "${row.action}"` };
  } else {
    try {
      verdict = await handler.handle(row, options.signal);
    } catch (thrown) {
      verdict = { state: 'failed', error: normaliseError(thrown).message };
    }
  }
  if (verdict.state === 'failed') {
    options.logger.warn('outbox item failed; retried later', {
      referralId: row.referralId,
      target: row.target,
      action: row.action,
      error: verdict.error,
    });
  }
  return verdict;
}

/**
 * The round's new states and their effects, in one transaction: a crash before it leaves the rows
 * claimed (sending).
 */
async function recordRound(
  ledger: Ledger,
  rows: OutboxRow[],
  verdicts: OutboxVerdict[],
): Promise<void> {
  const marks: OutboxMark[] = verdicts.map((verdict, i) => ({
    id: (rows[i] as OutboxRow).id,
    to: verdict.state,
    ...(verdict.error ? { error: verdict.error } : {}),
    ...(verdict.state === 'failed' && verdict.nextAttemptAt
      ? { nextAttemptAt: verdict.nextAttemptAt }
      : {}),
  }));
  const links = verdicts.flatMap((v) => v.effects?.links ?? []);
  const moves = verdicts.flatMap((v) => v.effects?.eTagMoves ?? []);
  const audits = verdicts.flatMap((v) => v.effects?.audits ?? []);
  await ledger.transaction(async (trx) => {
    if (links.length > 0) await upsertLinks(trx, links);
    if (moves.length > 0) await moveLinkETags(trx, moves);
    if (audits.length > 0) await appendAudit(trx, audits);
    await markOutboxMany(trx, marks);
  });
}
