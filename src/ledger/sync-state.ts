// Per-referral, per-target sync state, moved only along SYNC_TRANSITIONS, with retry bookkeeping.
import type { Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import {
  chunk,
  clientOf,
  distinct,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  rowsPerInsert,
  toIsoTimestamp,
  toNumber,
  whereInClaimed,
} from './dialect.js';
import { TABLE } from './migrations.js';
import { assertMove, terminalStates, type TransitionTable } from './transitions.js';

export const SYNC_STATES = ['pending', 'applied', 'failed', 'quarantined'] as const;
export type SyncState = (typeof SYNC_STATES)[number];

/**
 * from → legal next states. A referral that changes (or an operator retry/resync) sends applied and
 * quarantined rows back to pending; failed may fail again while retries run out.
 */
export const SYNC_TRANSITIONS: TransitionTable<SyncState> = {
  pending: ['applied', 'failed', 'quarantined'],
  failed: ['pending', 'applied', 'failed', 'quarantined'],
  applied: ['pending'],
  // failed: an operator asked for another attempt (leadbridge retry).
  quarantined: ['pending', 'failed'],
};

/** Derived from the table (none today: every state can be re-opened). */
export const SYNC_TERMINAL_STATES: readonly SyncState[] = terminalStates(SYNC_TRANSITIONS);

export interface SyncStateRow {
  referralId: string;
  target: string;
  state: SyncState;
  attempts: number;
  nextRetryAt: string | null;
  lastError: string | null;
  lastErrorCode: string | null;
  quarantineReason: string | null;
  updatedAt: string;
  runId: string | null;
}

export interface SyncStateChange {
  referralId: string;
  to: SyncState;
  error?: { code: string; message: string };
  quarantineReason?: string;
  nextRetryAt?: string | null;
  runId?: string;
}

interface SyncStateDbRow {
  referral_id: string;
  target: string;
  state: SyncState;
  attempts: number | string;
  next_retry_at: string | null;
  last_error: string | null;
  last_error_code: string | null;
  quarantine_reason: string | null;
  updated_at: string;
  run_id: string | null;
}

const COLUMNS_PER_ROW = 10;

function fromSyncStateRow(row: SyncStateDbRow): SyncStateRow {
  return {
    referralId: row.referral_id,
    target: row.target,
    state: row.state,
    attempts: toNumber(row.attempts),
    nextRetryAt: row.next_retry_at,
    lastError: row.last_error,
    lastErrorCode: row.last_error_code,
    quarantineReason: row.quarantine_reason,
    updatedAt: row.updated_at,
    runId: row.run_id,
  };
}

function toSyncStateRow(state: SyncStateRow): SyncStateDbRow {
  return {
    referral_id: state.referralId,
    target: state.target,
    state: state.state,
    attempts: state.attempts,
    next_retry_at: state.nextRetryAt,
    last_error: state.lastError,
    last_error_code: state.lastErrorCode,
    quarantine_reason: state.quarantineReason,
    updated_at: state.updatedAt,
    run_id: state.runId,
  };
}

function describeRow(referralId: string, target: string): string {
  return `for referral "${referralId}" on target "${target}"`;
}

/**
 * Pure: the rows that result from applying `changes` in order to `current` (changes to one referral chain).
 * Throws LEDGER_ERROR on the first move that SYNC_TRANSITIONS does not allow; a referral without a row may start anywhere.
 */
export function planSyncStateMoves(
  target: string,
  current: ReadonlyMap<string, SyncStateRow>,
  changes: readonly SyncStateChange[],
  now: string,
): SyncStateRow[] {
  const planned = new Map<string, SyncStateRow>();
  for (const change of changes) {
    const before = planned.get(change.referralId) ?? current.get(change.referralId);
    if (before)
      assertMove(
        SYNC_TRANSITIONS,
        'sync-state',
        before.state,
        change.to,
        describeRow(change.referralId, target),
      );
    planned.set(change.referralId, applySyncStateChange(target, before, change, now));
  }
  return [...planned.values()];
}

/** What each destination state does to the retry bookkeeping. */
function applySyncStateChange(
  target: string,
  before: SyncStateRow | undefined,
  change: SyncStateChange,
  now: string,
): SyncStateRow {
  const base: SyncStateRow = before ?? {
    referralId: change.referralId,
    target,
    state: change.to,
    attempts: 0,
    nextRetryAt: null,
    lastError: null,
    lastErrorCode: null,
    quarantineReason: null,
    updatedAt: now,
    runId: null,
  };
  const moved: SyncStateRow = {
    ...base,
    state: change.to,
    updatedAt: now,
    runId: change.runId ?? base.runId,
    nextRetryAt: null,
  };
  switch (change.to) {
    case 'failed': {
      const nextRetryAt = change.nextRetryAt
        ? toIsoTimestamp(
            change.nextRetryAt,
            `nextRetryAt ${describeRow(change.referralId, target)}`,
          )
        : null;
      return {
        ...moved,
        attempts: base.attempts + 1,
        nextRetryAt,
        lastError: change.error?.message ?? null,
        lastErrorCode: change.error?.code ?? null,
        quarantineReason: null,
      };
    }
    case 'applied':
      return {
        ...moved,
        attempts: 0,
        lastError: null,
        lastErrorCode: null,
        quarantineReason: null,
      };
    case 'quarantined':
      return {
        ...moved,
        lastError: change.error?.message ?? base.lastError,
        lastErrorCode: change.error?.code ?? base.lastErrorCode,
        quarantineReason: change.quarantineReason ?? change.error?.message ?? 'quarantined',
      };
    case 'pending':
      // The last error stays visible while the referral is retried.
      return { ...moved, quarantineReason: null };
  }
}

export async function getSyncStates(
  db: Knex,
  target: string,
  referralIds: string[],
): Promise<Map<string, SyncStateRow>> {
  return ledgerOperation(`getSyncStates(target "${target}")`, () =>
    readSyncStates(db, target, distinct(referralIds), false),
  );
}

async function readSyncStates(
  db: Knex,
  target: string,
  referralIds: string[],
  lockRows: boolean,
): Promise<Map<string, SyncStateRow>> {
  const states = new Map<string, SyncStateRow>();
  for (const ids of chunk(referralIds, idsPerQuery(db))) {
    const query = db<SyncStateDbRow>(TABLE.syncStates)
      .where({ target })
      .whereIn('referral_id', ids)
      .orderBy('referral_id');
    // Locking in id order keeps two workers moving overlapping referrals from deadlocking.
    if (lockRows && clientOf(db) === 'pg') query.forUpdate();
    for (const row of (await query) as SyncStateDbRow[])
      states.set(row.referral_id, fromSyncStateRow(row));
  }
  return states;
}

/**
 * Moves referrals of one target to new states, each move checked against SYNC_TRANSITIONS first.
 * attempts grows on → failed and resets on → applied. One transaction (a savepoint inside the caller's).
 */
export async function transitionSyncStates(
  db: Knex,
  target: string,
  changes: SyncStateChange[],
): Promise<void> {
  if (changes.length === 0) return;
  await ledgerOperation(`transitionSyncStates(target "${target}")`, () =>
    db.transaction((trx) => applySyncStateChanges(trx, target, changes, 1)),
  );
}

async function applySyncStateChanges(
  trx: Knex.Transaction,
  target: string,
  changes: SyncStateChange[],
  round: number,
): Promise<void> {
  const current = await readSyncStates(
    trx,
    target,
    distinct(changes.map((c) => c.referralId)),
    true,
  );
  const planned = planSyncStateMoves(target, current, changes, nowIso());
  const existing = planned.filter((row) => current.has(row.referralId));
  const created = planned.filter((row) => !current.has(row.referralId));
  for (const batch of chunk(existing.map(toSyncStateRow), rowsPerInsert(trx, COLUMNS_PER_ROW))) {
    await trx(TABLE.syncStates).insert(batch).onConflict(['referral_id', 'target']).merge();
  }
  const raced = await insertNewSyncStates(trx, created);
  if (raced.size === 0) return;
  // Another worker created some of these rows since we looked: check the moves again against its rows.
  if (round >= 2) {
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `sync states ${describeRow([...raced].join('", "'), target)} keep changing under this transaction`,
      { retryable: true },
    );
  }
  await applySyncStateChanges(
    trx,
    target,
    changes.filter((c) => raced.has(c.referralId)),
    round + 1,
  );
}

