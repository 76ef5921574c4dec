// Marking outbox rows: every move checked against OUTBOX_TRANSITIONS first, one row or a drained
// round at once.
import type { Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import {
  chunk,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  toIsoTimestamp,
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';
import {
  OUTBOX_TRANSITIONS,
  type OutboxDbRow,
  type OutboxError,
  type OutboxState,
} from './outbox.js';
import { assertMove } from './transitions.js';

/**
 * Moves one outcome along OUTBOX_TRANSITIONS (checked first): sent stamps sent_at; failed and
 * quarantined keep the error, failed also when to try again (`nextAttemptAt`, null = at the next
 * claim).
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
 * Marks many rows at once (a drained round): every move is checked against OUTBOX_TRANSITIONS
 * first, and nothing is written if one is illegal. Rows with the same move and no error share one
 * UPDATE.
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
            `${batch.length - updated} outbox rows changed state while being marked ${to}; ` +
              'reload them',
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
  // A row leaving `sending` is no one's claim any more.
  const base = { state: to, updated_at: now, claimed_by: null, lease_until: null };
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
