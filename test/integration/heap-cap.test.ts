// Every documented way of running a streaming command runs it under the 256 MB old-space cap (heap
// limit read back at debug).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startSimulators,
  stopSimulators,
  type RunningSimulator,
} from '../../src/simulators/index.js';
import { BIN, ROOT, startNode, TSX_LOADER } from './support/cli-process.js';

/**
 * V8's heap_size_limit with --max-old-space-size=256 is 256 MB plus the young generation (304 MB on
 * Node 20).
 */
const CAPPED = { min: 256, max: 320 };

/**
 * The heapLimitMb of the "node process" debug line; the command then fails fast on a ledger file
 * that is not SQLite.
 */
async function heapLimitOf(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<number> {
  const run = startNode(args, { cwd, env });
  const { code } = await run.exited;
  expect(code).toBe(1);
  const line = run
    .stderr()
    .split('\n')
    .find((text) => text.includes('"message":"node process"'));
  expect(line, run.stderr()).toBeDefined();
  return (JSON.parse(line!) as { heapLimitMb: number }).heapLimitMb;
}

describe('heap cap of the streaming commands', { timeout: 90_000 }, () => {
  let dir: string;
  const cli = ['--config', 'leadbridge.yaml', '--log-level', 'debug', '--log-format', 'json'];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-heap-'));
    await writeFile(path.join(dir, 'not-a-ledger.sqlite'), 'not sqlite\n');
    await writeFile(
      path.join(dir, 'leadbridge.yaml'),
      [
        'source:',
        '  partnerCenter:',
        '    baseUrl: http://127.0.0.1:9',
        '    auth: { kind: static, token: t }',
        'ledger:',
        '  filename: ./not-a-ledger.sqlite',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('node bin/leadbridge.js sync --once', async () => {
    const limit = await heapLimitOf([BIN, ...cli, 'sync', '--once'], dir);
    expect(limit).toBeGreaterThanOrEqual(CAPPED.min);
    expect(limit).toBeLessThan(CAPPED.max);
  });

  it('node bin/leadbridge.js run', async () => {
    const limit = await heapLimitOf([BIN, ...cli, 'run'], dir);
    expect(limit).toBeGreaterThanOrEqual(CAPPED.min);
    expect(limit).toBeLessThan(CAPPED.max);
  });

  it('tsx src/cli.ts sync --once (npm run leadbridge, npx tsx src/cli.ts)', async () => {
    const limit = await heapLimitOf(
      [
        path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
        path.join(ROOT, 'src/cli.ts'),
        ...cli,
        'sync',
        '--once',
      ],
      dir,
    );
    expect(limit).toBeGreaterThanOrEqual(CAPPED.min);
    expect(limit).toBeLessThan(CAPPED.max);
  });

  it('node --import tsx src/cli.ts sync --once', async () => {
    const limit = await heapLimitOf(
      ['--import', TSX_LOADER, path.join(ROOT, 'src/cli.ts'), ...cli, 'sync', '--once'],
      dir,
    );
    expect(limit).toBeGreaterThanOrEqual(CAPPED.min);
    expect(limit).toBeLessThan(CAPPED.max);
  });

  it('keeps the heap size the user set in NODE_OPTIONS', async () => {
    const limit = await heapLimitOf([BIN, ...cli, 'sync', '--once'], dir, {
      NODE_OPTIONS: '--max-old-space-size=512',
    });
    expect(limit).toBeGreaterThanOrEqual(512);
    expect(limit).toBeLessThan(600);
  });
});

describe('signals through the heap-cap parent', { timeout: 120_000 }, () => {
  let dir: string;
  let simulators: RunningSimulator[];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-signal-'));
    simulators = await startSimulators({
      host: '127.0.0.1',
      basePort: null,
      seed: 3,
      referrals: 2,
    });
    const url = (name: string) => simulators.find((s) => s.name === name)!.url;
    await writeFile(
      path.join(dir, 'leadbridge.yaml'),
      [
        'source:',
        `  partnerCenter: { baseUrl: ${url('partner-center')}, auth: { kind: static, token: t } }`,
        'targets:',
        `  - { name: dynamics, kind: dynamics365, settings: { url: ${url('dynamics365')}, ` +
          `auth: { kind: static, token: t } } }`,
        'ledger:',
        '  filename: ./ledger.sqlite',
        'worker: { intervalSeconds: 3600 }',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await stopSimulators(simulators);
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'Ctrl+C (SIGINT to the whole process group, parent and worker) stops the worker ' +
      'gracefully, exit 0',
    async () => {
      const env: Record<string, string | undefined> = { ...process.env };
      delete env.NODE_OPTIONS;
      // detached: its own process group, as a shell gives a foreground job; a terminal's Ctrl+C
      // signals the group.
      const child = spawn(
        process.execPath,
        [BIN, '--config', 'leadbridge.yaml', '--log-format', 'json', 'run'],
        { cwd: dir, env, stdio: 'pipe', detached: true },
      );
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) =>
        child.on('exit', (code) => resolve(code)),
      );
      await new Promise<void>((resolve, reject) => {
        const check = () => (stderr.includes('"message":"cycle done"') ? resolve() : undefined);
        child.stderr!.on('data', check);
        void exited.then(() => reject(new Error(`run exited early: ${stderr}`)));
        setTimeout(() => reject(new Error(`no cycle within 60 s: ${stderr}`)), 60_000).unref();
      });
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toContain('SIGINT: finishing the cycle in flight, then stopping');
    },
  );
});
