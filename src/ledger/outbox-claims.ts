// Claiming outbox rows: a guarded claim that carries its owner and a lease, the lease renewed,
// expired claims reclaimed.
import type { Knex } from 'knex';
import {
  chunk,
  clientOf,
  idsPerQuery,
  ledgerOperation,
  nowIso,
  toIsoTimestamp,
  toNumber,
  whereInClaimed,
} from './dialect.js';
import { TABLE } from './migrations.js';
import {
  CLAIMABLE_STATES,
  fromOutboxRow,
  OUTBOX_TRANSITIONS,
  UNSETTLED_STATES,
  type OutboxDbRow,
  type OutboxRow,
} from './outbox.js';
import { assertMove } from './transitions.js';

/** Who holds a claim (a worker id) and until when, unless renewed (see renewClaims). */
export interface ClaimLease {
  owner: string;
  until: string;
}

/**
 * Claims up to `limit` due outcomes → sending, oldest first and only the oldest unsettled one per
 * referral, so outcomes reach the source in order. Due: pending or failed with next_attempt_at <=
 * now, or without next_attempt_at when an earlier run (not `runId`) left it — so a run that drains
 * until empty does not spin on what it just failed. Guarded UPDATE (plus SKIP LOCKED on
 * PostgreSQL): concurrent claimers never get the same row. With a lease, the claim carries its
 * owner and expiry (an expired one is reclaimed).
 */
export async function claimOutbox(
  db: Knex,
  limit: number,
  runId: string,
  options: { now?: string; target?: string; lease?: ClaimLease } = {},
): Promise<OutboxRow[]> {
  const now = options.now === undefined ? nowIso() : toIsoTimestamp(options.now, 'claimOutbox now');
  const lease = options.lease;
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
        claimed_by: lease?.owner ?? null,
        lease_until: lease ? toIsoTimestamp(lease.until, 'claimOutbox lease') : null,
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
 * The owner is alive: its outbox claims and its running runs hold until `until`. Returns the outbox
 * rows renewed.
 */
export async function renewClaims(db: Knex, lease: ClaimLease): Promise<number> {
  const until = toIsoTimestamp(lease.until, 'renewClaims until');
  return ledgerOperation('renewClaims', async () => {
    await db(TABLE.runs)
      .where({ status: 'running', owner: lease.owner })
      .update({ lease_until: until });
    return toNumber(
      await db(TABLE.outbox)
        .where({ state: 'sending', claimed_by: lease.owner })
        .update({ lease_until: until }),
    );
  });
}

/**
 * Recovery after a crash: claims whose send may or may not have landed go back to pending, to be
 * claimed again; the handlers read the referral fresh before sending, so a send that landed is
 * found done. `all` (an embedded ledger at start-up, which only this process owns) takes every
 * claim; `expiredBefore` only the claims whose lease ran out before it (or that carry none: made
 * before leases). Returns the rows reclaimed.
 */
export async function reclaimOutbox(
  db: Knex,
  scope: { all: true } | { expiredBefore: string },
): Promise<Array<Pick<OutboxRow, 'id' | 'referralId' | 'target' | 'action' | 'claimedBy'>>> {
  assertMove(OUTBOX_TRANSITIONS, 'outbox', 'sending', 'pending', 'when reclaiming claims');
  const cutoff =
    'expiredBefore' in scope ? toIsoTimestamp(scope.expiredBefore, 'reclaimOutbox') : null;
  return ledgerOperation('reclaimOutbox', async () => {
    const stale = db<OutboxDbRow>(TABLE.outbox).where({ state: 'sending' });
    if (cutoff !== null)
      stale.andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', cutoff));
    const found = (await stale.select(
      'id',
      'referral_id',
      'target',
      'action',
      'claimed_by',
    )) as Array<Pick<OutboxDbRow, 'id' | 'referral_id' | 'target' | 'action' | 'claimed_by'>>;
    const reclaimed = new Set<number>();
    for (const ids of chunk(
      found.map((row) => toNumber(row.id)),
      idsPerQuery(db),
    )) {
      // Guarded: a row its owner marked meanwhile, or another worker reclaimed first, is left
      // alone.
      const guarded = db(TABLE.outbox).whereIn('id', ids).andWhere({ state: 'sending' });
      if (cutoff !== null)
        guarded.andWhere((q) => q.whereNull('lease_until').orWhere('lease_until', '<', cutoff));
      const updated = (await guarded
        .update({ state: 'pending', claimed_by: null, lease_until: null, updated_at: nowIso() })
        .returning('id')) as Array<{ id: number | string } | number>;
      for (const row of updated) reclaimed.add(toNumber(typeof row === 'object' ? row.id : row));
    }
    return found
      .filter((row) => reclaimed.has(toNumber(row.id)))
      .map((row) => ({
        id: toNumber(row.id),
        referralId: row.referral_id,
        target: row.target,
        action: row.action,
        claimedBy: row.claimed_by ?? null,
      }));
  });
}
