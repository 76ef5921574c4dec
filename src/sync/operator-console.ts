// Operator actions the console offers (retry, resync of one referral), audited with who did them.
import { randomUUID } from 'node:crypto';
import type { LeadbridgeConfig } from '../config/index.js';
import {
  appendAudit,
  getSyncStates,
  scheduleReferralResync,
  type Ledger,
} from '../ledger/index.js';
import { scheduleOperatorRetry, scheduleOutcomeRetry } from './operator.js';

export interface ConsoleActionResult {
  /** Sync rows made due, per target. */
  syncs: Record<string, number>;
  /** Quarantined outcomes scheduled again, per target. */
  outcomes: Record<string, number>;
}

/**
 * Retry after a fix: the named referrals' failed and quarantined syncs (and their quarantined
 * outcomes) are due on
 * the next cycle. Unknown or skipped ids are refused with why (as `leadbridge retry` does).
 */
export async function retryFromConsole(
  ledger: Ledger,
  config: LeadbridgeConfig,
  request: { referralIds: string[]; target?: string; who: string },
  now: Date,
): Promise<ConsoleActionResult> {
  const retry = {
    referralIds: request.referralIds,
    target: request.target,
    allFailed: false,
    quarantined: true,
  };
  const syncs = await scheduleOperatorRetry(ledger, config, retry, now);
  const moved = await scheduleOutcomeRetry(ledger, config, retry, now);
  const outcomes = Object.fromEntries(
    Object.entries(moved).map(([target, n]) => [target, n.resend + n.recheck]),
  );
  const runId = `console-${randomUUID()}`;
  await appendAudit(
    ledger.db,
    request.referralIds.map((referralId) => ({
      runId,
      referralId,
      target: request.target ?? null,
      action: 'retry-requested',
      detail: { who: request.who, via: 'console' },
    })),
  );
  return { syncs, outcomes };
}

/** Resync of one referral: every target that tracks it writes it again on the next cycle. */
export async function resyncFromConsole(
  ledger: Ledger,
  config: LeadbridgeConfig,
  request: { referralId: string; who: string },
  now: Date,
): Promise<ConsoleActionResult> {
  const syncs: Record<string, number> = {};
  const runId = `console-${randomUUID()}`;
  for (const target of config.targets) {
    const state = (await getSyncStates(ledger.db, target.name, [request.referralId])).get(
      request.referralId,
    );
    if (!state) continue;
    syncs[target.name] = await scheduleReferralResync(ledger.db, {
      referralId: request.referralId,
      target: target.name,
      now: now.toISOString(),
    });
    await appendAudit(ledger.db, [
      {
        runId,
        referralId: request.referralId,
        target: target.name,
        action: 'resync-requested',
        detail: { who: request.who, via: 'console', was: state.state },
      },
    ]);
  }
  return { syncs, outcomes: {} };
}
