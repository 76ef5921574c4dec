// The ledger's schema as in-code knex migrations (no files on disk), applied by openLedger.
import type { Knex } from 'knex';

/** Every ledger table carries the `lb_` prefix so the ledger can share a database or schema. */
export const TABLE = {
  cursors: 'lb_cursors',
  links: 'lb_links',
  syncStates: 'lb_sync_states',
  audit: 'lb_audit',
  runs: 'lb_runs',
  outbox: 'lb_outbox',
  alerts: 'lb_alerts',
  echoes: 'lb_referral_echoes',
  referralFacts: 'lb_referral_facts',
  apiCalls: 'lb_api_calls',
  migrations: 'lb_migrations',
} as const;

interface LedgerMigration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

// Timestamps are ISO-8601 text on both databases so that comparisons behave the same. State lists
// are spelled out here (not imported) because a migration must not change when the code does.
async function createInitialSchema(db: Knex): Promise<void> {
  await createCursorsTable(db);
  await createLinksTable(db);
  await createSyncStatesTable(db);
  await createAuditTable(db);
  await createRunsTable(db);
  await createOutboxTable(db);
  await createAlertsTable(db);
}

function createCursorsTable(db: Knex) {
  return db.schema.createTable(TABLE.cursors, (t) => {
    t.text('name').primary();
    t.text('value').notNullable();
    t.text('updated_at').notNullable();
  });
}

function createLinksTable(db: Knex) {
  return db.schema.createTable(TABLE.links, (t) => {
    t.text('referral_id').notNullable();
    t.text('target').notNullable();
    t.text('crm_record_id');
    t.text('referral_etag');
    t.text('payload_hash');
    t.text('mapping_version');
    t.text('referral_updated_at');
    t.text('lead_kind');
    t.text('referral_status');
    t.text('crm_modified_at');
    t.text('created_at').notNullable();
    t.text('updated_at').notNullable();
    t.primary(['referral_id', 'target']);
    t.index(['target', 'crm_record_id'], 'lb_links_target_record_idx');
  });
}

function createSyncStatesTable(db: Knex) {
  return db.schema.createTable(TABLE.syncStates, (t) => {
    t.text('referral_id').notNullable();
    t.text('target').notNullable();
    t.text('state')
      .notNullable()
      .checkIn(['pending', 'applied', 'failed', 'quarantined'], 'lb_sync_states_state_check');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('next_retry_at');
    t.text('last_error');
    t.text('last_error_code');
    t.text('quarantine_reason');
    t.text('updated_at').notNullable();
    t.text('run_id');
    t.primary(['referral_id', 'target']);
    // claimDueRetries and countByState/listByState per target; resetToPending by state and age.
    t.index(['target', 'state', 'next_retry_at'], 'lb_sync_states_target_state_retry_idx');
    t.index(['state', 'updated_at'], 'lb_sync_states_state_updated_idx');
  });
}

function createAuditTable(db: Knex) {
  return db.schema.createTable(TABLE.audit, (t) => {
    t.bigIncrements('id').primary();
    t.text('at').notNullable();
    t.text('run_id').notNullable();
    t.text('referral_id');
    t.text('target');
    t.text('action').notNullable();
    t.text('crm_record_id');
    t.text('detail');
    t.index(['referral_id', 'id'], 'lb_audit_referral_idx');
    t.index(['run_id'], 'lb_audit_run_idx');
  });
}

function createRunsTable(db: Knex) {
  return db.schema.createTable(TABLE.runs, (t) => {
    t.increments('seq').primary();
    t.text('run_id').notNullable().unique({ indexName: 'lb_runs_run_id_unique' });
    t.text('kind').notNullable();
    t.text('status')
      .notNullable()
      .checkIn(['running', 'ok', 'failed', 'aborted'], 'lb_runs_status_check');
    t.text('started_at').notNullable();
    t.text('finished_at');
    t.text('stats');
    t.text('error');
  });
}

