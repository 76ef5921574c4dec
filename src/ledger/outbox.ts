// Outbound outcomes (accept, decline, win, lose) recorded before they are sent and marked after: exactly-once, outbox style.
import type { Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import {
  chunk,
  clientOf,
  fromJsonText,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  rowsPerInsert,
  toIsoTimestamp,
  toJsonText,
  toNumber,
  whereInClaimed,
} from './dialect.js';
import { TABLE } from './migrations.js';
import {
  assertMove,
  statesThatMayMoveTo,
  terminalStates,
  type TransitionTable,
} from './transitions.js';

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
 * from → legal next states. `sending → pending` releases a claim whose send never started (or was found
 * not to have landed); `superseded` is for an outcome the referral no longer needs (already reflected, replaced).
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
const CLAIMABLE_STATES = statesThatMayMoveTo(OUTBOX_TRANSITIONS, 'sending');
/** An outcome in one of these holds back the later outcomes of the same referral (accept goes before win). */
const UNSETTLED_STATES = OUTBOX_STATES.filter((state) => !OUTBOX_TERMINAL_STATES.includes(state));

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

interface OutboxDbRow {
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

function fromOutboxRow(row: OutboxDbRow): OutboxRow {
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

/**
 * Claims up to `limit` due outcomes → sending, oldest first and only the oldest unsettled one per referral,
 * so outcomes reach the source in order. Due: pending or failed with next_attempt_at <= now, or without
 * next_attempt_at when an earlier run (not `runId`) left it — so a run that drains until empty does not
 * spin on what it just failed. Guarded UPDATE (plus SKIP LOCKED on PostgreSQL): concurrent claimers never
 * get the same row.
 */
export async function claimOutbox(
  db: Knex,
  limit: number,
  runId: string,
  options: { now?: string; target?: string } = {},
): Promise<OutboxRow[]> {
  const now = options.now === undefined ? nowIso() : toIsoTimestamp(options.now, 'claimOutbox now');
  return ledgerOperation('claimOutbox', async () => {
    const candidates = dueOutcomes(db, { now, limit, runId, target: options.target });
    const claimed = (await whereInClaimed(
      db,
      db(TABLE.outbox).whereIn('state', CLAIMABLE_STATES),
      'id',
      candidates,
    )
      .update({
        state: 'sending',
        attempts: db.raw('attempts + 1'),
        run_id: runId,
        next_attempt_at: null,
        updated_at: nowIso(),
      })
      .returning('*')) as OutboxDbRow[];
    return claimed.map(fromOutboxRow).sort((a, b) => a.id - b.id);
  });
}

function dueOutcomes(
  db: Knex,
  due: { now: string; limit: number; runId: string; target: string | undefined },
): Knex.QueryBuilder {
  const { now, limit, runId, target } = due;
  const earlierUnsettled = db({ earlier: TABLE.outbox })
    .select(db.raw('1'))
    .whereRaw('?? = ??', ['earlier.referral_id', 'due.referral_id'])
    .andWhereRaw('?? = ??', ['earlier.target', 'due.target'])
    .andWhereRaw('?? < ??', ['earlier.id', 'due.id'])
    .whereIn('earlier.state', UNSETTLED_STATES);
  const candidates = db({ due: TABLE.outbox })
    .select('due.id')
    .whereIn('due.state', CLAIMABLE_STATES)
    .andWhere((q) =>
      q
        .where('due.next_attempt_at', '<=', now)
        .orWhere((untimed) =>
          untimed
            .whereNull('due.next_attempt_at')
            .andWhere((other) => other.whereNull('due.run_id').orWhereNot('due.run_id', runId)),
        ),
    )
    .whereNotExists(earlierUnsettled)
    .orderBy('due.id')
    .limit(limit);
  if (target !== undefined) candidates.andWhere('due.target', target);
  if (clientOf(db) === 'pg') candidates.forUpdate().skipLocked();
  return candidates;
}

/**
 * Moves one outcome along OUTBOX_TRANSITIONS (checked first): sent stamps sent_at; failed and quarantined keep
 * the error, failed also when to try again (`nextAttemptAt`, null = at the next claim).
 */
export async function markOutbox(
  db: Knex,
  id: number,
  to: OutboxState,
  error?: OutboxError | null,
  options: { nextAttemptAt?: string | null } = {},
): Promise<void> {
  await ledgerOperation(`markOutbox(${id} → ${to})`, async () => {
    const current = (await db<OutboxDbRow>(TABLE.outbox)
      .where({ id })
      .first('state', 'referral_id', 'action')) as
      Pick<OutboxDbRow, 'state' | 'referral_id' | 'action'> | undefined;
    if (!current) throw new LeadbridgeError('LEDGER_ERROR', `outbox row ${id} does not exist`);
    const subject = `for outbox row ${id} (${current.action} of referral "${current.referral_id}")`;
    assertMove(OUTBOX_TRANSITIONS, 'outbox', current.state, to, subject);
    const updated = await db(TABLE.outbox)
      .where({ id, state: current.state })
      .update(outboxMoveColumns(db, id, to, error, options.nextAttemptAt));
    if (updated !== 1)
      throw new LeadbridgeError(
        'LEDGER_ERROR',
        `outbox row ${id} changed state while being marked ${to}; reload it`,
      );
  });
}

export interface OutboxMark {
  id: number;
  to: OutboxState;
  error?: OutboxError | null;
  nextAttemptAt?: string | null;
}

/**
 * Marks many rows at once (a drained round): every move is checked against OUTBOX_TRANSITIONS first, and
 * nothing is written if one is illegal. Rows with the same move and no error share one UPDATE.
 */
export async function markOutboxMany(db: Knex, marks: OutboxMark[]): Promise<void> {
  if (marks.length === 0) return;
  await ledgerOperation(`markOutboxMany(${marks.length} rows)`, async () => {
    const current = new Map<
      number,
      Pick<OutboxDbRow, 'state' | 'referral_id' | 'action'> & { id: number }
    >();
    for (const ids of chunk(
      marks.map((m) => m.id),
      idsPerQuery(db),
    )) {
      const rows = (await db<OutboxDbRow>(TABLE.outbox)
        .whereIn('id', ids)
        .select('id', 'state', 'referral_id', 'action')) as Array<
        Pick<OutboxDbRow, 'state' | 'referral_id' | 'action'> & { id: number | string }
      >;
      for (const row of rows) current.set(Number(row.id), { ...row, id: Number(row.id) });
    }
    for (const mark of marks) {
      const row = current.get(mark.id);
      if (!row) throw new LeadbridgeError('LEDGER_ERROR', `outbox row ${mark.id} does not exist`);
      assertMove(
        OUTBOX_TRANSITIONS,
        'outbox',
        row.state,
        mark.to,
        `for outbox row ${mark.id} (${row.action} of referral "${row.referral_id}")`,
      );
    }
    const plain = new Map<string, number[]>();
    for (const mark of marks) {
      const from = (current.get(mark.id) as { state: OutboxState }).state;
      if (mark.error || mark.nextAttemptAt) {
        const updated = await db(TABLE.outbox)
          .where({ id: mark.id, state: from })
          .update(outboxMoveColumns(db, mark.id, mark.to, mark.error, mark.nextAttemptAt));
        if (updated !== 1)
          throw new LeadbridgeError(
            'LEDGER_ERROR',
            `outbox row ${mark.id} changed state while being marked ${mark.to}; reload it`,
          );
      } else {
        const key = `${from}→${mark.to}`;
        plain.set(key, [...(plain.get(key) ?? []), mark.id]);
      }
    }
    for (const [key, ids] of plain) {
      const [from, to] = key.split('→') as [OutboxState, OutboxState];
      for (const batch of chunk(ids, idsPerQuery(db))) {
        const updated = toNumber(
          await db(TABLE.outbox)
            .whereIn('id', batch)
            .andWhere({ state: from })
            .update(outboxMoveColumns(db, batch[0] as number, to, null, null)),
        );
        if (updated !== batch.length)
          throw new LeadbridgeError(
            'LEDGER_ERROR',
            `${batch.length - updated} outbox rows changed state while being marked ${to}; reload them`,
          );
      }
    }
  });
}

function outboxMoveColumns(
  db: Knex,
  id: number,
  to: OutboxState,
  error: OutboxError | null | undefined,
  nextAttemptAt: string | null | undefined,
) {
  const now = nowIso();
  const failure =
    error === undefined || error === null
      ? null
      : typeof error === 'string'
        ? { code: null, message: error }
        : error;
  const base = { state: to, updated_at: now };
  switch (to) {
    case 'sent':
      return {
        ...base,
        sent_at: now,
        last_error: null,
        last_error_code: null,
        next_attempt_at: null,
      };
    case 'failed':
      return {
        ...base,
        last_error: failure?.message ?? null,
        last_error_code: failure?.code ?? null,
        next_attempt_at: nextAttemptAt
          ? toIsoTimestamp(nextAttemptAt, `nextAttemptAt for outbox row ${id}`)
          : null,
      };
    case 'quarantined':
      return failure
        ? {
            ...base,
            last_error: failure.message,
            last_error_code: failure.code,
            next_attempt_at: null,
          }
        : { ...base, next_attempt_at: null };
    case 'sending':
      return { ...base, attempts: db.raw('attempts + 1'), next_attempt_at: null };
    case 'pending':
    case 'superseded':
      return { ...base, next_attempt_at: null };
  }
}

/**
 * Recovery after a crash: outcomes left in sending since before `olderThan` go back to pending, to be claimed by a
 * later run. Whether such a send landed is unknown, so the handler must check the referral before sending again.
 */
export async function releaseStaleSending(db: Knex, olderThan: string): Promise<number> {
  assertMove(OUTBOX_TRANSITIONS, 'outbox', 'sending', 'pending', 'when releasing stale claims');
  const cutoff = toIsoTimestamp(olderThan, 'releaseStaleSending olderThan');
  return ledgerOperation('releaseStaleSending', async () =>
    toNumber(
      await db(TABLE.outbox)
        .where({ state: 'sending' })
        .andWhere('updated_at', '<', cutoff)
        .update({ state: 'pending', updated_at: nowIso() }),
    ),
  );
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

/** Rows per target and state; `states` narrows it (the worker's gauge counts only the unsettled ones each cycle). */
export async function countOutboxByState(
  db: Knex,
  states?: readonly OutboxState[],
): Promise<Array<{ target: string; state: OutboxState; count: number }>> {
  return ledgerOperation('countOutboxByState', async () => {
    const query = db(TABLE.outbox);
    if (states !== undefined) query.whereIn('state', [...states]);
    const rows = (await query
      .select('target', 'state')
      .count({ count: '*' })
      .groupBy('target', 'state')
      .orderBy([{ column: 'target' }, { column: 'state' }])) as Array<{
      target: string;
      state: OutboxState;
      count: number | string;
    }>;
    return rows.map((row) => ({
      target: row.target,
      state: row.state,
      count: toNumber(row.count),
    }));
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

/** The error code of an outcome set aside because the CRM record lacks a field its action needs. */
export const OUTCOME_INCOMPLETE = 'OUTCOME_INCOMPLETE';

/**
 * Operator retry of quarantined outcomes. One Partner Center refused (or that failed too often) goes back to pending
 * with a fresh attempt budget. One quarantined for a missing field carries no sendable payload: it is flagged (its
 * next_attempt_at set, state kept) for the next cycle to read its CRM record again, e.g. after a mapping fix that
 * changed nothing in the CRM, so the change stream would not bring it back.
 */
export async function retryQuarantinedOutbox(
  db: Knex,
  options: { target?: string; referralIds?: string[]; now: string },
): Promise<{ resend: number; recheck: number }> {
  assertMove(
    OUTBOX_TRANSITIONS,
    'outbox',
    'quarantined',
    'pending',
    'when retrying quarantined outcomes',
  );
  const now = toIsoTimestamp(options.now, 'retryQuarantinedOutbox now');
  return ledgerOperation('retryQuarantinedOutbox', async () => {
    const scope = () => {
      const query = db(TABLE.outbox).where({ state: 'quarantined' });
      if (options.target !== undefined) query.andWhere({ target: options.target });
      if (options.referralIds !== undefined) query.whereIn('referral_id', options.referralIds);
      return query;
    };
    const recheck = toNumber(
      await scope()
        .andWhere({ last_error_code: OUTCOME_INCOMPLETE })
        .update({ next_attempt_at: now, updated_at: nowIso() }),
    );
    const resend = toNumber(
      await scope()
        .andWhere((q) =>
          q.whereNull('last_error_code').orWhereNot('last_error_code', OUTCOME_INCOMPLETE),
        )
        .update({ state: 'pending', attempts: 0, next_attempt_at: null, updated_at: nowIso() }),
    );
    return { resend, recheck };
  });
}

/** Quarantined outcomes of a target whose CRM record an operator asked to be read again (retryQuarantinedOutbox). */
export async function listRecheckRequests(
  db: Knex,
  target: string,
  limit = 500,
): Promise<OutboxRow[]> {
  return ledgerOperation(`listRecheckRequests("${target}")`, async () => {
    const rows = (await db<OutboxDbRow>(TABLE.outbox)
      .where({ state: 'quarantined', target })
      .whereNotNull('next_attempt_at')
      .orderBy('id')
      .limit(limit)) as OutboxDbRow[];
    return rows.map(fromOutboxRow);
  });
}

/** The recheck is done (the outcome moved on, or is still incomplete): the flag goes. */
export async function clearRecheckRequests(db: Knex, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await ledgerOperation('clearRecheckRequests', async () => {
    for (const batch of chunk(ids, idsPerQuery(db)))
      await db(TABLE.outbox)
        .whereIn('id', batch)
        .andWhere({ state: 'quarantined' })
        .update({ next_attempt_at: null });
  });
}
