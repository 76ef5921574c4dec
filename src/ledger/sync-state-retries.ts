// Sync states as work: due retries claimed, counted and listed per target, reset by an operator.
import type { Knex } from 'knex';
import {
  chunk,
  clientOf,
  countPerTargetAndState,
  distinct,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  toIsoTimestamp,
  toNumber,
  whereInClaimed,
} from './dialect.js';
import { TABLE } from './migrations.js';
import {
  fromSyncStateRow,
  SYNC_TRANSITIONS,
  type SyncState,
  type SyncStateDbRow,
  type SyncStateRow,
} from './sync-state.js';
import { assertMove } from './transitions.js';

/**
 * Claims failed referrals whose retry is due (next_retry_at <= now) by moving them to pending.
 * The guarded UPDATE (and SKIP LOCKED on PostgreSQL) means concurrent claimers never get the same
 * referral.
 */
export async function claimDueRetries(
  db: Knex,
  target: string,
  now: string,
  limit: number,
  runId: string,
): Promise<string[]> {
  assertMove(
    SYNC_TRANSITIONS,
    'sync-state',
    'failed',
    'pending',
    `when claiming due retries on target "${target}"`,
  );
  const due = toIsoTimestamp(now, 'claimDueRetries now');
  return ledgerOperation(`claimDueRetries(target "${target}")`, async () => {
    const candidates = db(TABLE.syncStates)
      .select('referral_id')
      .where({ target, state: 'failed' })
      .andWhere('next_retry_at', '<=', due)
      .orderBy([{ column: 'next_retry_at' }, { column: 'referral_id' }])
      .limit(limit);
    if (clientOf(db) === 'pg') candidates.forUpdate().skipLocked();
    const claimed = (await whereInClaimed(
      db,
      db(TABLE.syncStates).where({ target, state: 'failed' }),
      'referral_id',
      candidates,
    )
      .update({ state: 'pending', next_retry_at: null, run_id: runId, updated_at: nowIso() })
      .returning('referral_id')) as Array<{ referral_id: string }>;
    return claimed.map((row) => row.referral_id).sort();
  });
}

/**
 * How many failed referrals of a target are due for a retry at `now` (what claimDueRetries would
 * take), without claiming them.
 */
export async function countDueRetries(db: Knex, target: string, now: string): Promise<number> {
  const due = toIsoTimestamp(now, 'countDueRetries now');
  return ledgerOperation(`countDueRetries(target "${target}")`, async () => {
    const row = (await db(TABLE.syncStates)
      .where({ target, state: 'failed' })
      .andWhere('next_retry_at', '<=', due)
      .count({ count: '*' })
      .first()) as { count: number | string } | undefined;
    return toNumber(row?.count ?? 0);
  });
}

export async function countByState(
  db: Knex,
): Promise<Array<{ target: string; state: SyncState; count: number }>> {
  return ledgerOperation('countByState', () =>
    countPerTargetAndState<SyncState>(db(TABLE.syncStates)),
  );
}

/** Rows in one state, the longest-standing first. */
export async function listByState(
  db: Knex,
  state: SyncState,
  options: { target?: string; limit: number },
): Promise<SyncStateRow[]> {
  return ledgerOperation(`listByState(${state})`, async () => {
    const query = db<SyncStateDbRow>(TABLE.syncStates).where({ state });
    if (options.target !== undefined) query.andWhere({ target: options.target });
    const rows = (await query
      .orderBy([{ column: 'updated_at' }, { column: 'target' }, { column: 'referral_id' }])
      .limit(options.limit)) as SyncStateDbRow[];
    return rows.map(fromSyncStateRow);
  });
}

/**
 * Operator retry/resync: moves rows in `states` (optionally of one target, changed since `since`)
 * back to pending
 * with a fresh retry budget. Returns how many rows moved.
 */
export async function resetToPending(
  db: Knex,
  options: { target?: string; states: SyncState[]; since?: string; runId?: string },
): Promise<number> {
  const where = options.target === undefined ? 'on every target' : `on target "${options.target}"`;
  for (const state of options.states)
    assertMove(
      SYNC_TRANSITIONS,
      'sync-state',
      state,
      'pending',
      `when resetting ${state} rows ${where}`,
    );
  if (options.states.length === 0) return 0;
  const since =
    options.since === undefined ? undefined : toIsoTimestamp(options.since, 'resetToPending since');
  return ledgerOperation('resetToPending', async () => {
    const query = db(TABLE.syncStates).whereIn('state', distinct(options.states));
    if (options.target !== undefined) query.andWhere({ target: options.target });
    if (since !== undefined) query.andWhere('updated_at', '>=', since);
    const changes = {
      state: 'pending',
      attempts: 0,
      next_retry_at: null,
      quarantine_reason: null,
      updated_at: nowIso(),
      ...(options.runId ? { run_id: options.runId } : {}),
    };
    return toNumber(await query.update(changes));
  });
}

/**
 * Operator retry: rows in `states` (of one target, or only the given referrals) become failed and
 * due now,
 * with a fresh attempt budget, so the next cycle re-fetches and writes them. Returns how many rows
 * moved.
 */
export async function scheduleRetry(
  db: Knex,
  options: {
    target?: string;
    referralIds?: string[];
    states: Array<'failed' | 'quarantined'>;
    now: string;
    runId?: string;
  },
): Promise<number> {
  for (const state of options.states)
    assertMove(
      SYNC_TRANSITIONS,
      'sync-state',
      state,
      'failed',
      'when scheduling an operator retry',
    );
  if (options.states.length === 0 || options.referralIds?.length === 0) return 0;
  const due = toIsoTimestamp(options.now, 'scheduleRetry now');
  return ledgerOperation('scheduleRetry', async () => {
    const changes = {
      state: 'failed',
      attempts: 0,
      next_retry_at: due,
      quarantine_reason: null,
      updated_at: nowIso(),
      ...(options.runId ? { run_id: options.runId } : {}),
    };
    const base = () => {
      const query = db(TABLE.syncStates).whereIn('state', distinct(options.states));
      if (options.target !== undefined) query.andWhere({ target: options.target });
      return query;
    };
    if (options.referralIds === undefined) return toNumber(await base().update(changes));
    let moved = 0;
    for (const ids of chunk(distinct(options.referralIds), idsPerQuery(db)))
      moved += toNumber(await base().whereIn('referral_id', ids).update(changes));
    return moved;
  });
}
