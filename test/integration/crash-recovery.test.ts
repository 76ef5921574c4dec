// After a kill: claims and runs a dead worker left are taken back (SQLite at start-up, PostgreSQL
// by lease).
import knex, { type Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectStatus, formatStatus } from '../../src/cli/status.js';
import { silentLogger } from '../../src/core/log.js';
import {
  abortAbandonedRuns,
  auditTrail,
  claimOutbox,
  enqueueOutcomes,
  lastRuns,
  listOutbox,
  openLedger,
  reclaimOutbox,
  renewClaims,
  startRun,
  type Ledger,
  type LedgerConfig,
} from '../../src/ledger/index.js';
import { migrationSource, TABLE } from '../../src/ledger/migrations.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { recoverAbandoned } from '../../src/sync/recovery.js';
import { describeWithPg } from './support/pg.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

const REFERRALS_API = '/v1.0/engagements/referrals/';
const T0 = '2026-12-04T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();

let harness: Harness | undefined;
const schemas: Array<{ url: string; schema: string }> = [];

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const { url, schema } of schemas.splice(0)) {
    const db = knex({ client: 'pg', connection: url });
    await db.raw('drop schema if exists ?? cascade', [schema]);
    await db.destroy();
  }
});

/**
 * Twelve customer inquiries, written to Dynamics by an inbound pass; their write-backs wait in the
 * outbox.
 */
async function backfilledWithoutDrain(runtime: Runtime): Promise<string[]> {
  const ids = Array.from(
    { length: 12 },
    (_, i) => newCustomerInquiry(harness!.pc.store, { customerProfile: { name: `Co ${i}` } }).id,
  );
  const stats = await runtime.inbound.runCycle({ runId: 'before-kill' });
  expect(stats.created).toBe(12);
  return ids;
}

/** What a worker killed in the middle of its drain leaves: its run running, a round claimed. */
async function killedMidDrain(ledger: Ledger, leaseUntil: string): Promise<void> {
  const lease = { owner: 'host-a:4242:dead', until: leaseUntil };
  await startRun(ledger.db, { runId: 'killed-run', kind: 'sync', lease });
  const claimed = await claimOutbox(ledger.db, 5, 'killed-run', { lease });
  expect(claimed.map((row) => [row.action, row.claimedBy])).toEqual(
    Array(5).fill(['set-external-reference', 'host-a:4242:dead']),
  );
}

const referralPatches = () =>
  harness!.pc.server
    .requests()
    .filter((r) => r.method === 'PATCH' && r.path.startsWith(REFERRALS_API));

/**
 * The restarted worker's first cycle converges: every write-back sent once, audited, nothing left
 * claimed.
 */
async function expectConvergedAfterRestart(restarted: Runtime, ids: string[]): Promise<void> {
  const result = await restarted.syncOnce({ runId: 'after-restart' });
  expect(result.outbox.byKind['set-external-reference']).toEqual({
    sent: 12,
    failed: 0,
    superseded: 0,
    quarantined: 0,
  });
  expect(result.inbound.externalReferencesWritten).toBe(12);
  expect(referralPatches()).toHaveLength(12);
  for (const id of ids) {
    const rows = await listOutbox(restarted.ledger.db, id);
    expect(rows.map((row) => [row.state, row.claimedBy, row.leaseUntil])).toEqual([
      ['sent', null, null],
    ]);
    const actions = (await auditTrail(restarted.ledger.db, id)).map((entry) => entry.action);
    expect(actions.filter((action) => action === 'external-reference-written')).toHaveLength(1);
  }
  const killed = (await lastRuns(restarted.ledger.db, 5)).find((r) => r.runId === 'killed-run');
  expect(killed).toMatchObject({ status: 'aborted' });
  expect(killed?.finishedAt).not.toBeNull();
}

