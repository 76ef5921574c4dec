// One demo per folder: a second `npm start` refuses and says where the first runs; a dead demo's
// lock is taken over.
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoAlreadyRunningError, DemoLock } from '../../scripts/demo-lock.js';
import {
  ROOT,
  startNode,
  TSX_LOADER,
  waitForStdout,
  type ChildRun,
} from './support/cli-process.js';

const DEMO = path.join(ROOT, 'scripts/demo.ts');
const QUIET = [
  '--referrals',
  '3',
  '--random-ports',
  '--interval',
  '3600',
  '--new-lead-every',
  '3600',
];

/** The pid of a process that has exited (so no process has it, barring reuse). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('DemoLock', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-lock-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses while the holder lives, naming its pid, URLs and config', async () => {
    const file = path.join(dir, 'live', 'demo.lock');
    const first = await DemoLock.acquire(file);
    await first.describe({
      urls: { 'partner-center': 'http://127.0.0.1:7401' },
      config: '/x/leadbridge.yaml',
    });
    const refused = await DemoLock.acquire(file).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DemoAlreadyRunningError);
    expect((refused as Error).message.split('\n').slice(1, 3)).toEqual([
      '  its simulators: partner-center http://127.0.0.1:7401',
      '  its config: /x/leadbridge.yaml',
    ]);
    expect((refused as DemoAlreadyRunningError).holder.pid).toBe(process.pid);
    first.release();
    await expect(access(file)).rejects.toThrow(/ENOENT/);
    (await DemoLock.acquire(file)).release();
  });

  it('takes over a lock whose process is gone, and one that is not a lock at all', async () => {
    const file = path.join(dir, 'stale.lock');
    const pid = await deadPid();
    await writeFile(file, JSON.stringify({ pid, startedAt: '2026-12-01T00:00:00.000Z' }));
    const lock = await DemoLock.acquire(file);
    expect((JSON.parse(await readFile(file, 'utf8')) as { pid: number }).pid).toBe(process.pid);
    lock.release();
    await writeFile(file, 'garbage');
    (await DemoLock.acquire(file)).release();
  });
});

describe('two demos in one folder', { timeout: 120_000 }, () => {
  let dir: string;
  let first: ChildRun;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-demo-'));
    first = startNode(['--import', TSX_LOADER, DEMO, ...QUIET], { cwd: dir });
    await waitForStdout(first, (text) => text.includes('Ctrl+C stops the worker'));
  }, 120_000);
  afterAll(async () => {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'the second refuses (exit 1), says where the first runs, and leaves its ledger and config ' +
      'alone',
    async () => {
      const config = path.join(dir, '.leadbridge-demo', 'leadbridge.yaml');
      const before = await readFile(config, 'utf8');
      const second = startNode(['--import', TSX_LOADER, DEMO, ...QUIET], { cwd: dir });
      expect((await second.exited).code).toBe(1);
      const lines = second.stderr().split('\n');
      expect(lines[0]).toMatch(
        new RegExp(
          `^npm start: another demo already runs from this folder: pid ${first.child.pid}, ` +
            `started 20\\d\\d-`,
        ),
      );
      const partnerCenter = /partner-center (http:\/\/127\.0\.0\.1:\d+)/.exec(first.stdout())![1];
      expect(lines[1]).toContain(`partner-center ${partnerCenter}`);
      expect(lines[2]).toBe(`  its config: ${config}`);
      expect(second.stdout()).toBe('');
      expect(await readFile(config, 'utf8')).toBe(before);
      await access(path.join(dir, '.leadbridge-demo', 'ledger.sqlite'));
    },
  );

  it('stopping the first removes its lock, so the folder is free again', async () => {
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    await expect(access(path.join(dir, '.leadbridge-demo', 'demo.lock'))).rejects.toThrow(/ENOENT/);
  });
});
