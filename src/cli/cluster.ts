// Cluster mode at the edge: the control schema, each tenant's config and ledger schema, `run` as a
// cluster worker.
import knex, { type Knex } from 'knex';
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError } from '../core/errors.js';
import { parseTenantFile } from '../cluster/tenant-file.js';
import { getTenant, migrateClusterTables, type TenantRow } from '../cluster/store.js';
import type { EnvMap } from '../config/index.js';
import { CRM_MODULES } from '../crm/modules.js';
// The tenant whose ledger is the config's own schema: a single-partner ledger becomes it,
// unchanged.
import { DEFAULT_TENANT } from '../ledger/index.js';

type PgLedger = Extract<LeadbridgeConfig['ledger'], { client: 'pg' }>;

/** The PostgreSQL ledger a cluster needs, or a clear refusal naming the setting. */
export function clusterLedger(config: LeadbridgeConfig, what: string): PgLedger {
  if (config.ledger.client !== 'pg')
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `${what} needs a PostgreSQL ledger (ledger.client: pg): tenants and the job queue live there`,
    );
  return config.ledger;
}

/**
 * Opens the control schema (the config's ledger.schema) and creates the cluster tables when
 * missing.
 */
export async function openControl(config: LeadbridgeConfig, what: string): Promise<Knex> {
  const ledger = clusterLedger(config, what);
  const db = knex({
    client: 'pg',
    connection: ledger.connection,
    ...(ledger.schema ? { searchPath: [ledger.schema] } : {}),
    pool: { min: 0, max: 2 },
  });
  try {
    await migrateClusterTables(db, ledger.schema);
    return db;
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `cannot open the cluster tables${ledger.schema ? ` in schema ${ledger.schema}` : ''}: ` +
        `${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * A tenant's ledger schema: the config's own for the default tenant, `<schema>_t_<id>` for the
 * others.
 */
export function tenantLedgerSchema(ledger: PgLedger, tenant: string): string | undefined {
  if (tenant === DEFAULT_TENANT) return ledger.schema;
  return `${ledger.schema ?? 'leadbridge'}_t_${tenant}`;
}

/**
 * The config a tenant's cycles and operator commands run with: its file, on its own ledger schema.
 */
export function tenantConfig(
  config: LeadbridgeConfig,
  tenant: TenantRow,
  env: EnvMap,
): LeadbridgeConfig {
  const ledger = clusterLedger(config, 'a tenant');
  const parsed = parseTenantFile(tenant.yaml, {
    id: tenant.id,
    file: `tenant ${tenant.id}`,
    env,
    cwd: tenant.baseDir,
    kinds: CRM_MODULES,
  }).config;
  const schema = tenantLedgerSchema(ledger, tenant.id);
  return {
    ...parsed,
    ledger: { client: 'pg', connection: ledger.connection, ...(schema ? { schema } : {}) },
    log: config.log,
    cluster: config.cluster,
  };
}

/**
 * `--tenant ID`: the worker config narrowed to one tenant, so every operator command sees only its
 * rows.
 */
export async function configForTenant(
  config: LeadbridgeConfig,
  id: string,
  env: EnvMap,
): Promise<LeadbridgeConfig> {
  const db = await openControl(config, '--tenant');
  try {
    const tenant = await getTenant(db, id);
    if (!tenant)
      throw new LeadbridgeError(
        'NOT_FOUND',
        `unknown tenant "${id}" (leadbridge tenants list shows the tenants)`,
      );
    return tenantConfig(config, tenant, env);
  } finally {
    await db.destroy();
  }
}
