// The cluster's own tables on PostgreSQL: tenants (their YAML, never a secret), worker heartbeats,
// last cycles.
import type { Knex } from 'knex';

export const CLUSTER_TABLE = {
  tenants: 'leadbridge_tenants',
  workers: 'leadbridge_workers',
  cycles: 'leadbridge_tenant_cycles',
} as const;

export interface TenantRow {
  id: string;
  name: string;
  enabled: boolean;
  /** The tenant file as written: secrets stay ${VARIABLE} references, resolved by each worker. */
  yaml: string;
  /** Where the file was added from: its relative paths (mappings, key files) resolve against it. */
  baseDir: string;
  intervalSeconds: number;
  addedAt: string;
  updatedAt: string;
}

export interface TenantCycleRow {
  tenant: string;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  /** ok, failed (a target down or the cycle threw) */
  lastResult: string | null;
  lastError: string | null;
  lastWorker: string | null;
  /**
   * Start of the last cycle that read everything there was: nothing changed before it is unsynced.
   */
  caughtUpAt: string | null;
  cycles: number;
}

export interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  beatAt: string;
  running: number;
  stoppedAt: string | null;
}

/** Creates the cluster tables once (workers starting together serialise on an advisory lock). */
export async function migrateClusterTables(db: Knex, schema: string | undefined): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [
      `leadbridge-cluster:${schema ?? 'public'}`,
    ]);
    if (schema) await trx.raw('create schema if not exists ??', [schema]);
    const s = () => trx.schema.withSchema(schema ?? 'public');
    if (!(await s().hasTable(CLUSTER_TABLE.tenants)))
      await s().createTable(CLUSTER_TABLE.tenants, (t) => {
        t.string('id', 40).primary();
        t.text('name').notNullable();
        t.boolean('enabled').notNullable().defaultTo(true);
        t.text('yaml').notNullable();
        t.text('base_dir').notNullable();
        t.integer('interval_seconds').notNullable();
        t.string('added_at', 32).notNullable();
        t.string('updated_at', 32).notNullable();
      });
    if (!(await s().hasTable(CLUSTER_TABLE.workers)))
      await s().createTable(CLUSTER_TABLE.workers, (t) => {
        t.string('id', 200).primary();
        t.text('host').notNullable();
        t.integer('pid').notNullable();
        t.string('started_at', 32).notNullable();
        t.string('beat_at', 32).notNullable();
        t.integer('running').notNullable().defaultTo(0);
        t.string('stopped_at', 32).nullable();
      });
    if (!(await s().hasTable(CLUSTER_TABLE.cycles)))
      await s().createTable(CLUSTER_TABLE.cycles, (t) => {
        t.string('tenant', 40).primary();
        t.string('last_started_at', 32).nullable();
        t.string('last_finished_at', 32).nullable();
        t.string('last_result', 16).nullable();
        t.text('last_error').nullable();
        t.string('last_worker', 200).nullable();
        t.string('caught_up_at', 32).nullable();
        t.integer('cycles').notNullable().defaultTo(0);
      });
  });
}

function toTenant(row: Record<string, unknown>): TenantRow {
  return {
    id: String(row.id),
    name: String(row.name),
    enabled: Boolean(row.enabled),
    yaml: String(row.yaml),
    baseDir: String(row.base_dir),
    intervalSeconds: Number(row.interval_seconds),
    addedAt: String(row.added_at),
    updatedAt: String(row.updated_at),
  };
}

/**
 * Adds a tenant, or replaces its file when it exists (enabled state kept); true when it was new.
 */
export async function upsertTenant(
  db: Knex,
  tenant: Omit<TenantRow, 'addedAt' | 'updatedAt' | 'enabled'>,
  now: Date,
): Promise<boolean> {
  const at = now.toISOString();
  const rows = await db(CLUSTER_TABLE.tenants)
    .insert({
      id: tenant.id,
      name: tenant.name,
      enabled: true,
      yaml: tenant.yaml,
      base_dir: tenant.baseDir,
      interval_seconds: tenant.intervalSeconds,
      added_at: at,
      updated_at: at,
    })
    .onConflict('id')
    .merge(['name', 'yaml', 'base_dir', 'interval_seconds', 'updated_at'])
    .returning(['added_at']);
  return (rows[0] as { added_at: string } | undefined)?.added_at === at;
}