function defineRestartSuite(ledgerConfig: () => LedgerConfig): void {
  it('after a kill mid-drain the restart converges in a cycle, each write-back once', async () => {
    harness = await startHarness();
    const withLedger = (config: Harness['config']) => ({ ...config, ledger: ledgerConfig() });
    const first = await harness.runtime(withLedger);
    const ids = await backfilledWithoutDrain(first);
    // A lease that ran out (on SQLite even a live-looking one is taken back at start-up: see
    // below).
    await killedMidDrain(first.ledger, at(-60));
    await first.close();

    const restarted = await harness.runtime(withLedger);
    await expectConvergedAfterRestart(restarted, ids);
    const reclaimed = (
      await Promise.all(ids.map((id) => auditTrail(restarted.ledger.db, id)))
    ).flatMap((trail) => trail.filter((entry) => entry.action === 'outbox-reclaimed'));
    expect(reclaimed).toHaveLength(5);
    expect(reclaimed[0]).toMatchObject({
      runId: 'after-restart',
      detail: { action: 'set-external-reference', claimedBy: 'host-a:4242:dead' },
    });
    const status = formatStatus(
      await collectStatus(restarted.config, restarted.ledger, 'the test ledger'),
    );
    expect(status).toMatch(/ killed-run sync aborted error: aborted: /);
  });
}

describe('crash recovery on a SQLite ledger', () => {
  defineRestartSuite(() => ({ client: 'sqlite', filename: `${harness!.dir}/ledger.sqlite` }));

  it('at start-up every claim and running run is taken back, whatever its lease says', async () => {
    harness = await startHarness();
    const first = await harness.runtime();
    const ids = await backfilledWithoutDrain(first);
    // Leased for an hour: only a process that owns the file could have made it, and that process is
    // gone.
    await killedMidDrain(first.ledger, new Date(Date.now() + 3_600_000).toISOString());
    await first.close();
    await expectConvergedAfterRestart(await harness.runtime(), ids);
  });
});

describeWithPg('crash recovery on a PostgreSQL ledger', (url) => {
  const freshSchema = () => {
    const schema = `lb_crash_${randomBytes(4).toString('hex')}`;
    schemas.push({ url, schema });
    return schema;
  };
  let schema = '';
  defineRestartSuite(() => {
    schema ||= freshSchema();
    return { client: 'pg', connection: url, schema };
  });

  it('leaves a live peer’s claims and run alone, takes them once its lease ran out', async () => {
    schema = freshSchema();
    harness = await startHarness();
    const runtime = await harness.runtime((config) => ({
      ...config,
      ledger: { client: 'pg', connection: url, schema },
    }));
    const { ledger } = runtime;
    const ids = await backfilledWithoutDrain(runtime);
    const lease = { owner: 'host-b:77:peer', until: new Date(Date.now() + 60_000).toISOString() };
    await startRun(ledger.db, { runId: 'peer-run', kind: 'sync', lease });
    expect(await claimOutbox(ledger.db, 3, 'peer-run', { lease })).toHaveLength(3);

    const context = { runId: 'r1', logger: silentLogger, now: new Date() };
    expect(await recoverAbandoned(ledger, context)).toEqual({ reclaimed: 0, abortedRuns: [] });
    const later = { ...context, runId: 'r2', now: new Date(Date.now() + 61_000) };
    expect(await recoverAbandoned(ledger, later)).toEqual({
      reclaimed: 3,
      abortedRuns: ['peer-run'],
    });
    const states = await Promise.all(ids.map((id) => listOutbox(ledger.db, id)));
    expect(states.flat().map((row) => row.state)).toEqual(Array(12).fill('pending'));
  });
});

/** The lease rules themselves, on one ledger of each kind. */
function defineLeaseSuite(open: () => Promise<Ledger>): void {
  it('a claim holds while renewed, is taken back once its lease ran out; runs alike', async () => {
    const ledger = await open();
    try {
      await enqueueOutcomes(ledger.db, [
        { referralId: 'R1', target: 'd', action: 'accept', payload: {}, dedupeKey: 'd:R1:accept' },
      ]);
      const lease = { owner: 'w1', until: at(30) };
      await startRun(ledger.db, { runId: 'run-w1', kind: 'sync', lease });
      const [row] = await claimOutbox(ledger.db, 10, 'run-w1', { lease, now: T0 });
      expect(row).toMatchObject({ state: 'sending', claimedBy: 'w1', leaseUntil: at(30) });

      expect(await reclaimOutbox(ledger.db, { expiredBefore: at(20) })).toEqual([]);
      expect(await renewClaims(ledger.db, { owner: 'w1', until: at(60) })).toBe(1);
      expect(await renewClaims(ledger.db, { owner: 'someone-else', until: at(90) })).toBe(0);
      expect(await reclaimOutbox(ledger.db, { expiredBefore: at(45) })).toEqual([]);
      expect(await abortAbandonedRuns(ledger.db, { expiredBefore: at(45) }, 'x')).toEqual([]);

      expect(await reclaimOutbox(ledger.db, { expiredBefore: at(61) })).toEqual([
        { id: row!.id, referralId: 'R1', target: 'd', action: 'accept', claimedBy: 'w1' },
      ]);
      expect(await abortAbandonedRuns(ledger.db, { expiredBefore: at(61) }, 'gone')).toEqual([
        'run-w1',
      ]);
      const [run] = await lastRuns(ledger.db, 1);
      expect(run).toMatchObject({ runId: 'run-w1', status: 'aborted', error: 'gone' });
      const [back] = await listOutbox(ledger.db, 'R1');
      expect(back).toMatchObject({ state: 'pending', claimedBy: null, leaseUntil: null });
    } finally {
      await ledger.close();
    }
  });
}

