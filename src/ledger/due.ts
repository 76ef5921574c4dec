// When the ledger next holds work that becomes due: the worker wakes then instead of waiting out
// its interval.
import type { Knex } from 'knex';
import { ledgerOperation, toIsoTimestamp, toNumber } from './dialect.js';
import { TABLE } from './migrations.js';
import { CLAIMABLE_STATES } from './outbox.js';

export interface NextDue {
  at: string;
  /** Only a claim's lease runs out then; it may be renewed by a live worker before it does. */
  leaseOnly: boolean;
}

/**
 * The earliest moment after `now` at which a failed sync is retried, an outbox row is tried again,
 * or a claim's lease runs out (a killed worker's, to be reclaimed). Work already due is not
 * counted: the cycle that just ran took what it could, and running again at once would only spin
 * on what it left (a disabled target's rows, say). Null: nothing becomes due later.
 */
export async function nextDueAt(db: Knex, now: string): Promise<NextDue | null> {
  const after = toIsoTimestamp(now, 'nextDueAt now');
  return ledgerOperation('nextDueAt', async () => {
    const retry = await earliest(
      db(TABLE.syncStates).where('state', 'failed').andWhere('next_retry_at', '>', after),
      'next_retry_at',
    );
    const attempt = await earliest(
      db(TABLE.outbox).whereIn('state', CLAIMABLE_STATES).andWhere('next_attempt_at', '>', after),
      'next_attempt_at',
    );
    const lease = await earliest(
      db(TABLE.outbox).where('state', 'sending').andWhere('lease_until', '>', after),
      'lease_until',
    );
    const work = [retry, attempt].filter((at): at is string => at !== null).sort()[0] ?? null;
    if (lease !== null && (work === null || lease < work)) return { at: lease, leaseOnly: true };
    return work === null ? null : { at: work, leaseOnly: false };
  });
}

/** Claims whose lease ran out by `now`: their worker stopped renewing them, so they are free. */
export async function expiredClaims(db: Knex, now: string): Promise<number> {
  const at = toIsoTimestamp(now, 'expiredClaims now');
  return ledgerOperation('expiredClaims', async () => {
    const row = (await db(TABLE.outbox)
      .where('state', 'sending')
      .andWhere('lease_until', '<=', at)
      .count({ n: '*' })
      .first()) as { n: number | string } | undefined;
    return toNumber(row?.n ?? 0);
  });
}

async function earliest(query: Knex.QueryBuilder, column: string): Promise<string | null> {
  const row = (await query.min({ at: column }).first()) as { at: string | null } | undefined;
  return row?.at ?? null;
}
