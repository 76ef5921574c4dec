// `leadbridge run` as a real child process: syncs through fault storms, stops cleanly mid-cycle,
// resumes without duplicates.
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');

let pc: PartnerCenterSimulator;
let dynamics: DynamicsSimulator;
let graph: GraphSimulator;
let dir: string;
let configFile: string;

interface WorkerProcess {
  child: ChildProcess;
  logs: () => string;
  exited: Promise<number | null>;
}

function startWorker(): WorkerProcess {
  const child = spawn(
    process.execPath,
    [BIN, '--config', configFile, '--log-format', 'json', 'run'],
    { cwd: dir, stdio: 'pipe' },
  );
  let logs = '';
  child.stdout!.on('data', (c: Buffer) => (logs += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (logs += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logs: () => logs, exited };
}

/**
 * Of the 600 referrals seed 11 generates, 570 are of a synced kind (customer inquiry, marketing- or
 * sales-qualified) and not archived, and 121 of those are hot (the customer asked to be contacted)
 * and New.
 */
const SYNCED_LEADS = 570;
const HOT_NEW_LEADS = 121;

beforeAll(async () => {
  pc = createPartnerCenterSimulator({ port: 0, referrals: 600, seed: 11 });
  dynamics = createDynamicsSimulator({ port: 0 });
  graph = createGraphSimulator({ port: 0 });
  await Promise.all([pc.start(), dynamics.start(), graph.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-worker-'));
  configFile = path.join(dir, 'leadbridge.yaml');
  await writeFile(
    configFile,
    [
      'source:',
      `  partnerCenter: { baseUrl: ${pc.url}, auth: { kind: static, token: t }, ` +
        `overlapSeconds: 1 }`,
      'targets:',
      `  - { name: dynamics, kind: dynamics365, settings: { url: ${dynamics.url}, auth: { ` +
        `kind: static, token: t }, batchSize: 100 } }`,
      `ledger: { filename: ${path.join(dir, 'ledger.sqlite')} }`,
      // One page per cycle, so a stop lands in the middle of the backfill.
      'worker: { intervalSeconds: 1, jitterSeconds: 0, maxPagesPerCycle: 1, ' +
        'stopTimeoutSeconds: 10, health: { enabled: true, port: 0 } }',
      'alerts:',
      `  graph: { baseUrl: ${graph.url}, auth: { kind: static, token: t } }`,
      '  sender: leads-bot@contoso.com',
      '  recipients: [sales@contoso.com]',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all([pc.stop(), dynamics.stop(), graph.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('leadbridge run', () => {
  it(
    'syncs through 429/5xx storms, stops cleanly mid-backfill, and a restart finishes without ' +
      'duplicates; hot-lead alerts once',
    async () => {
      pc.server.faults.configure({
        rules: [
          { kind: '429', count: 4, retryAfterSeconds: 0 },
          { kind: '5xx', status: 503, count: 2, retryAfterSeconds: 0 },
        ],
      });
      // The first worker's third CRM batch, and every one after it, is refused: the backfill stops
      // there whatever
      // the timing, so the stop below lands in the middle of it.
      dynamics.server.faults.configure({
        rules: [
          { kind: '429', count: 3, retryAfterSeconds: 0 },
          { kind: '5xx', status: 500, count: 2 },
          { kind: '5xx', status: 503, method: 'POST', pathContains: '$batch', after: 2 },
        ],
      });
      const first = startWorker();
      await vi.waitFor(() => expect(first.logs()).toContain('CRM target failed'), {
        timeout: 30_000,
        interval: 50,
      });

      // Health and metrics while it runs.
      const listening = /"healthz":"(http:\/\/127\.0\.0\.1:\d+)\/healthz"/.exec(first.logs());
      expect(listening, first.logs()).not.toBeNull();
      const base = listening![1]!;
      await vi.waitFor(async () => expect((await fetch(`${base}/healthz`)).status).toBe(200), {
        timeout: 10_000,
      });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /leadbridge_api_calls_total\{api="partner-center",method="GET",status="200"\} \d+/,
      );
      expect(metrics).toMatch(/leadbridge_api_throttled_total\{api="partner-center"\} 4/);

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(first.logs()).toContain('SIGTERM: finishing the cycle in flight');
      const afterStop = dynamics.store.leads.size;
      // Two batches of one page each got through: it stopped mid-backfill.
      expect(afterStop).toBeGreaterThan(100);
      expect(afterStop).toBeLessThanOrEqual(200);

      dynamics.server.faults.clear();
      const second = startWorker();
      await vi.waitFor(() => expect(dynamics.store.leads.size).toBe(SYNCED_LEADS), {
        timeout: 30_000,
        interval: 100,
      });
      // Let it idle through two more cycles (counted in its log, not timed), then stop it too.
      const cyclesDone = () => second.logs().split('"cycle done"').length - 1;
      const settledAt = cyclesDone();
      await vi.waitFor(() => expect(cyclesDone()).toBeGreaterThanOrEqual(settledAt + 2), {
        timeout: 20_000,
        interval: 100,
      });
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      const leads = [...dynamics.store.leads.values()];
      expect(new Set(leads.map((l) => l.lb_referralid)).size).toBe(leads.length);
      expect(leads).toHaveLength(SYNCED_LEADS);

      const hotMails = graph.mails.filter((m) =>
        /^Hot lead/.test(
          String(
            (m as { subject?: unknown }).subject ??
              (m as { message?: { subject?: string } }).message?.subject,
          ),
        ),
      );
      // Each mail names its referral in the portal link: every hot lead exactly once.
      const mailedIds = hotMails.map(
        (m) =>
          /referrals\/v2\/leads\/([0-9a-f-]{36})/.exec(
            String((m as { content?: unknown }).content),
          )?.[1],
      );
      expect(new Set(mailedIds).size).toBe(HOT_NEW_LEADS);
      expect(mailedIds).toHaveLength(HOT_NEW_LEADS);
      for (const id of mailedIds) {
        const mailed = pc.store.get(id!) as { status?: string; details?: Record<string, unknown> };
        expect([mailed.status, mailed.details?.customerRequestedContact]).toEqual(['New', true]);
      }
      // A longer budget: every write-back now reads the referral by id first (a fresh eTag), ~570
      // more calls here.
    },
    120_000,
  );

  it(
    'refuses to start on a mapping the CRM metadata rejects, naming file, line and ' + 'field',
    async () => {
      const mapping = path.join(dir, 'broken-dynamics365.yaml');
      const original = await readFile(dynamics365Module.mappingFile, 'utf8');
      expect(original).toContain('  emailaddress1:');
      await writeFile(mapping, original.replace('  emailaddress1:', '  emial:'));
      const brokenConfig = path.join(dir, 'broken.yaml');
      await writeFile(
        brokenConfig,
        (await readFile(configFile, 'utf8')).replace(
          'settings: { url:',
          `mapping: ${mapping}, settings: { url:`,
        ),
      );
      const child = spawn(
        process.execPath,
        [BIN, '--config', brokenConfig, '--log-format', 'json', 'run'],
        { cwd: dir, stdio: 'pipe' },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toContain(
        'leadbridge: the worker does not start: the field mappings do not fit the CRM:',
      );
      expect(stderr).toMatch(
        /broken-dynamics365\.yaml:\d+: fields\.emial: unknown CRM field "emial"/,
      );
    },
  );
});