function createOutboxTable(db: Knex) {
  return db.schema.createTable(TABLE.outbox, (t) => {
    t.increments('id').primary();
    t.text('referral_id').notNullable();
    t.text('target').notNullable();
    t.text('action').notNullable();
    t.text('payload').notNullable();
    t.text('state')
      .notNullable()
      .checkIn(
        ['pending', 'sending', 'sent', 'failed', 'quarantined', 'superseded'],
        'lb_outbox_state_check',
      );
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.text('last_error_code');
    t.text('next_attempt_at');
    t.text('run_id');
    t.text('created_at').notNullable();
    t.text('updated_at').notNullable();
    t.text('sent_at');
    t.text('dedupe_key').notNullable().unique({ indexName: 'lb_outbox_dedupe_key_unique' });
    t.index(['state', 'next_attempt_at'], 'lb_outbox_state_idx');
    t.index(['referral_id', 'target', 'id'], 'lb_outbox_referral_idx');
  });
}

function createAlertsTable(db: Knex) {
  return db.schema.createTable(TABLE.alerts, (t) => {
    t.text('key').primary();
    t.text('kind').notNullable();
    t.text('referral_id');
    t.text('created_at').notNullable();
  });
}

/**
 * Fields leadbridge wrote into referrals (accept), one row per referral and field: only accepted
 * referrals have any.
 */
function createEchoesTable(db: Knex) {
  return db.schema.createTable(TABLE.echoes, (t) => {
    t.text('referral_id').notNullable();
    t.text('path').notNullable();
    t.text('written').notNullable();
    t.text('original').notNullable();
    t.text('recorded_at').notNullable();
    t.primary(['referral_id', 'path']);
  });
}

/**
 * The record a CRM lead became (converted / qualified): inbound changes then skip the locked lead.
 */
async function addLinkConversion(db: Knex): Promise<void> {
  await db.schema.alterTable(TABLE.links, (t) => {
    t.text('crm_converted_into');
  });
}

/**
 * Claims carry their owner and a lease (issue 18): an outbox row in `sending` and a `running` run
 * name the worker that holds them and until when; the live worker renews the lease, an expired one
 * is reclaimed by any worker. Added columns only, so an existing ledger is upgraded in place (its
 * rows get nulls: claims made before leases).
 */
async function addClaimLeases(db: Knex): Promise<void> {
  await db.schema.alterTable(TABLE.outbox, (t) => {
    t.text('claimed_by');
    t.text('lease_until');
    t.index(['state', 'lease_until'], 'lb_outbox_state_lease_idx');
  });
  await db.schema.alterTable(TABLE.runs, (t) => {
    t.text('owner');
    t.text('lease_until');
    t.index(['status', 'lease_until'], 'lb_runs_status_lease_idx');
  });
}

async function dropClaimLeases(db: Knex): Promise<void> {
  await db.schema.alterTable(TABLE.outbox, (t) => {
    t.dropIndex(['state', 'lease_until'], 'lb_outbox_state_lease_idx');
    t.dropColumn('claimed_by');
    t.dropColumn('lease_until');
  });
  await db.schema.alterTable(TABLE.runs, (t) => {
    t.dropIndex(['status', 'lease_until'], 'lb_runs_status_lease_idx');
    t.dropColumn('owner');
    t.dropColumn('lease_until');
  });
}

/** The ledger tables whose rows carry their tenant (every one but the migrator's own). */
const TENANT_TABLES = [
  TABLE.cursors,
  TABLE.links,
  TABLE.syncStates,
  TABLE.audit,
  TABLE.runs,
  TABLE.outbox,
  TABLE.alerts,
  TABLE.echoes,
  TABLE.referralFacts,
  TABLE.apiCalls,
] as const;

/** The tenant of a single-partner ledger, and of every row written before tenants existed. */
export const DEFAULT_TENANT = 'default';

/**
 * Every row carries its tenant (issue 15). Added with a default, so an existing single-partner
 * ledger is upgraded in place: its rows, and the rows it keeps writing, belong to the default
 * tenant. A cluster tenant's ledger (a schema of its own) sets the column's default to its id when
 * opened, so every insert is stamped without the repository functions naming it.
 */