describe('claim leases on SQLite', () => {
  defineLeaseSuite(() => openLedger({ client: 'sqlite', filename: ':memory:' }));
});

describeWithPg('claim leases on PostgreSQL', (url) => {
  defineLeaseSuite(async () => {
    const schema = `lb_lease_${randomBytes(4).toString('hex')}`;
    schemas.push({ url, schema });
    return openLedger({ client: 'pg', connection: url, schema });
  });
});

/** The migrations of the version before leases (0001, 0002): the ledger an upgrade finds. */
const BEFORE_LEASES: typeof migrationSource = {
  ...migrationSource,
  getMigrations: async (loadExtensions) =>
    (await migrationSource.getMigrations(loadExtensions)).slice(0, 2),
};

/**
 * A ledger as the previous version left it after a kill: a row claimed, a run running, no lease
 * columns.
 */
async function killedOnOldVersion(db: Knex, schemaName?: string): Promise<void> {
  if (schemaName) await db.raw('create schema if not exists ??', [schemaName]);
  await db.migrate.latest({
    migrationSource: BEFORE_LEASES,
    tableName: TABLE.migrations,
    ...(schemaName ? { schemaName } : {}),
  });
  await db(TABLE.runs).insert({
    run_id: 'old-run',
    kind: 'sync',
    status: 'running',
    started_at: T0,
  });
  await db(TABLE.outbox).insert({
    referral_id: 'R1',
    target: 'd',
    action: 'accept',
    payload: '{}',
    state: 'sending',
    attempts: 1,
    run_id: 'old-run',
    created_at: T0,
    updated_at: T0,
    dedupe_key: 'd:R1:accept',
  });
  await db.destroy();
}

function defineUpgradeSuite(place: () => Promise<{ old: Knex; config: LedgerConfig }>): void {
  it('0003 upgrades a ledger in place; what a killed old worker left is taken back', async () => {
    const { old, config } = await place();
    await killedOnOldVersion(old, config.client === 'pg' ? config.schema : undefined);
    const ledger = await openLedger(config);
    try {
      const [row] = await listOutbox(ledger.db, 'R1');
      expect(row).toMatchObject({ state: 'sending', claimedBy: null, leaseUntil: null });
      // Claims made before leases carry none: any worker may take them back (SQLite: at start-up
      // anyway).
      const context = { runId: 'upgraded', logger: silentLogger, now: new Date() };
      expect(await recoverAbandoned(ledger, context)).toEqual({
        reclaimed: 1,
        abortedRuns: ['old-run'],
      });
      const [back] = await listOutbox(ledger.db, 'R1');
      expect(back).toMatchObject({ state: 'pending', attempts: 1, dedupeKey: 'd:R1:accept' });
    } finally {
      await ledger.close();
    }
  });
}

describe('ledger upgrade on SQLite', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  defineUpgradeSuite(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-upgrade-'));
    const filename = path.join(dir, 'ledger.sqlite');
    const old = knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true });
    return { old, config: { client: 'sqlite', filename } };
  });
});

describeWithPg('ledger upgrade on PostgreSQL', (url) => {
  defineUpgradeSuite(async () => {
    const schema = `lb_upgrade_${randomBytes(4).toString('hex')}`;
    schemas.push({ url, schema });
    const old = knex({ client: 'pg', connection: url, searchPath: [schema] });
    return { old, config: { client: 'pg', connection: url, schema } };
  });
});
