// `npm run bench -- --webhooks`: a referral's creation → its CRM record, webhooks vs polling.
//
// The simulators run in a child process (`leadbridge simulate`), every simulator call gets the
// given latency, and the worker runs here: once with the callback listener registered (polling
// stays at the long interval), once with polling alone at `--poll-seconds`. Referrals are created
// one at a
// time through the simulator's admin route; a referral counts as in the CRM at the end of the cycle
// that wrote it (the cycle's onReferralsSeen names it, and the cycle ends after the CRM write).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { configSchemaFor, type LeadbridgeConfig } from '../src/config/index.js';
import { silentLogger } from '../src/core/log.js';
import { staticToken } from '../src/core/auth.js';
import { CRM_MODULES } from '../src/crm/modules.js';
import { createRuntime } from '../src/cli/compose.js';
import { WebhookRegistrationClient } from '../src/source/partner-center/webhooks.js';
import { WebhookTrigger } from '../src/cli/webhook-trigger.js';
import { Worker } from '../src/worker/worker.js';

interface WebhookBenchOptions {
  referrals: number;
  latencyMs: number;
  pollSeconds: number;
}

interface Run {
  label: string;
  latenciesMs: number[];
}

const ROOT = path.resolve(import.meta.dirname, '..');
const SIM_ROOT_CA = path.join(ROOT, 'src/simulators/partner-center/webhook-tls/ca.pem');

export async function runWebhookBench(options: WebhookBenchOptions): Promise<void> {
  console.log(
    `leadbridge bench --webhooks: ${options.referrals} referrals created one by one, ` +
      `${options.latencyMs} ms per simulator call, polling interval ${options.pollSeconds} s`,
  );
  const runs = [await measure(options, true), await measure(options, false)];
  console.log(
    `\n${'mode'.padEnd(30)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)}`,
  );
  for (const run of runs) {
    const [p50, p95, max] = [0.5, 0.95, 1].map((q) => quantile(run.latenciesMs, q) / 1000);
    console.log(
      `${run.label.padEnd(30)} ${p50!.toFixed(2).padStart(7)}s ${p95!.toFixed(2).padStart(7)}s ` +
        `${max!.toFixed(2).padStart(7)}s`,
    );
  }
  const hooks = runs[0]!;
  const p95 = quantile(hooks.latenciesMs, 0.95) / 1000;
  const ok = hooks.latenciesMs.length === options.referrals && p95 < 5;
  console.log(
    `\n  ${ok ? 'PASS' : 'FAIL'}  with webhooks, p95 creation → CRM under 5 s at ` +
      `${options.latencyMs} ms per call: ${p95.toFixed(2)} s ` +
      `(${hooks.latenciesMs.length}/${options.referrals} arrived)`,
  );
  if (!ok) process.exitCode = 1;
}

async function measure(options: WebhookBenchOptions, webhooks: boolean): Promise<Run> {
  const sims = await startSimulators();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-bench-hooks-'));
  const pc = sims.urls['partner-center']!;
  try {
    for (const side of ['partner-center', 'dynamics365'])
      await admin(sims.urls[side]!, 'PUT', '/_sim/faults', { latencyMs: options.latencyMs });
    const config = benchConfig(sims.urls, dir, webhooks, options.pollSeconds);
    const runtime = await createRuntime(config);
    const created = new Map<string, number>();
    const latencies: number[] = [];
    let seen: string[] = [];
    let trigger: WebhookTrigger | null = null;
    const worker = new Worker({
      runtime: async () => runtime,
      intervalMs: () => config.worker.intervalSeconds * 1000,
      jitterMs: () => 0,
      logger: silentLogger,
      onReferralsSeen: (ids) => {
        seen.push(...ids);
        trigger?.watch.polled(ids);
      },
      onCycle: () => {
        const now = Date.now();
        for (const id of seen) {
          const at = created.get(id);
          if (at === undefined) continue;
          latencies.push(now - at);
          created.delete(id);
        }
        seen = [];
      },
    });
    if (webhooks) {
      trigger = new WebhookTrigger({
        config: config.webhooks,
        cwd: ROOT,
        worker,
        alert: async () => {},
        reregister: async () => {},
      });
      const url = await trigger.start();
      await new WebhookRegistrationClient({
        baseUrl: pc,
        credential: staticToken('bench'),
      }).register(url);
    }
    const running = worker.run();
    for (let i = 0; i < options.referrals; i++) {
      const referral = (await admin(pc, 'POST', '/_sim/referrals', incomingInquiry())) as {
        id: string;
      };
      created.set(referral.id, Date.now());
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const deadline = Date.now() + (options.pollSeconds + 30) * 1000;
    while (created.size > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    await worker.stop();
    await running;
    await trigger?.close();
    await runtime.close();
    return {
      label: webhooks ? 'webhooks (+ polling net)' : `polling alone (${options.pollSeconds} s)`,
      latenciesMs: latencies,
    };
  } finally {
    sims.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

function incomingInquiry(): Record<string, unknown> {
  return {
    type: 'Independent',
    qualification: 'Direct',
    direction: 'Incoming',
    inviteContext: null,
    status: 'New',
    substatus: 'Received',
  };
}

function benchConfig(
  urls: Record<string, string>,
  dir: string,
  webhooks: boolean,
  pollSeconds: number,
): LeadbridgeConfig {
  return configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: {
        baseUrl: urls['partner-center'],
        auth: { kind: 'static', token: 'bench' },
        overlapSeconds: 2,
      },
    },
    targets: [
      {
        name: 'dynamics',
        kind: 'dynamics365',
        settings: { url: urls.dynamics365, auth: { kind: 'static', token: 'bench' } },
      },
    ],
    ledger: { client: 'sqlite', filename: path.join(dir, 'bench.sqlite') },
    // With webhooks the interval is long: only callbacks make the cycles that count.
    worker: { intervalSeconds: webhooks ? 3600 : pollSeconds, jitterSeconds: 0 },
    webhooks: {
      enabled: webhooks,
      port: 0,
      certificateUrlPrefixes: [`${urls['partner-center']}/_sim/webhooks/certificate`],
      trustedIssuersFile: SIM_ROOT_CA,
      coalesceMs: 200,
    },
  });
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function startSimulators(): Promise<{ urls: Record<string, string>; child: ChildProcess }> {
  const bin = path.join(ROOT, 'bin/leadbridge.js');
  const child = spawn(process.execPath, [bin, 'simulate', '--random-ports', '--referrals', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const urls: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    const [name, url] = line.trim().split(/\s+/);
    if (name && url) urls[name] = url;
    if (urls['partner-center'] && urls.dynamics365) break;
  }
  if (!urls['partner-center'] || !urls.dynamics365)
    throw new Error('leadbridge simulate did not print the simulator URLs');
  return { urls, child };
}

async function admin(base: string, method: string, route: string, body?: unknown) {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${base}${route} → ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : ((await response.json()) as unknown);
}
