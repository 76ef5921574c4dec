// Operator retry of quarantined outbox rows, and the recheck requests it leaves for the next cycle.
import type { Knex } from 'knex';
import {
  chunk,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  toIsoTimestamp,
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';
import { fromOutboxRow, OUTBOX_TRANSITIONS, type OutboxDbRow, type OutboxRow } from './outbox.js';
import { assertMove } from './transitions.js';

/** The error code of an outcome set aside because the CRM record lacks a field its action needs. */
export const OUTCOME_INCOMPLETE = 'OUTCOME_INCOMPLETE';

/**
 * Operator retry of quarantined outcomes. One Partner Center refused (or that failed too often)
 * goes back to pending with a fresh attempt budget. One quarantined for a missing field carries no
 * sendable payload: it is flagged (its next_attempt_at set, state kept) for the next cycle to read
 * its CRM record again, e.g. after a mapping fix that changed nothing in the CRM, so the change
 * stream would not bring it back.
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

/**
 * Quarantined outcomes of a target whose CRM record an operator asked to be read again
 * (retryQuarantinedOutbox).
 */
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