async function addTenantColumn(db: Knex): Promise<void> {
  for (const table of TENANT_TABLES)
    await db.schema.alterTable(table, (t) => {
      t.string('tenant', 40).notNullable().defaultTo(DEFAULT_TENANT);
    });
}

async function dropTenantColumn(db: Knex): Promise<void> {
  for (const table of TENANT_TABLES)
    await db.schema.alterTable(table, (t) => {
      t.dropColumn('tenant');
    });
}

/**
 * Stamps a PostgreSQL tenant ledger's new rows with its tenant (once per schema: only if not yet).
 */
export async function setTenantDefault(db: Knex, schema: string, tenant: string): Promise<void> {
  const current = (await db.raw(
    `select column_default as d from information_schema.columns
      where table_schema = ? and table_name = ? and column_name = 'tenant'`,
    [schema, TABLE.runs],
  )) as { rows: Array<{ d: string | null }> };
  // DDL takes no bound values: the id is inlined, so it must be a plain identifier.
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(tenant)) throw new Error(`not a tenant id: "${tenant}"`);
  if (current.rows[0]?.d?.includes(`'${tenant}'`)) return;
  for (const table of TENANT_TABLES)
    await db.raw(`alter table ??.?? alter column tenant set default '${tenant}'`, [schema, table]);
}

/**
 * What the console shows that no other table holds: each referral's customer, hotness and answer
 * time (for the leads that need a human), and API calls per API and 5-minute bucket (for the
 * overview's chart).
 */
async function createConsoleTables(db: Knex): Promise<void> {
  await db.schema.createTable(TABLE.referralFacts, (t) => {
    t.text('referral_id').primary();
    t.text('customer_name');
    t.text('lead_kind');
    t.integer('hot').notNullable().defaultTo(0);
    t.text('status');
    t.text('substatus');
    t.text('received_at').notNullable();
    t.text('answered_at');
    t.text('referral_updated_at');
    t.text('seen_at').notNullable();
    t.index(['status', 'received_at'], 'lb_referral_facts_status_idx');
  });
  await db.schema.createTable(TABLE.apiCalls, (t) => {
    t.text('bucket').notNullable();
    t.text('api').notNullable();
    t.integer('calls').notNullable().defaultTo(0);
    t.integer('throttled').notNullable().defaultTo(0);
    t.integer('errors').notNullable().defaultTo(0);
    t.primary(['bucket', 'api']);
  });
}

const MIGRATIONS: readonly LedgerMigration[] = [
  {
    name: '0001_initial',
    up: createInitialSchema,
    async down(db) {
      for (const table of [
        'alerts',
        'outbox',
        'runs',
        'audit',
        'syncStates',
        'links',
        'cursors',
      ] as const) {
        await db.schema.dropTableIfExists(TABLE[table]);
      }
    },
  },
  {
    name: '0002_referral_echoes',
    up: createEchoesTable,
    async down(db) {
      await db.schema.dropTableIfExists(TABLE.echoes);
    },
  },
  { name: '0003_claim_leases', up: addClaimLeases, down: dropClaimLeases },
  {
    name: '0004_link_conversion',
    up: addLinkConversion,
    async down(db) {
      await db.schema.alterTable(TABLE.links, (t) => {
        t.dropColumn('crm_converted_into');
      });
    },
  },
  {
    name: '0005_console_facts',
    up: createConsoleTables,
    async down(db) {
      await db.schema.dropTableIfExists(TABLE.apiCalls);
      await db.schema.dropTableIfExists(TABLE.referralFacts);
    },
  },
  { name: '0006_tenant_column', up: addTenantColumn, down: dropTenantColumn },
];

/** Feeds knex's migrator from the list above instead of a migrations directory. */
export const migrationSource: Knex.MigrationSource<LedgerMigration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (migration) => migration.name,
  getMigration: async (migration) => ({ up: migration.up, down: migration.down }),
};
