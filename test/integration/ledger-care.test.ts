// `leadbridge ledger backup` (a consistent copy while writes go on) and retention (`ledger prune`,
// the worker's daily prune).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LEDGER_TABLES,
  openLedger,
  pruneIfDue,
  pruneLedger,
  type Ledger,
} from '../../src/ledger/index.js';
import { runCli } from './support/cli-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-care-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFor(name: string, ledger: string): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'source:',
      '  partnerCenter: { baseUrl: http://127.0.0.1:9, auth: { kind: static, token: t } }',
      `ledger: ${ledger}`,
      '',
    ].join('\n'),
  );
  return file;
}

const auditRow = (i: number, at: string, referralId: string | null = `r-${i}`) => ({
  at,
  run_id: 'run-care',
  referral_id: referralId,
  target: 'dynamics',
  action: 'created',
  crm_record_id: null,
  detail: null,
});

describe('leadbridge ledger backup', () => {
  it('copies the SQLite ledger while it is written; the copy passes integrity_check', async () => {
    const filename = path.join(dir, 'live.sqlite');
    const ledger = await openLedger({ client: 'sqlite', filename });
    const config = await configFor('live', `{ filename: ${JSON.stringify(filename)} }`);
    try {
      await ledger
        .db(LEDGER_TABLES.audit)
        .insert(Array.from({ length: 200 }, (_, i) => auditRow(i, '2026-12-01T00:00:00.000Z')));
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await ledger
            .db(LEDGER_TABLES.audit)
            .insert(auditRow(1000 + written, '2026-12-02T00:00:00.000Z'));
          written++;
        }
      })();
      const copy = path.join(dir, 'copy.sqlite');
      const result = await runCli(['--config', config, 'ledger', 'backup', copy], { cwd: dir });
      writing = false;
      await writer;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^backup written: .*copy\.sqlite \(\d+ bytes, integrity_check ok; rows: /,
      );
      expect(written).toBeGreaterThan(0);

      const opened = knex({
        client: 'sqlite3',
        connection: { filename: copy },
        useNullAsDefault: true,
      });
      try {
        expect(await opened.raw('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
        const [row] = await opened(LEDGER_TABLES.audit).count({ n: '*' });
        // Every row written before the copy began, and none torn: a whole number of the writer's
        // rows.
        expect(Number(row!.n)).toBeGreaterThanOrEqual(200);
        expect(Number(row!.n)).toBeLessThanOrEqual(200 + written);
        expect(result.stdout).toContain(`lb_audit ${Number(row!.n)}`);
      } finally {
        await opened.destroy();
      }

      const again = await runCli(['--config', config, 'ledger', 'backup', copy], { cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`${copy} already exists; give a new file name`);
    } finally {
      await ledger.close();
    }
  });

  it('on PostgreSQL writes nothing, exits 1 and gives the pg_dump command', async () => {
    const config = await configFor(
      'pg',
      '{ client: pg, connection: "postgres://u@127.0.0.1:9/db", schema: lb_care }',
    );
    const result = await runCli(['--config', config, 'ledger', 'backup', 'out.dump'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('the ledger is in PostgreSQL: nothing was written');
    expect(result.stderr).toContain(
      'pg_dump --format=custom --schema=lb_care ' +
        `--file=${JSON.stringify(path.join(dir, 'out.dump'))}`,
    );
    expect(result.stderr).not.toContain('postgres://u@');
  });
});

describe('ledger retention', () => {
  let ledger: Ledger;
  const filename = () => path.join(dir, 'prune.sqlite');
  const NOW = new Date('2026-12-04T12:00:00.000Z');
  const OLD = '2026-01-10T00:00:00.000Z'; // older than 180 days before NOW
  const NEW = '2026-11-30T00:00:00.000Z';

  beforeAll(async () => {
    ledger = await openLedger({ client: 'sqlite', filename: filename() });
    const db = ledger.db;
    // r-1: three old entries and a new one; r-2: two old entries (its last one is kept).
    await db(LEDGER_TABLES.audit).insert([
      auditRow(1, OLD, 'r-1'),
      auditRow(2, OLD, 'r-1'),
      auditRow(3, OLD, 'r-1'),
      auditRow(4, NEW, 'r-1'),
      auditRow(5, OLD, 'r-2'),
      auditRow(6, OLD, 'r-2'),
    ]);
    const outbox = (id: number, referral: string, action: string, state: string, at: string) => ({
      id,
      referral_id: referral,
      target: 'dynamics',
      action,
      payload: '{}',
      state,
      attempts: 1,
      created_at: at,
      updated_at: at,
      dedupe_key: `k-${id}`,
    });
    await db(LEDGER_TABLES.outbox).insert([
      outbox(1, 'r-1', 'accept', 'sent', OLD), // an older accept of r-1: removed
      outbox(2, 'r-1', 'accept', 'superseded', OLD), // removed
      outbox(3, 'r-1', 'accept', 'sent', OLD), // removed: row 8 is r-1's latest accept
      outbox(4, 'r-1', 'win', 'pending', OLD), // waiting work: kept
      outbox(5, 'r-2', 'decline', 'failed', OLD), // kept
      outbox(6, 'r-2', 'decline', 'quarantined', OLD), // kept
      outbox(7, 'r-3', 'externalReference', 'sent', OLD), // kept (latest)
      outbox(8, 'r-1', 'accept', 'sent', NEW), // new, and the latest accept: kept
    ]);
    const run = (i: number, status: string, at: string) => ({
      run_id: `run-${i}`,
      kind: 'sync',
      status,
      started_at: at,
    });
    await db(LEDGER_TABLES.runs).insert([
      ...Array.from({ length: 60 }, (_, i) => run(i, 'ok', OLD)),
      run(60, 'running', OLD),
      run(61, 'ok', NEW),
    ]);
  });

  afterAll(async () => {
    await ledger.close();
  });

  it('a dry run only counts; a prune removes old settled rows, keeps the latest', async () => {
    const dry = await pruneLedger(ledger.db, { days: 180, now: NOW, dryRun: true });
    expect(dry).toEqual({
      cutoff: '2026-06-07T12:00:00.000Z',
      dryRun: true,
      audit: 4,
      outbox: 3,
      runs: 12,
    });
    const [audits] = await ledger.db(LEDGER_TABLES.audit).count({ n: '*' });
    expect(Number(audits!.n)).toBe(6);

    const done = await pruneLedger(ledger.db, { days: 180, now: NOW, dryRun: false });
    expect(done).toMatchObject({ dryRun: false, audit: 4, outbox: 3, runs: 12 });
    const ids = async (table: string, column: string) =>
      (await ledger.db(table).orderBy(column).pluck(column)).map(String);
    // r-1 keeps its newest entry (id 4), r-2 its last (id 6).
    expect(await ids(LEDGER_TABLES.audit, 'id')).toEqual(['4', '6']);
    expect(await ids(LEDGER_TABLES.outbox, 'id')).toEqual(['4', '5', '6', '7', '8']);
    const runs = await ids(LEDGER_TABLES.runs, 'run_id');
    expect(runs).toHaveLength(50);
    expect(runs).toContain('run-60'); // still running: never removed
    expect(runs).toContain('run-61');
    expect(runs).not.toContain('run-0');
  });

  it('the worker prunes at most daily; `ledger prune --dry-run` prints counts', async () => {
    const first = await pruneIfDue(ledger.db, { days: 180, now: NOW });
    expect(first).not.toBeNull();
    expect(
      await pruneIfDue(ledger.db, { days: 180, now: new Date('2026-12-05T11:00:00.000Z') }),
    ).toBeNull();
    expect(
      await pruneIfDue(ledger.db, { days: 180, now: new Date('2026-12-05T12:00:00.000Z') }),
    ).not.toBeNull();

    const config = await configFor(
      'prune',
      `{ filename: ${JSON.stringify(filename())}, retention: { days: 1 } }`,
    );
    const result = await runCli(['--config', config, 'ledger', 'prune', '--dry-run'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^retention 1 days \(before \d{4}-\d\d-\d\dT[\d:.]+Z\): /);
    expect(result.stdout).toContain(
      'would remove 0 audit entries, 0 settled outbox rows, 0 finished runs ' +
        '(dry run: nothing removed)\n',
    );
  });
});
