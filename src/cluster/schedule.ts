// The scheduler's question to PostgreSQL: which enabled tenants have neither a waiting job nor a
// running cycle.
import type { Knex } from 'knex';
import { CYCLE_QUEUE, LOCK_CLASS } from './engine.js';
import { CLUSTER_TABLE } from './store.js';

export interface DueTenant {
  id: string;
  /** Seconds until its interval since the last cycle has passed (0: now). */
  delaySeconds: number;
}

/**
 * Every worker asks this every few seconds; a killed worker's tenant (its lock gone with its
 * session, its
 * job left active until the engine expires it) shows up here at once and is sent a fresh job.
 */
export async function tenantsWithoutWork(
  db: Knex,
  bossSchema: string,
  now: Date,
): Promise<DueTenant[]> {
  const rows = (await db.raw(
    `select t.id, t.interval_seconds, c.last_finished_at,
            c.last_result = 'ok' and (c.caught_up_at is null
              or c.caught_up_at < c.last_started_at) as backlog
       from ?? t left join ?? c on c.tenant = t.id
      where t.enabled
        and not exists (select 1 from ??.job j
              where j.name = ? and j.singleton_key = t.id and j.state < 'active')
        and not exists (select 1 from pg_locks l
              where l.locktype = 'advisory' and l.classid = ?::oid and l.objsubid = 2
                and l.granted and l.objid = hashtext(t.id)::oid)
      order by t.id`,
    [CLUSTER_TABLE.tenants, CLUSTER_TABLE.cycles, bossSchema, CYCLE_QUEUE, LOCK_CLASS],
  )) as {
    rows: Array<{
      id: string;
      interval_seconds: number;
      last_finished_at: string | null;
      backlog: boolean | null;
    }>;
  };
  return rows.rows.map((row) => {
    // A tenant whose last good cycle left more to read is due now: its worker sends that job
    // just after releasing the lock, and a scheduler asking in between must not delay it an
    // interval.
    if (row.backlog === true) return { id: row.id, delaySeconds: 0 };
    const last = row.last_finished_at ? Date.parse(row.last_finished_at) : Number.NaN;
    const due = Number.isNaN(last) ? 0 : last + row.interval_seconds * 1000 - now.getTime();
    return { id: row.id, delaySeconds: Math.max(0, due / 1000) };
  });
}

/** Jobs of the cycle queue by state (waiting = created + retry, running = active). */
export async function jobCounts(
  db: Knex,
  bossSchema: string,
): Promise<{ waiting: number; running: number }> {
  const result = (await db.raw(
    `select count(*) filter (where state < 'active')::int as waiting,
            count(*) filter (where state = 'active')::int as running
       from ??.job where name = ?`,
    [bossSchema, CYCLE_QUEUE],
  )) as { rows: Array<{ waiting: number; running: number }> };
  return result.rows[0] ?? { waiting: 0, running: 0 };
}

/** Tenants whose cycle runs right now (their lock is held somewhere in the cluster). */
export async function runningTenants(db: Knex): Promise<Set<string>> {
  const result = (await db.raw(
    `select t.id from ?? t join pg_locks l
        on l.locktype = 'advisory' and l.classid = ?::oid and l.objsubid = 2
       and l.granted and l.objid = hashtext(t.id)::oid`,
    [CLUSTER_TABLE.tenants, LOCK_CLASS],
  )) as { rows: Array<{ id: string }> };
  return new Set(result.rows.map((row) => row.id));
}
