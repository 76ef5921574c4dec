// The outbox: writes to Partner Center and the CRMs recorded before they are sent and marked after
// (the rows, their states).
import type { Knex } from 'knex';
import {
  chunk,
  countPerTargetAndState,
  fromJsonText,
  ledgerOperation,
  nowIso,
  rowsPerInsert,
  toJsonText,
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';
import { statesThatMayMoveTo, terminalStates, type TransitionTable } from './transitions.js';

const OUTBOX_STATES = [
  'pending',
  'sending',
  'sent',
  'failed',
  'quarantined',
  'superseded',
] as const;
export type OutboxState = (typeof OUTBOX_STATES)[number];

/**
 * from → legal next states. `sending → pending` releases a claim whose send never started (or was
 * found not to have landed); `superseded` is for an outcome the referral no longer needs (already
 * reflected, replaced).
 */
export const OUTBOX_TRANSITIONS: TransitionTable<OutboxState> = {
  pending: ['sending', 'quarantined', 'superseded'],
  sending: ['sent', 'failed', 'quarantined', 'superseded', 'pending'],
  failed: ['sending', 'pending', 'quarantined', 'superseded'],
  quarantined: ['pending', 'superseded'],
  sent: [],
  superseded: [],
};

export const OUTBOX_TERMINAL_STATES: readonly OutboxState[] = terminalStates(OUTBOX_TRANSITIONS);
/** The outbox states that are still waiting (the settled ones, sent and superseded, only grow). */
export const OUTBOX_WAITING_STATES = ['pending', 'failed', 'quarantined'] as const;
/** States a claim picks up. */
export const CLAIMABLE_STATES = statesThatMayMoveTo(OUTBOX_TRANSITIONS, 'sending');
/**
 * An outcome in one of these holds back the later outcomes of the same referral (accept goes before
 * win).
 */
export const UNSETTLED_STATES = OUTBOX_STATES.filter(
  (state) => !OUTBOX_TERMINAL_STATES.includes(state),
);

type OutboxAction = 'accept' | 'decline' | 'win' | 'lose' | 'reflect-expired' | (string & {});

export interface OutboxRow {
  id: number;
  referralId: string;
  target: string;
  action: OutboxAction;
  payload: Record<string, unknown>;
  state: OutboxState;
  attempts: number;
  lastError: string | null;
  lastErrorCode: string | null;
  nextAttemptAt: string | null;
  runId: string | null;
  /**
   * The worker holding the claim while the row is sending (null otherwise, and for claims made
   * before leases).
   */
  claimedBy: string | null;
  /** Until when that claim holds unless renewed; after it any worker may reclaim the row. */
  leaseUntil: string | null;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
  dedupeKey: string;
}

export interface OutcomeToSend {
  referralId: string;
  target: string;
  action: OutboxAction;
  payload: Record<string, unknown>;
  /** Same key, same outcome: enqueueing it again does nothing. */
  dedupeKey: string;
}

export type OutboxError = { code: string; message: string } | string;

export interface OutboxDbRow {
  id?: number | string;
  referral_id: string;
  target: string;
  action: string;
  payload: string;
  state: OutboxState;
  attempts: number | string;
  last_error: string | null;
  last_error_code: string | null;
  next_attempt_at: string | null;
  run_id: string | null;
  claimed_by?: string | null;
  lease_until?: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  dedupe_key: string;
}

const COLUMNS_PER_ROW = 14;

function toOutboxRow(outcome: OutcomeToSend, now: string): OutboxDbRow {
  return {
    referral_id: outcome.referralId,
    target: outcome.target,
    action: outcome.action,
    payload: toJsonText(outcome.payload) ?? '{}',
    state: 'pending',
    attempts: 0,
    last_error: null,
    last_error_code: null,
    next_attempt_at: null,
    run_id: null,
    created_at: now,
    updated_at: now,
    sent_at: null,
    dedupe_key: outcome.dedupeKey,
  };
}

export function fromOutboxRow(row: OutboxDbRow): OutboxRow {
  return {
    id: toNumber(row.id),
    referralId: row.referral_id,
    target: row.target,
    action: row.action,
    payload: fromJsonText(row.payload, `outbox row ${String(row.id)} payload`) ?? {},
    state: row.state,
    attempts: toNumber(row.attempts),
    lastError: row.last_error,
    lastErrorCode: row.last_error_code,
    nextAttemptAt: row.next_attempt_at,
    runId: row.run_id,
    claimedBy: row.claimed_by ?? null,
    leaseUntil: row.lease_until ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sentAt: row.sent_at,
    dedupeKey: row.dedupe_key,
  };
}

/** Records outcomes to send (before any is sent); returns how many were new. */
export async function enqueueOutcomes(db: Knex, outcomes: OutcomeToSend[]): Promise<number> {
  if (outcomes.length === 0) return 0;
  return ledgerOperation('enqueueOutcomes', async () => {
    const now = nowIso();
    let added = 0;
    for (const batch of chunk(
      outcomes.map((o) => toOutboxRow(o, now)),
      rowsPerInsert(db, COLUMNS_PER_ROW),
    )) {
      const inserted = (await db(TABLE.outbox)
        .insert(batch)
        .onConflict('dedupe_key')
        .ignore()
        .returning('id')) as unknown[];
      added += inserted.length;
    }
    return added;
  });
}

/** A referral's outcomes in the order they were recorded. */
export async function listOutbox(db: Knex, referralId: string): Promise<OutboxRow[]> {
  return ledgerOperation(`listOutbox("${referralId}")`, async () => {
    const rows = (await db<OutboxDbRow>(TABLE.outbox)
      .where({ referral_id: referralId })
      .orderBy('id')) as OutboxDbRow[];
    return rows.map(fromOutboxRow);
  });
}

/**
 * Rows per target and state; `states` narrows it (the worker's gauge counts only the unsettled ones
 * each cycle).
 */
export async function countOutboxByState(
  db: Knex,
  states?: readonly OutboxState[],
): Promise<Array<{ target: string; state: OutboxState; count: number }>> {
  return ledgerOperation('countOutboxByState', () => {
    const query = db(TABLE.outbox);
    if (states !== undefined) query.whereIn('state', [...states]);
    return countPerTargetAndState<OutboxState>(query);
  });
}

/** Outbox rows in one state, oldest change first (quarantine list, digest). */
export async function listOutboxByState(
  db: Knex,
  state: OutboxState,
  options: { target?: string; limit: number },
): Promise<OutboxRow[]> {
  return ledgerOperation(`listOutboxByState(${state})`, async () => {
    const query = db<OutboxDbRow>(TABLE.outbox).where({ state });
    if (options.target !== undefined) query.andWhere({ target: options.target });
    const rows = (await query
      .orderBy([{ column: 'updated_at' }, { column: 'id' }])
      .limit(options.limit)) as OutboxDbRow[];
    return rows.map(fromOutboxRow);
  });
}