export async function listTenants(db: Knex): Promise<TenantRow[]> {
  const rows = await db(CLUSTER_TABLE.tenants).select().orderBy('id');
  return rows.map(toTenant);
}

export async function getTenant(db: Knex, id: string): Promise<TenantRow | null> {
  const row = await db(CLUSTER_TABLE.tenants).where({ id }).first();
  return row ? toTenant(row) : null;
}

/** Enables or disables a tenant; false when there is no such tenant. */
export async function setTenantEnabled(
  db: Knex,
  id: string,
  enabled: boolean,
  now: Date,
): Promise<boolean> {
  const n = await db(CLUSTER_TABLE.tenants)
    .where({ id })
    .update({ enabled, updated_at: now.toISOString() });
  return n > 0;
}

export async function removeTenant(db: Knex, id: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    await trx(CLUSTER_TABLE.cycles).where({ tenant: id }).delete();
    return (await trx(CLUSTER_TABLE.tenants).where({ id }).delete()) > 0;
  });
}

/** A cycle began on a worker. */
export async function noteCycleStart(
  db: Knex,
  tenant: string,
  worker: string,
  at: Date,
): Promise<void> {
  await db(CLUSTER_TABLE.cycles)
    .insert({ tenant, last_started_at: at.toISOString(), last_worker: worker, cycles: 0 })
    .onConflict('tenant')
    .merge({ last_started_at: at.toISOString(), last_worker: worker });
}

/**
 * A cycle ended; `caughtUp` when it read everything there was (its start becomes the lag's floor).
 */
export async function noteCycleEnd(
  db: Knex,
  tenant: string,
  end: { startedAt: Date; finishedAt: Date; ok: boolean; error: string | null; caughtUp: boolean },
): Promise<void> {
  await db(CLUSTER_TABLE.cycles)
    .where({ tenant })
    .update({
      last_finished_at: end.finishedAt.toISOString(),
      last_result: end.ok ? 'ok' : 'failed',
      last_error: end.error,
      cycles: db.raw('cycles + 1'),
      ...(end.caughtUp && end.ok ? { caught_up_at: end.startedAt.toISOString() } : {}),
    });
}

export async function listTenantCycles(db: Knex): Promise<TenantCycleRow[]> {
  const rows = (await db(CLUSTER_TABLE.cycles).select()) as Array<Record<string, unknown>>;
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return rows.map((row) => ({
    tenant: String(row.tenant),
    lastStartedAt: text(row.last_started_at),
    lastFinishedAt: text(row.last_finished_at),
    lastResult: text(row.last_result),
    lastError: text(row.last_error),
    lastWorker: text(row.last_worker),
    caughtUpAt: text(row.caught_up_at),
    cycles: Number(row.cycles),
  }));
}

/** The worker's heartbeat: its row is written on start and refreshed every beat. */
export async function beat(
  db: Knex,
  worker: Omit<WorkerRow, 'stoppedAt' | 'beatAt'>,
  at: Date,
  stopped = false,
): Promise<void> {
  const row = {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    started_at: worker.startedAt,
    beat_at: at.toISOString(),
    running: worker.running,
    stopped_at: stopped ? at.toISOString() : null,
  };
  await db(CLUSTER_TABLE.workers)
    .insert(row)
    .onConflict('id')
    .merge(['beat_at', 'running', 'stopped_at']);
}

export async function listWorkers(db: Knex): Promise<WorkerRow[]> {
  const rows = (await db(CLUSTER_TABLE.workers).select().orderBy('id')) as Array<
    Record<string, unknown>
  >;
  return rows.map((row) => ({
    id: String(row.id),
    host: String(row.host),
    pid: Number(row.pid),
    startedAt: String(row.started_at),
    beatAt: String(row.beat_at),
    running: Number(row.running),
    stoppedAt: row.stopped_at === null ? null : String(row.stopped_at),
  }));
}
