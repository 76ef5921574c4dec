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
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';
import { planSyncStateMoves } from './sync-state-moves.js';
import { terminalStates, type TransitionTable } from './transitions.js';

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

export interface SyncStateDbRow {
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

export function fromSyncStateRow(row: SyncStateDbRow): SyncStateRow {
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

export function describeRow(referralId: string, target: string): string {
  return `for referral "${referralId}" on target "${target}"`;
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
 * attempts grows on → failed and resets on → applied. One transaction (a savepoint inside the
 * caller's).
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
  // Another worker created some of these rows since we looked: check the moves again against its
  // rows.
  if (round >= 2) {
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `sync states ${describeRow([...raced].join('", "'), target)} ` +
        'keep changing under this transaction',
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
