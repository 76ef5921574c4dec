// Drains the ledger's outbox: each claimed row goes to the handler for its action, a few at a time.
import PQueue from 'p-queue';
import { normaliseError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { claimOutbox, markOutbox, type Ledger, type OutboxRow, type OutboxState } from '../ledger/index.js';

/** What a handler decided for one row: sent, superseded (no longer needed) or failed (retried later). */
export type OutboxVerdict = { state: Extract<OutboxState, 'sent' | 'superseded' | 'quarantined'> } | { state: 'failed'; error: string };

export type OutboxHandler = (row: OutboxRow, signal?: AbortSignal) => Promise<OutboxVerdict>;

export interface DrainOptions {
  runId: string;
  concurrency: number;
  signal?: AbortSignal;
  logger: Logger;
  /** Rows claimed per round. */
  claimSize?: number;
}

export interface DrainStats {
  sent: number;
  failed: number;
  superseded: number;
  quarantined: number;
}

/** Claims and handles outbox rows until none are left (rows that fail now wait for the next cycle). */
export async function drainOutbox(
  ledger: Ledger,
  handlers: Readonly<Record<string, OutboxHandler>>,
  options: DrainOptions,
): Promise<DrainStats> {
  const stats: DrainStats = { sent: 0, failed: 0, superseded: 0, quarantined: 0 };
  const queue = new PQueue({ concurrency: options.concurrency });
  for (;;) {
    if (options.signal?.aborted) break;
    const rows = await claimOutbox(ledger.db, options.claimSize ?? 500, options.runId);
    if (rows.length === 0) break;
    await queue.addAll(rows.map((row) => () => handleRow(ledger, handlers, row, options, stats)));
  }
  return stats;
}

async function handleRow(
  ledger: Ledger,
  handlers: Readonly<Record<string, OutboxHandler>>,
  row: OutboxRow,
  options: DrainOptions,
  stats: DrainStats,
): Promise<void> {
  const handler = handlers[row.action];
  let verdict: OutboxVerdict;
  if (!handler) {
    verdict = { state: 'failed', error: `no handler for outbox action "${row.action}"` };
  } else {
    try {
      verdict = await handler(row, options.signal);
    } catch (thrown) {
      const error = normaliseError(thrown);
      verdict = { state: 'failed', error: error.message };
    }
  }
  if (verdict.state === 'failed') {
    options.logger.warn('outbox item failed; retried next cycle', {
      referralId: row.referralId,
      target: row.target,
      action: row.action,
      error: verdict.error,
    });
    await markOutbox(ledger.db, row.id, 'failed', verdict.error);
  } else {
    await markOutbox(ledger.db, row.id, verdict.state);
  }
  stats[verdict.state]++;
}
