// `leadbridge status`: sync states per target, cursors, outbox and the last runs, read from the
// ledger alone.
import type { LeadbridgeConfig } from '../config/index.js';
import {
  countByState,
  countOutboxByState,
  getApiBudgetNote,
  getCursor,
  lastRuns,
  SYNC_STATES,
  type ApiBudgetNote,
  type Ledger,
  type RunRow,
} from '../ledger/index.js';
import { inboundCursorName } from '../sync/types.js';
import { SIGN_IN_AGAIN } from '../source/partner-center/sign-in.js';
import { userSignInFor } from './compose.js';
import { silentLogger } from '../core/log.js';

/**
 * The App+User sign-in, as the token cache and the last sync run tell it (only with auth.kind:
 * user).
 */
interface SignInStatus {
  account: string | null;
  signedInAt: string | null;
  /** The last sync run failed for want of a sign-in, and no login happened since. */
  required: boolean;
  cause: string | null;
}

export interface StatusReport {
  ledger: string;
  targets: Array<{
    name: string;
    kind: string;
    enabled: boolean;
    states: Record<string, number>;
    cursor: string | null;
    apiBudget?: ApiBudgetNote;
  }>;
  outbox: Array<{ target: string; state: string; count: number }>;
  lastRuns: RunRow[];
  signIn?: SignInStatus;
}

export async function collectStatus(
  config: LeadbridgeConfig,
  ledger: Ledger,
  description: string,
): Promise<StatusReport> {
  const counts = await countByState(ledger.db);
  const targets = await Promise.all(
    config.targets.map(async (t) => {
      const states = Object.fromEntries(SYNC_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const row of counts) if (row.target === t.name) states[row.state] = row.count;
      const budget = await getApiBudgetNote(ledger.db, t.name);
      const cursor = await getCursor(ledger.db, inboundCursorName(t.name));
      return {
        name: t.name,
        kind: t.kind,
        enabled: t.enabled,
        states,
        cursor,
        ...(budget ? { apiBudget: budget } : {}),
      };
    }),
  );
  const runs = await lastRuns(ledger.db, 5);
  const signIn = await signInStatus(config, runs);
  return {
    ledger: description,
    ...(signIn ? { signIn } : {}),
    targets,
    outbox: await countOutboxByState(ledger.db),
    lastRuns: runs,
  };
}

export async function signInStatus(
  config: LeadbridgeConfig,
  runs: RunRow[],
): Promise<SignInStatus | undefined> {
  const auth = config.source.partnerCenter.auth;
  if (auth.kind !== 'user') return undefined;
  let cacheProblem: string | null = null;
  const account = await userSignInFor(auth, silentLogger)
    .signedIn()
    .catch((error: unknown) => ((cacheProblem = (error as Error).message), null));
  const lastSync = runs.find((run) => run.kind === 'sync' && run.finishedAt !== null);
  const lostAt = lastSync?.stats?.signInRequired === 1 ? lastSync.startedAt : null;
  const loggedInSince =
    lostAt !== null && account?.signedInAt != null && account.signedInAt > lostAt;
  const required = account === null || (lostAt !== null && !loggedInSince);
  const cause =
    account === null
      ? (cacheProblem ?? 'nobody has signed in yet')
      : required
        ? (lastSync?.error ?? '').replace(`; ${SIGN_IN_AGAIN}`, '') || null
        : null;
  return {
    account: account?.username ?? null,
    signedInAt: account?.signedInAt ?? null,
    required,
    cause,
  };
}

export function formatStatus(report: StatusReport): string {
  const lines = [`ledger: ${report.ledger}`];
  if (report.signIn) lines.push(formatSignIn(report.signIn));
  lines.push('targets:');
  if (report.targets.length === 0) lines.push('  (none configured)');
  for (const t of report.targets) {
    const states = Object.entries(t.states)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    lines.push(
      `  ${t.name} (${t.kind}${t.enabled ? '' : ', disabled'}): ${states}; cursor ` +
        `${t.cursor ?? 'none (next run backfills)'}`,
    );
    if (t.apiBudget) lines.push(`    ${formatApiBudget(t.apiBudget)}`);
  }
  lines.push('outbox (writes to Partner Center):');
  if (report.outbox.length === 0) lines.push('  empty');
  for (const row of report.outbox) lines.push(`  ${row.target}: ${row.state} ${row.count}`);
  lines.push('last runs:');
  if (report.lastRuns.length === 0) lines.push('  none yet');
  for (const run of report.lastRuns) {
    const figures = run.stats
      ? Object.entries(run.stats)
          .filter(([, n]) => n !== 0)
          .map(([k, n]) => `${k}=${n}`)
          .join(' ')
      : '';
    lines.push(
      `  ${run.startedAt} ${run.runId} ${run.kind} ${run.status}` +
        `${run.finishedAt ? '' : ' (still running or interrupted)'}${
          figures ? ` ${figures}` + `` : ''
        }${run.error ? ` error: ${run.error}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function formatSignIn(signIn: SignInStatus): string {
  if (signIn.required)
    return `partner center sign-in: ${SIGN_IN_AGAIN}${signIn.cause ? ` (${signIn.cause})` : ''}`;
  return (
    `partner center sign-in: ${signIn.account ?? 'unknown account'}` +
    `${signIn.signedInAt ? `, signed in ${signIn.signedInAt}` : ''}`
  );
}

function formatApiBudget(budget: ApiBudgetNote): string {
  const percent = budget.max > 0 ? Math.round((budget.used / budget.max) * 100) : 0;
  const state = budget.holdingBack
    ? `past the ${Math.round(budget.limitShare * 100)}% share: outcome reads paused until the ` +
      `allocation frees up`
    : `within the ${Math.round(budget.limitShare * 100)}% share`;
  return (
    `API requests: ${budget.used}/${budget.max} used (${percent}%), ${state} (seen ` +
    `${budget.seenAt})`
  );
}
