// Operator commands on the ledger: retry failed or quarantined referrals, resync a target, list the quarantine.
import type { LeadbridgeConfig } from '../config/index.js';
import { ValidationError } from '../core/errors.js';
import { instantKey } from '../core/time.js';
import {
  clearCursor,
  forgetLinkVersions,
  listByState,
  listOutboxByState,
  resetToPending,
  retryQuarantinedOutbox,
  scheduleRetry,
  setCursor,
  type Ledger,
  type OutboxRow,
  type SyncStateRow,
} from '../ledger/index.js';
import { inboundCursorName } from '../sync/types.js';

export interface RetryRequest {
  referralIds: string[];
  target?: string;
  allFailed: boolean;
  quarantined: boolean;
}

/** The targets an operator command applies to; an unknown name is an error that lists the configured ones. */
export function selectTargets(config: LeadbridgeConfig, name?: string): string[] {
  const names = config.targets.map((t) => t.name);
  if (name === undefined) return names;
  if (!names.includes(name)) {
    throw new ValidationError('CONFIG_INVALID', 'unknown target', [{ path: '--target', message: `"${name}" is not a configured target (configured: ${names.join(', ') || 'none'})` }]);
  }
  return [name];
}

/** Makes the chosen failed (and, if asked, quarantined) referrals due now; returns how many per target. */
export async function scheduleOperatorRetry(ledger: Ledger, config: LeadbridgeConfig, request: RetryRequest, now: Date): Promise<Record<string, number>> {
  if (request.referralIds.length === 0 && !request.allFailed && !request.quarantined) {
    throw new ValidationError('VALIDATION_FAILED', 'nothing to retry', [
      { path: 'retry', message: 'name referral ids, or pass --all-failed and/or --quarantined' },
    ]);
  }
  const states: Array<'failed' | 'quarantined'> = request.quarantined ? ['failed', 'quarantined'] : ['failed'];
  const moved: Record<string, number> = {};
  for (const target of selectTargets(config, request.target)) {
    moved[target] = await scheduleRetry(ledger.db, {
      target,
      states,
      now: now.toISOString(),
      ...(request.referralIds.length > 0 ? { referralIds: request.referralIds } : {}),
    });
  }
  return moved;
}

/**
 * Resync: the next pass re-reads Partner Center from `since` (or from the beginning), maps every referral again
 * and writes every record, changed or not; quarantined referrals get another chance.
 */
export async function prepareResync(ledger: Ledger, config: LeadbridgeConfig, options: { target?: string; since?: string }): Promise<Record<string, number>> {
  let since: string | undefined;
  if (options.since !== undefined) {
    try {
      since = instantKey(options.since.includes('T') ? options.since : `${options.since}T00:00:00Z`);
    } catch {
      throw new ValidationError('VALIDATION_FAILED', 'invalid --since', [{ path: '--since', message: `expected a date (2025-01-31) or an ISO-8601 date-time, got "${options.since}"` }]);
    }
  }
  const forgotten: Record<string, number> = {};
  for (const target of selectTargets(config, options.target)) {
    await ledger.transaction(async (trx) => {
      forgotten[target] = await forgetLinkVersions(trx, { target, ...(since ? { since } : {}) });
      await resetToPending(trx, { target, states: ['quarantined'] });
      if (since) await setCursor(trx, inboundCursorName(target), since);
      else await clearCursor(trx, inboundCursorName(target));
    });
  }
  return forgotten;
}

/** retry --quarantined, for outcomes: refused ones are sent again, incomplete ones have their CRM record read again next cycle. */
export async function scheduleOutcomeRetry(ledger: Ledger, config: LeadbridgeConfig, request: RetryRequest, now: Date): Promise<Record<string, { resend: number; recheck: number }>> {
  const moved: Record<string, { resend: number; recheck: number }> = {};
  if (!request.quarantined) return moved;
  for (const target of selectTargets(config, request.target)) {
    moved[target] = await retryQuarantinedOutbox(ledger.db, {
      target,
      now: now.toISOString(),
      ...(request.referralIds.length > 0 ? { referralIds: request.referralIds } : {}),
    });
  }
  return moved;
}

export function formatOutcomeRetry(moved: Record<string, { resend: number; recheck: number }>): string {
  return Object.entries(moved)
    .map(([target, n]) => `${target}: ${n.resend + n.recheck} quarantined outcomes scheduled (${n.resend} sent again, ${n.recheck} re-read from the CRM)\n`)
    .join('');
}

/** A quarantined outcome as listed: which outcome of which referral, and why it waits (the missing field, or the refusal). */
export interface QuarantinedOutcome {
  target: string;
  referralId: string;
  action: string;
  since: string;
  reason: string;
}

export interface QuarantineReport {
  referrals: SyncStateRow[];
  outcomes: QuarantinedOutcome[];
}

/** Referrals that could not be synced and outcomes that could not be reported, per target. */
export async function quarantineReport(ledger: Ledger, config: LeadbridgeConfig, target?: string): Promise<QuarantineReport> {
  const outcomes: OutboxRow[] = [];
  for (const name of selectTargets(config, target)) outcomes.push(...(await listOutboxByState(ledger.db, 'quarantined', { target: name, limit: 10_000 })));
  return {
    referrals: await quarantineList(ledger, config, target),
    outcomes: outcomes.map((row) => ({ target: row.target, referralId: row.referralId, action: row.action, since: row.updatedAt, reason: row.lastError ?? '(no reason recorded)' })),
  };
}

export async function quarantineList(ledger: Ledger, config: LeadbridgeConfig, target?: string): Promise<SyncStateRow[]> {
  const rows: SyncStateRow[] = [];
  for (const name of selectTargets(config, target)) rows.push(...(await listByState(ledger.db, 'quarantined', { target: name, limit: 10_000 })));
  return rows;
}

export function formatQuarantine({ referrals: rows, outcomes }: QuarantineReport): string {
  if (rows.length === 0 && outcomes.length === 0) return 'no quarantined referrals or outcomes\n';
  const lines = [
    ...rows.map((r) => `${r.target}\t${r.referralId}\tsync\t${r.updatedAt}\t${r.quarantineReason ?? r.lastError ?? '(no reason recorded)'}`),
    ...outcomes.map((o) => `${o.target}\t${o.referralId}\toutcome ${o.action}\t${o.since}\t${o.reason}`),
  ];
  const counts = `${rows.length} ${rows.length === 1 ? 'referral' : 'referrals'} and ${outcomes.length} ${outcomes.length === 1 ? 'outcome' : 'outcomes'} quarantined`;
  return `${['target\treferral\twhat\tsince\treason', ...lines].join('\n')}\n${counts}; fix the cause (the CRM record, the mapping), then "leadbridge retry --quarantined" (or resync after a mapping fix)\n`;
}
