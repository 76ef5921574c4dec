// Failures an operator commonly causes end with one line saying what and where, and a hint; stacks
// only at debug.
import { CRM_MODULES } from '../../src/crm/modules.js';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { describeWithPg } from './support/pg.js';

const STACK_FRAME = /\n\s+at /;

describe('simulate on a port that is taken', { timeout: 90_000 }, () => {
  let blocker: net.Server;
  let port: number;
  beforeAll(async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('names the port and the simulator, suggests --random-ports, exits 1, no stack', async () => {
    const result = await runCli(['simulate', '--base-port', String(port), '--referrals', '1']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `leadbridge: simulate: port 127.0.0.1:${port} (partner-center simulator) is already in ` +
        `use, perhaps by another "leadbridge simulate" or "npm start"; ` +
        'stop it, or run "leadbridge simulate --random-ports" (free ports, printed on stdout) ' +
        'or pick another --base-port\n',
    );
  });

  it('shows the stack trace with --log-level debug', async () => {
    const result = await runCli([
      '--log-level',
      'debug',
      'simulate',
      '--base-port',
      String(port),
      '--referrals',
      '1',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `port 127.0.0.1:${port} (partner-center simulator) is already in use`,
    );
    expect(result.stderr).toMatch(STACK_FRAME);
    expect(result.stderr).toContain(
      'caused by: Error: listen EADDRINUSE: address already in use 127.0.0.1:',
    );
  });
});

describeWithPg('a PostgreSQL ledger whose database does not exist', (pgUrl) => {
  let dir: string;
  let configFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-hints-'));
    const url = new URL(pgUrl);
    url.pathname = '/leadbridge_no_such_db_7c1f';
    configFile = path.join(dir, 'leadbridge.yaml');
    await writeFile(
      configFile,
      [
        'source:',
        '  partnerCenter:',
        '    baseUrl: http://127.0.0.1:9',
        '    auth: { kind: static, token: t }',
        'ledger:',
        '  client: pg',
        `  connection: ${url.toString()}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it(
    'sync --once says the database does not exist, exits 1, and no pg-protocol stack reaches ' +
      'the operator',
    async () => {
      const result = await runCli(
        ['--config', configFile, '--log-format', 'json', 'sync', '--once'],
        { cwd: dir },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'leadbridge: cannot open the PostgreSQL ledger at postgres://',
      );
      expect(result.stderr).toContain('database "leadbridge_no_such_db_7c1f" does not exist');
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(result.stderr).not.toContain('pg-protocol');
    },
  );

  it('--log-level debug keeps the driver stack for a developer', async () => {
    const result = await runCli(
      ['--config', configFile, '--log-format', 'json', '--log-level', 'debug', 'sync', '--once'],
      { cwd: dir },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pg-protocol');
  });
});

describe('operator commands where no ledger exists', { timeout: 90_000 }, () => {
  let dir: string;
  let configFile: string;
  beforeAll(async () => {
    // The config lives elsewhere; its relative ledger path points into the (empty) working
    // directory.
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-elsewhere-'));
    const configDir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-config-'));
    configFile = path.join(configDir, 'leadbridge.yaml');
    await writeFile(
      configFile,
      [
        'source:',
        '  partnerCenter:',
        '    baseUrl: http://127.0.0.1:9',
        '    auth: { kind: static, token: t }',
        'ledger:',
        '  filename: ./data/leadbridge.sqlite',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const commands = [
    ['status'],
    ['trace', 'f3a1c2d4-0000-4000-8000-000000000001'],
    ['retry', '--all-failed'],
    ['resync'],
    ['quarantine', 'list'],
  ];
  for (const command of commands) {
    it(
      `${command.join(' ')} exits 1 naming the absolute file it looked for, and creates ` +
        `nothing`,
      async () => {
        const result = await runCli(['--config', configFile, ...command], { cwd: dir });
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(
          `leadbridge: no ledger at ${dir}/data/leadbridge.sqlite (ledger.filename, relative ` +
            `paths resolve against the working directory ${dir}); ` +
            'nothing was created. Run leadbridge from the folder where "sync --once" / "run" ' +
            'ran, pass the config that names the ledger ' +
            '(--config or LEADBRIDGE_CONFIG; an absolute ledger.filename avoids this), or run ' +
            '"leadbridge sync --once" first to create it\n',
        );
        expect(await readdir(dir)).toEqual([]);
      },
    );
  }

  it(
    'sync --once --dry-run plans a first backfill from an empty ledger in memory, says so, ' +
      'and creates nothing',
    async () => {
      const { withLedger } = await import('../../src/cli/compose.js');
      const { loadConfig } = await import('../../src/config/index.js');
      const config = await loadConfig({ file: configFile, env: {}, cwd: dir, kinds: CRM_MODULES });
      const notes: string[] = [];
      const tables = await withLedger(
        config,
        dir,
        async (ledger) => (await ledger.db('lb_sync_states').count({ n: '*' }))[0],
        {
          whenMissing: 'empty',
          onEmpty: (where) => notes.push(where),
        },
      );
      expect(tables).toEqual({ n: 0 });
      expect(notes).toEqual([`sqlite ${dir}/data/leadbridge.sqlite`]);
      expect(await readdir(dir)).toEqual([]);
    },
  );
});

describeWithPg('operator commands on a PostgreSQL ledger that does not exist yet', (pgUrl) => {
  let dir: string;
  let configFile: string;
  const schema = `lb_absent_${Date.now().toString(36)}`;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-pg-absent-'));
    configFile = path.join(dir, 'leadbridge.yaml');
    await writeFile(
      configFile,
      [
        'source:',
        '  partnerCenter:',
        '    baseUrl: http://127.0.0.1:9',
        '    auth: { kind: static, token: t }',
        'ledger:',
        '  client: pg',
        `  connection: ${pgUrl}`,
        `  schema: ${schema}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('status exits 1 naming the schema it looked in, and creates no schema', async () => {
    const result = await runCli(['--config', configFile, 'status'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `leadbridge: no ledger in schema "${schema}" of the PostgreSQL database ` +
        `(ledger.connection, ledger.schema); nothing was created. ` +
        'Pass the config that names the ledger (--config or LEADBRIDGE_CONFIG), or run ' +
        '"leadbridge sync --once" first to create it\n',
    );
    const { default: knex } = await import('knex');
    const db = knex({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
    try {
      const { rows } = await db.raw<{ rows: unknown[] }>(
        'select 1 from information_schema.schemata where schema_name = ?',
        [schema],
      );
      expect(rows).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});
