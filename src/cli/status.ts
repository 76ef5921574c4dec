// `leadbridge status`: sync states per target, cursors, outbox and the last runs, read from the ledger alone.
import type { LeadbridgeConfig } from '../config/index.js';
import { countByState, countOutboxByState, getApiBudgetNote, getCursor, lastRuns, openLedger, SYNC_STATES, type ApiBudgetNote, type Ledger, type RunRow } from '../ledger/index.js';
import { describeLedger, ledgerConfigFor } from '../worker/ledger-config.js';
import { inboundCursorName } from '../sync/types.js';

export interface StatusReport {
  ledger: string;
  targets: Array<{ name: string; kind: string; enabled: boolean; states: Record<string, number>; cursor: string | null; apiBudget?: ApiBudgetNote }>;
  outbox: Array<{ target: string; state: string; count: number }>;
  lastRuns: RunRow[];
}

export async function withLedger<T>(config: LeadbridgeConfig, cwd: string, use: (ledger: Ledger, description: string) => Promise<T>): Promise<T> {
  const ledgerConfig = ledgerConfigFor(config, cwd);
  const ledger = await openLedger(ledgerConfig);
  try {
    return await use(ledger, describeLedger(ledgerConfig));
  } finally {
    await ledger.close();
  }
}

export async function collectStatus(config: LeadbridgeConfig, ledger: Ledger, description: string): Promise<StatusReport> {
  const counts = await countByState(ledger.db);
  const targets = await Promise.all(
    config.targets.map(async (t) => {
      const states = Object.fromEntries(SYNC_STATES.map((s) => [s, 0])) as Record<string, number>;
      for (const row of counts) if (row.target === t.name) states[row.state] = row.count;
      const budget = await getApiBudgetNote(ledger.db, t.name);
      const cursor = await getCursor(ledger.db, inboundCursorName(t.name));
      return { name: t.name, kind: t.kind, enabled: t.enabled, states, cursor, ...(budget ? { apiBudget: budget } : {}) };
    }),
  );
  return { ledger: description, targets, outbox: await countOutboxByState(ledger.db), lastRuns: await lastRuns(ledger.db, 5) };
}

export function formatStatus(report: StatusReport): string {
  const lines = [`ledger: ${report.ledger}`, 'targets:'];
  if (report.targets.length === 0) lines.push('  (none configured)');
  for (const t of report.targets) {
    const states = Object.entries(t.states).map(([s, n]) => `${s} ${n}`).join(', ');
    lines.push(`  ${t.name} (${t.kind}${t.enabled ? '' : ', disabled'}): ${states}; cursor ${t.cursor ?? 'none (next run backfills)'}`);
    if (t.apiBudget) lines.push(`    ${formatApiBudget(t.apiBudget)}`);
  }
  lines.push('outbox (writes to Partner Center):');
  if (report.outbox.length === 0) lines.push('  empty');
  for (const row of report.outbox) lines.push(`  ${row.target}: ${row.state} ${row.count}`);
  lines.push('last runs:');
  if (report.lastRuns.length === 0) lines.push('  none yet');
  for (const run of report.lastRuns) {
    const figures = run.stats ? Object.entries(run.stats).filter(([, n]) => n !== 0).map(([k, n]) => `${k}=${n}`).join(' ') : '';
    lines.push(`  ${run.startedAt} ${run.runId} ${run.kind} ${run.status}${run.finishedAt ? '' : ' (still running or interrupted)'}${figures ? ` ${figures}` : ''}${run.error ? ` error: ${run.error}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatApiBudget(budget: ApiBudgetNote): string {
  const percent = budget.max > 0 ? Math.round((budget.used / budget.max) * 100) : 0;
  const state = budget.holdingBack
    ? `past the ${Math.round(budget.limitShare * 100)}% share: outcome reads paused until the allocation frees up`
    : `within the ${Math.round(budget.limitShare * 100)}% share`;
  return `API requests: ${budget.used}/${budget.max} used (${percent}%), ${state} (seen ${budget.seenAt})`;
}
