// One row per sync/worker/resync run: when it ran, how it ended and its counters.
import type { Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import { fromJsonText, ledgerOperation, nowIso, toIsoTimestamp, toJsonText } from './dialect.js';
import { TABLE } from './migrations.js';
import { assertMove, type TransitionTable } from './transitions.js';

export type RunStatus = 'running' | 'ok' | 'failed' | 'aborted';
export type RunKind = 'sync' | 'worker' | 'resync' | (string & {});

/** A run starts running and ends exactly once. */
export const RUN_TRANSITIONS: TransitionTable<RunStatus> = {
  running: ['ok', 'failed', 'aborted'],
  ok: [],
  failed: [],
  aborted: [],
};

export interface RunRow {
  runId: string;
  kind: RunKind;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  stats: Record<string, number> | null;
  error: string | null;
}

interface RunDbRow {
  run_id: string;
  kind: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  stats: string | null;
  error: string | null;
}

function toRunRow(run: RunRow): RunDbRow {
  return {
    run_id: run.runId,
    kind: run.kind,
    status: run.status,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    stats: toJsonText(run.stats),
    error: run.error,
  };
}

function fromRunRow(row: RunDbRow): RunRow {
  return {
    runId: row.run_id,
    kind: row.kind,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    stats: fromJsonText(row.stats, `run "${row.run_id}" stats`) as Record<string, number> | null,
    error: row.error,
  };
}

/**
 * Records a run as running; with a lease, it names its worker and holds until then (see
 * renewClaims).
 */
export async function startRun(
  db: Knex,
  run: { runId: string; kind: RunKind; lease?: { owner: string; until: string } },
): Promise<void> {
  await ledgerOperation(`startRun("${run.runId}")`, async () => {
    const row = toRunRow({
      runId: run.runId,
      kind: run.kind,
      status: 'running',
      startedAt: nowIso(),
      finishedAt: null,
      stats: null,
      error: null,
    });
    const lease = run.lease
      ? { owner: run.lease.owner, lease_until: toIsoTimestamp(run.lease.until, 'startRun lease') }
      : {};
    const inserted = (await db(TABLE.runs)
      .insert({ ...row, ...lease })
      .onConflict('run_id')
      .ignore()
      .returning('run_id')) as unknown[];
    if (inserted.length === 0)
      throw new LeadbridgeError(
        'LEDGER_ERROR',
        `run "${run.runId}" already exists; run ids must be unique`,
      );
  });
}

export async function finishRun(
  db: Knex,
  runId: string,
  outcome: { status: Exclude<RunStatus, 'running'>; stats: Record<string, number>; error?: string },
): Promise<void> {
  await ledgerOperation(`finishRun("${runId}")`, async () => {
    const current = (await db<RunDbRow>(TABLE.runs).where({ run_id: runId }).first('status')) as
      Pick<RunDbRow, 'status'> | undefined;
    if (!current)
      throw new LeadbridgeError(
        'LEDGER_ERROR',
        `run "${runId}" does not exist; start it before finishing it`,
      );
    assertMove(RUN_TRANSITIONS, 'run', current.status, outcome.status, `for run "${runId}"`);
    const changes = {
      status: outcome.status,
      finished_at: nowIso(),
      stats: toJsonText(outcome.stats),
      error: outcome.error ?? null,
    };
    const updated = await db(TABLE.runs)
      .where({ run_id: runId, status: current.status })
      .update(changes);
    if (updated !== 1)
      throw new LeadbridgeError(
        'LEDGER_ERROR',
        `run "${runId}" was finished by someone else meanwhile`,
      );
  });
}

/** The most recent runs first. */
export async function lastRuns(db: Knex, limit: number): Promise<RunRow[]> {
  return ledgerOperation('lastRuns', async () => {
    const rows = (await db<RunDbRow>(TABLE.runs).orderBy('seq', 'desc').limit(limit)) as RunDbRow[];
    return rows.map(fromRunRow);
  });
}

/**
 * Runs a killed worker left `running` are marked aborted: `all` (an embedded ledger at start-up: no
 * other process runs cycles on it) or those whose lease ran out before `expiredBefore` (or that
 * carry none). Returns their ids.
 */
export async function abortAbandonedRuns(
  db: Knex,
  scope: { all: true } | { expiredBefore: string },
  reason: string,
): Promise<string[]> {
  assertMove(RUN_TRANSITIONS, 'run', 'running', 'aborted', 'when aborting abandoned runs');
  const cutoff =
    'expiredBefore' in scope ? toIsoTimestamp(scope.expiredBefore, 'abortAbandonedRuns') : null;
  return ledgerOperation('abortAbandonedRuns', async () => {
    const stale = () => {
      const query = db(TABLE.runs).where({ status: 'running' });
      if (cutoff !== null)
        query.andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', cutoff));
      return query;
    };
    const ids = ((await stale().select('run_id')) as Array<{ run_id: string }>).map(
      (row) => row.run_id,
    );
    if (ids.length === 0) return [];
    await stale()
      .whereIn('run_id', ids)
      .update({ status: 'aborted', finished_at: nowIso(), error: reason });
    return ids;
  });
}
