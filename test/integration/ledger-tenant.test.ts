// Every ledger row carries its tenant: an existing single-partner ledger is upgraded in place (its
// rows become the
// default tenant's, nothing lost), and a cluster tenant's ledger stamps its rows with its id.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { getCursor, openLedger, setCursor } from '../../src/ledger/index.js';
import { migrationSource } from '../../src/ledger/migrations.js';
import { describeWithPg } from './support/pg.js';

describe('ledger tenant column (SQLite)', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(
    'upgrades a ledger written before tenants in place: its rows become the default ' + 'tenant',
    async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'lb-tenant-col-'));
      const filename = path.join(dir, 'ledger.sqlite');
      // A ledger as the release before tenants left it: migrations 0001-0005, with rows in it.
      const old = knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true });
      for (let i = 0; i < 5; i++)
        await old.migrate.up({ migrationSource, tableName: 'lb_migrations' });
      await old('lb_cursors').insert({
        name: 'inbound:dynamics',
        value: '2026-12-01T00:00:00Z',
        updated_at: '2026-12-01T00:00:01Z',
      });
      await old.destroy();

      const ledger = await openLedger({ client: 'sqlite', filename });
      try {
        expect(await getCursor(ledger.db, 'inbound:dynamics')).toBe('2026-12-01T00:00:00Z');
        await setCursor(ledger.db, 'inbound:salesforce', '2026-12-02T00:00:00Z');
        expect(await ledger.db('lb_cursors').select('name', 'tenant').orderBy('name')).toEqual([
          { name: 'inbound:dynamics', tenant: 'default' },
          { name: 'inbound:salesforce', tenant: 'default' },
        ]);
        const names = (await ledger.db('lb_migrations').select('name').orderBy('id')).map(
          (row: { name: string }) => row.name,
        );
        expect(names).toEqual([
          '0001_initial',
          '0002_referral_echoes',
          '0003_claim_leases',
          '0004_link_conversion',
          '0005_console_facts',
          '0006_tenant_column',
        ]);
      } finally {
        await ledger.close();
      }
    },
  );
});

describeWithPg('ledger tenant column (PostgreSQL)', (url) => {
  const schema = `lb_tenant_col_${process.pid}`;
  afterAll(async () => {
    const db = knex({ client: 'pg', connection: url });
    await db.raw('drop schema if exists ?? cascade', [schema]);
    await db.destroy();
  });

  it("stamps a tenant ledger's rows with its tenant, also after reopening", async () => {
    for (const round of [1, 2]) {
      const ledger = await openLedger({ client: 'pg', connection: url, schema, tenant: 'acme' });
      try {
        await setCursor(ledger.db, `inbound:round${round}`, '2026-12-02T00:00:00Z');
      } finally {
        await ledger.close();
      }
    }
    const db = knex({ client: 'pg', connection: url });
    try {
      const rows = await db
        .withSchema(schema)
        .table('lb_cursors')
        .select('name', 'tenant')
        .orderBy('name');
      expect(rows).toEqual([
        { name: 'inbound:round1', tenant: 'acme' },
        { name: 'inbound:round2', tenant: 'acme' },
      ]);
    } finally {
      await db.destroy();
    }
  });
});
