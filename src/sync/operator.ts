// Operator commands on the ledger: retry failed or quarantined referrals, resync a target, list the
// quarantine.
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError, ValidationError } from '../core/errors.js';
import { compareInstants, instantKey } from '../core/time.js';
import {
  clearCursor,
  forgetLinkVersions,
  getCursor,
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
import { inboundCursorName } from './types.js';
import { unretryable } from './standing.js';

export interface RetryRequest {
  referralIds: string[];
  target?: string;
  allFailed: boolean;
  quarantined: boolean;
}

/**
 * The targets an operator command applies to; an unknown name is an error that lists the configured
 * ones.
 */
function selectTargets(config: LeadbridgeConfig, name?: string): string[] {
  const names = config.targets.map((t) => t.name);
  if (name === undefined) return names;
  if (!names.includes(name)) {
    throw new ValidationError('CONFIG_INVALID', 'unknown target', [
      {
        path: '--target',
        message: `"${name}" is not a configured target (configured: ${names.join(', ') || 'none'})`,
      },
    ]);
  }
  return [name];
}

/**
 * Makes the chosen failed (and, if asked, quarantined) referrals due now; returns how many per
 * target.
 */
export async function scheduleOperatorRetry(
  ledger: Ledger,
  config: LeadbridgeConfig,
  request: RetryRequest,
  now: Date,
): Promise<Record<string, number>> {
  if (request.referralIds.length === 0 && !request.allFailed && !request.quarantined) {
    throw new ValidationError('VALIDATION_FAILED', 'nothing to retry', [
      { path: 'retry', message: 'name referral ids, or pass --all-failed and/or --quarantined' },
    ]);
  }
  const targets = selectTargets(config, request.target);
  // Named ids are checked first: an id that never came through, or that is skipped by design, is
  // not a retry.
  const problems =
    request.referralIds.length > 0
      ? await unretryable(ledger, config, targets, request.referralIds)
      : [];
  if (problems.length > 0) {
    throw new LeadbridgeError(
      'NOT_FOUND',
      `nothing retried:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const states: Array<'failed' | 'quarantined'> = request.quarantined
    ? ['failed', 'quarantined']
    : ['failed'];
  const moved: Record<string, number> = {};
  for (const target of targets) {
    moved[target] = await scheduleRetry(ledger.db, {
      target,
      states,
      now: now.toISOString(),
      ...(request.referralIds.length > 0 ? { referralIds: request.referralIds } : {}),
    });
  }
  return moved;
}

/** What resync did for one target: links forgotten, and where the inbound cursor was and is now. */
export interface ResyncResult {
  forgotten: number;
  cursorBefore: string | null;
  cursorAfter: string | null;
}

/**
 * Resync: the next pass re-reads Partner Center from `since` (or from the beginning), maps every
 * referral again
 * and writes every record, changed or not; quarantined referrals get another chance.
 * A resync only ever widens what is read: the cursor moves back to `since`, never forward (a cursor
 * already
 * before `since` stays, and the pass reads from there, which covers the window). A future `since`
 * is refused.
 */
export async function prepareResync(
  ledger: Ledger,
  config: LeadbridgeConfig,
  options: { target?: string; since?: string },
  now: Date = new Date(),
): Promise<Record<string, ResyncResult>> {
  const since = options.since === undefined ? undefined : parseSince(options.since, now);
  const results: Record<string, ResyncResult> = {};
  for (const target of selectTargets(config, options.target)) {
    await ledger.transaction(async (trx) => {
      const name = inboundCursorName(target);
      const cursorBefore = await getCursor(trx, name);
      const forgotten = await forgetLinkVersions(trx, { target, ...(since ? { since } : {}) });
      await resetToPending(trx, { target, states: ['quarantined'] });
      let cursorAfter: string | null = null;
      if (since === undefined) await clearCursor(trx, name);
      else if (cursorBefore === null || compareInstants(since, cursorBefore) >= 0)
        cursorAfter = cursorBefore;
      else await setCursor(trx, name, (cursorAfter = since));
      results[target] = { forgotten, cursorBefore, cursorAfter };
    });
  }
  return results;
}

/**
 * `--since`: a date (midnight UTC) or an ISO-8601 date-time, not after `now`; checked before the
 * ledger is opened.
 */
export function parseSince(text: string, now: Date): string {
  const invalid = (message: string) =>
    new ValidationError('VALIDATION_FAILED', 'invalid --since', [{ path: '--since', message }]);
  let since: string;
  try {
    since = instantKey(text.includes('T') ? text : `${text}T00:00:00Z`);
  } catch {
    throw invalid(`expected a date (2025-01-31) or an ISO-8601 date-time, got "${text}"`);
  }
  const parsed = new Date(`${since.slice(0, 23)}Z`);
  // The pattern lets 2025-02-30 through; Date rolls it over, which shows as a different day.
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== since.slice(0, 10)) {
    throw invalid(`"${text}" is not a calendar date`);
  }
  if (parsed.getTime() > now.getTime()) {
    throw invalid(
      `"${text}" is in the future (now ${now.toISOString()}): a resync re-reads what Partner ` +
        `Center already has, so it can only reach back`,
    );
  }
  return since;
}

/** The lines `resync` prints: per target, what is re-read and where its cursor stands. */
export function formatResync(results: Record<string, ResyncResult>, since?: string): string {
  return Object.entries(results)
    .map(([target, r]) => {
      const scope = `${target}: resync of ${r.forgotten} linked referrals${
        since ? ` updated ` + `since ${since}` : ''
      }`;
      if (since === undefined)
        return `${scope}; cursor cleared (the next pass reads from the beginning)\n`;
      if (r.cursorBefore === null)
        return `${scope}; no cursor yet (the next pass reads from the beginning)\n`;
      if (r.cursorAfter === r.cursorBefore)
        return (
          `${scope}; cursor kept at ${r.cursorBefore} (already before --since, so the ` +
          `window is re-read from there)\n`
        );
      return `${scope}; cursor moved back from ${r.cursorBefore} to ${r.cursorAfter}\n`;
    })
    .join('');
}

/**
 * retry --quarantined, for outcomes: refused ones are sent again, incomplete ones have their CRM
 * record read again next cycle.
 */
export async function scheduleOutcomeRetry(
  ledger: Ledger,
  config: LeadbridgeConfig,
  request: RetryRequest,
  now: Date,
): Promise<Record<string, { resend: number; recheck: number }>> {
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

export function formatOutcomeRetry(
  moved: Record<string, { resend: number; recheck: number }>,
): string {
  return Object.entries(moved)
    .map(
      ([target, n]) =>
        `${target}: ${n.resend + n.recheck} quarantined outcomes scheduled (${n.resend} sent ` +
        `again, ${n.recheck} re-read from the CRM)\n`,
    )
    .join('');
}

/**
 * A quarantined outcome as listed: which outcome of which referral, and why it waits (the missing
 * field, or the refusal).
 */
interface QuarantinedOutcome {
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
export async function quarantineReport(
  ledger: Ledger,
  config: LeadbridgeConfig,
  target?: string,
): Promise<QuarantineReport> {
  const outcomes: OutboxRow[] = [];
  for (const name of selectTargets(config, target))
    outcomes.push(
      ...(await listOutboxByState(ledger.db, 'quarantined', { target: name, limit: 10_000 })),
    );
  return {
    referrals: await quarantineList(ledger, config, target),
    outcomes: outcomes.map((row) => ({
      target: row.target,
      referralId: row.referralId,
      action: row.action,
      since: row.updatedAt,
      reason: row.lastError ?? '(no reason recorded)',
    })),
  };
}

export async function quarantineList(
  ledger: Ledger,
  config: LeadbridgeConfig,
  target?: string,
): Promise<SyncStateRow[]> {
  const rows: SyncStateRow[] = [];
  for (const name of selectTargets(config, target))
    rows.push(...(await listByState(ledger.db, 'quarantined', { target: name, limit: 10_000 })));
  return rows;
}

export function formatQuarantine({ referrals: rows, outcomes }: QuarantineReport): string {
  if (rows.length === 0 && outcomes.length === 0) return 'no quarantined referrals or outcomes\n';
  const lines = [
    ...rows.map(
      (r) =>
        `${r.target}\t${r.referralId}\tsync\t${r.updatedAt}\t` +
        `${r.quarantineReason ?? r.lastError ?? '(no reason recorded)'}`,
    ),
    ...outcomes.map(
      (o) => `${o.target}\t${o.referralId}\toutcome ${o.action}\t${o.since}\t${o.reason}`,
    ),
  ];
  const counts =
    `${rows.length} ${rows.length === 1 ? 'referral' : 'referrals'} and ` +
    `${outcomes.length} ${outcomes.length === 1 ? 'outcome' : 'outcomes'} quarantined`;
  return (
    `${['target\treferral\twhat\tsince\treason', ...lines].join('\n')}\n${counts}; fix ` +
    `the cause (the CRM record, the mapping), then "leadbridge retry --quarantined" (or resync ` +
    `after a mapping fix)\n`
  );
}