/** Inserts rows that did not exist; returns the referral ids another writer created first. */
async function insertNewSyncStates(
  trx: Knex.Transaction,
  created: SyncStateRow[],
): Promise<Set<string>> {
  const raced = new Set<string>();
  for (const batch of chunk(created.map(toSyncStateRow), rowsPerInsert(trx, COLUMNS_PER_ROW))) {
    const inserted = (await trx(TABLE.syncStates)
      .insert(batch)
      .onConflict(['referral_id', 'target'])
      .ignore()
      .returning('referral_id')) as Array<{ referral_id: string }>;
    const insertedIds = new Set(inserted.map((row) => row.referral_id));
    for (const row of batch) if (!insertedIds.has(row.referral_id)) raced.add(row.referral_id);
  }
  return raced;
}

/**
 * Claims failed referrals whose retry is due (next_retry_at <= now) by moving them to pending.
 * The guarded UPDATE (and SKIP LOCKED on PostgreSQL) means concurrent claimers never get the same referral.
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

/** How many failed referrals of a target are due for a retry at `now` (what claimDueRetries would take), without claiming them. */
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
  return ledgerOperation('countByState', async () => {
    const rows = (await db(TABLE.syncStates)
      .select('target', 'state')
      .count({ count: '*' })
      .groupBy('target', 'state')
      .orderBy([{ column: 'target' }, { column: 'state' }])) as Array<{
      target: string;
      state: SyncState;
      count: number | string;
    }>;
    return rows.map((row) => ({
      target: row.target,
      state: row.state,
      count: toNumber(row.count),
    }));
  });
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
 * Operator retry/resync: moves rows in `states` (optionally of one target, changed since `since`) back to pending
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
 * Operator retry: rows in `states` (of one target, or only the given referrals) become failed and due now,
 * with a fresh attempt budget, so the next cycle re-fetches and writes them. Returns how many rows moved.
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
