// A target that fails as a whole (an expired Salesforce session): sync --once exits 1 naming it,
// run's /healthz turns 503 and back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSyncOnce } from '../../src/cli/sync.js';
import { silentLogger } from '../../src/core/log.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';
import { startHarness, type Harness } from './support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');

function collector(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('sync --once with a target down', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ referrals: 5, salesforce: true });
  });
  afterAll(() => harness.close());

  it(
    'exits 1, names the target and the cause, and counts it, when the Salesforce session has ' +
      'expired',
    async () => {
      const once = async () => {
        const out = collector();
        const code = await runSyncOnce({
          config: harness.config,
          logger: silentLogger,
          cwd: harness.dir,
          out: out.stream,
          progress: new PassThrough(),
        });
        return { code, out: out.text() };
      };
      const healthy = await once();
      expect(healthy.code).toBe(0);
      expect(healthy.out).toContain('0 targets failed as a whole');

      harness.salesforce!.expireSessions();
      const down = await once();
      expect(down.code).toBe(1);
      expect(down.out).toContain('1 target failed as a whole');
      expect(down.out).toContain('  salesforce: FAILED as a whole; ');
      expect(down.out).toMatch(
        /^ {2}FAILED salesforce \(reading outcomes\): .*INVALID_SESSION_ID/m,
      );
      expect(down.out).toContain(
        '  salesforce resumes from its cursor next run, once the cause is fixed.',
      );
      expect(down.out).not.toContain('FAILED dynamics');
    },
    60_000,
  );
});

describe('run with a target down', () => {
  let pc: PartnerCenterSimulator;
  let dynamics: DynamicsSimulator;
  let salesforce: SalesforceSimulator;
  let dir: string;
  let configFile: string;
  let child: ChildProcess | undefined;

  const writeConfig = (salesforceToken: string) =>
    writeFile(
      configFile,
      [
        'source:',
        `  partnerCenter: { baseUrl: ${pc.url}, auth: { kind: static, token: t }, ` +
          `overlapSeconds: 1 }`,
        'targets:',
        `  - { name: dynamics, kind: dynamics365, settings: { url: ${dynamics.url}, auth: { ` +
          `kind: static, token: t } } }`,
        `  - { name: salesforce, kind: salesforce, settings: { instanceUrl: ${salesforce.url}, ` +
          `auth: { kind: accessToken, token: ${salesforceToken} } } }`,
        `ledger: { filename: ${path.join(dir, 'ledger.sqlite')} }`,
        'worker: { intervalSeconds: 1, jitterSeconds: 0, health: { enabled: true, port: 0, ' +
          'maxAgeSeconds: 3 } }',
        'log: { level: info }',
        '',
      ].join('\n'),
    );

  beforeAll(async () => {
    pc = createPartnerCenterSimulator({ port: 0, referrals: 5, seed: 3 });
    dynamics = createDynamicsSimulator({ port: 0 });
    salesforce = createSalesforceSimulator({ port: 0 });
    await Promise.all([pc.start(), dynamics.start(), salesforce.start()]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-down-'));
    configFile = path.join(dir, 'leadbridge.yaml');
    await writeConfig('sf-token-1');
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await Promise.all([pc.stop(), dynamics.stop(), salesforce.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'logs targetsDown=1, answers 503 with the target and cause after maxAgeSeconds, and 200 ' +
      'again once it works',
    async () => {
      child = spawn(
        process.execPath,
        [BIN, '--config', configFile, '--log-format', 'json', 'run'],
        {
          cwd: dir,
          stdio: 'pipe',
        },
      );
      let logs = '';
      child.stdout!.on('data', (c: Buffer) => (logs += c.toString('utf8')));
      child.stderr!.on('data', (c: Buffer) => (logs += c.toString('utf8')));
      const exited = new Promise<number | null>((resolve) =>
        child!.on('exit', (code) => resolve(code)),
      );
      const cycles = () =>
        logs
          .split('\n')
          .filter((line) => line.includes('"cycle done"'))
          .map((line) => JSON.parse(line) as Record<string, unknown>);
      await vi.waitFor(() => expect(cycles().length).toBeGreaterThan(0), {
        timeout: 20_000,
        interval: 50,
      });
      const base = /"healthz":"(http:\/\/127\.0\.0\.1:\d+)\/healthz"/.exec(logs)![1]!;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);

      salesforce.expireSessions();
      const seen = cycles().length;
      await vi.waitFor(
        () =>
          expect(
            cycles()
              .slice(seen)
              .some((c) => c.targetsDown === 1),
          ).toBe(true),
        { timeout: 10_000, interval: 50 },
      );
      const failing = await vi.waitFor(
        async () => {
          const response = await fetch(`${base}/healthz`);
          expect(response.status).toBe(503);
          return (await response.json()) as {
            status: string;
            problems: Array<{ cause: string; reason: string; failing: boolean }>;
          };
        },
        { timeout: 15_000, interval: 200 },
      );
      expect(failing.status).toBe('failing');
      expect(failing.problems).toHaveLength(1);
      expect(failing.problems[0]).toMatchObject({ cause: 'target:salesforce', failing: true });
      expect(failing.problems[0]!.reason).toMatch(
        new RegExp(
          String.raw`^target "salesforce" failed as a whole: salesforce \(reading` +
            String.raw` outcomes\): .*INVALID_SESSION_ID`,
        ),
      );

      // The operator puts a fresh token in the config; the worker reloads it and the target works
      // again.
      await writeConfig('sf-token-2');
      await vi.waitFor(async () => expect((await fetch(`${base}/healthz`)).status).toBe(200), {
        timeout: 15_000,
        interval: 200,
      });
      const recovered = (await (await fetch(`${base}/healthz`)).json()) as {
        status: string;
        problems: unknown[];
      };
      expect(recovered).toMatchObject({ status: 'ok', problems: [] });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    },
    60_000,
  );
});
