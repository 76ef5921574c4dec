// `npm run bench`: backfill and idle-cycle figures against the simulators (run in a child process), with and without latency.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { configSchema, type LeadbridgeConfig } from '../src/config/index.js';
import { createRuntime } from '../src/worker/runtime.js';

interface Scenario {
  name: string;
  referrals: number;
  latencyMs: number;
}

interface SimulatorProcess {
  urls: Record<string, string>;
  child: ChildProcess;
}

const { values: args } = parseArgs({
  options: {
    referrals: { type: 'string', default: '10000' },
    'rss-referrals': { type: 'string', default: '100000' },
    latency: { type: 'string', default: '20' },
    'skip-rss': { type: 'boolean', default: false },
  },
});

const OVERLAP_SECONDS = 2;

async function main(): Promise<void> {
  const n = Number(args.referrals);
  const scenarios: Scenario[] = [
    { name: `backfill ${n}, no added latency`, referrals: n, latencyMs: 0 },
    { name: `backfill ${n}, ${args.latency} ms per call`, referrals: n, latencyMs: Number(args.latency) },
  ];
  if (!args['skip-rss']) scenarios.push({ name: `backfill ${args['rss-referrals']} (memory)`, referrals: Number(args['rss-referrals']), latencyMs: 0 });
  console.log(`leadbridge bench: node ${process.version}, ${os.cpus().length} cores; simulators in a child process; overlap window ${OVERLAP_SECONDS} s`);
  const results = [];
  for (const scenario of scenarios) results.push(await runScenario(scenario));
  console.log('\nTargets:');
  const latency = results[1];
  const largest = results.at(-1)!;
  check(`backfill of ${n} with ${args.latency} ms latency under 30 s`, latency!.seconds < 30, `${latency!.seconds.toFixed(1)} s`);
  for (const r of results.slice(0, 2)) {
    check(`Dataverse write calls ≤ referrals/500 (${r.name})`, r.dynamicsWrites <= r.referrals / 500, `${r.dynamicsWrites} for ${r.referrals} referrals (${r.synced} synced)`);
    check(`echo cycle writes nothing (${r.name})`, r.echoWork === 0, `${r.echoWork} writes`);
    check(`idle cycle ≤ 2 calls per side (${r.name})`, r.idle.pc <= 2 && r.idle.dynamics <= 2 && r.idleWork === 0, `partner-center ${r.idle.pc}, dynamics365 ${r.idle.dynamics}`);
  }
  if (!args['skip-rss']) check(`peak RSS under 250 MB at ${largest.referrals}`, largest.peakRssMb < 250, `${largest.peakRssMb.toFixed(0)} MB`);
}

function check(what: string, ok: boolean, figure: string): void {
  console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${what}: ${figure}`);
  if (!ok) process.exitCode = 1;
}

async function runScenario(scenario: Scenario) {
  const sims = await startSimulators(scenario.referrals);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-bench-'));
  try {
    if (scenario.latencyMs > 0) {
      for (const url of Object.values(sims.urls)) await admin(url, 'PUT', '/_sim/faults', { latencyMs: scenario.latencyMs });
    }
    const runtime = await createRuntime(benchConfig(sims.urls, dir), { cwd: dir });
    const rss = sampleRss();
    const before = await stats(sims.urls);
    const started = performance.now();
    const backfill = await runtime.syncOnce({ runId: 'bench-backfill' });
    const seconds = (performance.now() - started) / 1000;
    const afterBackfill = await stats(sims.urls);
    // The next scheduled poll (after the overlap window) reads the referrals our externalReferenceId
    // write-backs changed; they are recognised by eTag and skipped. Then a poll with nothing new.
    await new Promise((r) => setTimeout(r, OVERLAP_SECONDS * 1000 + 500));
    const echoCycle = await runtime.syncOnce({ runId: 'bench-echo' });
    const afterEcho = await stats(sims.urls);
    const idleCycle = await runtime.syncOnce({ runId: 'bench-idle' });
    const afterIdle = await stats(sims.urls);
    const peakRssMb = rss.stop();
    await runtime.close();
    const synced = backfill.inbound.created + backfill.inbound.updated;
    const result = {
      name: scenario.name,
      referrals: scenario.referrals,
      seconds,
      synced,
      peakRssMb,
      dynamicsWrites: afterBackfill.dynamics.writes - before.dynamics.writes,
      echo: { pc: afterEcho.pc.total - afterBackfill.pc.total, dynamics: afterEcho.dynamics.total - afterBackfill.dynamics.total },
      echoWork: echoCycle.inbound.created + echoCycle.inbound.updated + echoCycle.outbox.sent,
      idle: { pc: afterIdle.pc.total - afterEcho.pc.total, dynamics: afterIdle.dynamics.total - afterEcho.dynamics.total },
      idleWork: idleCycle.inbound.created + idleCycle.inbound.updated + idleCycle.outbox.sent,
    };
    const pcCalls = afterBackfill.pc.total - before.pc.total;
    const dynCalls = afterBackfill.dynamics.total - before.dynamics.total;
    console.log(`\n${scenario.name}`);
    console.log(`  synced ${synced} of ${scenario.referrals} referrals (${backfill.inbound.skippedKind} co-sell skipped, ${backfill.inbound.skippedClosed} archived skipped, ${backfill.inbound.failed} failed) in ${seconds.toFixed(1)} s = ${(scenario.referrals / seconds).toFixed(0)} referrals/s`);
    console.log(`  partner-center: ${pcCalls} calls = ${(pcCalls / scenario.referrals).toFixed(3)} per referral (${backfill.outbox.sent} externalReferenceId write-backs)`);
    console.log(`  dynamics365: ${dynCalls} calls, ${result.dynamicsWrites} writes = ${(dynCalls / Math.max(1, synced)).toFixed(4)} per synced referral`);
    console.log(`  echo cycle (reads back the referrals our write-backs changed): partner-center ${result.echo.pc} calls, dynamics365 ${result.echo.dynamics} calls, ${result.echoWork} writes`);
    console.log(`  idle cycle: partner-center ${result.idle.pc} calls, dynamics365 ${result.idle.dynamics} calls, ${result.idleWork} writes`);
    console.log(`  peak RSS of the worker process: ${peakRssMb.toFixed(0)} MB`);
    return result;
  } finally {
    sims.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

function benchConfig(urls: Record<string, string>, dir: string): LeadbridgeConfig {
  return configSchema.parse({
    source: { partnerCenter: { baseUrl: urls['partner-center'], auth: { kind: 'static', token: 'bench' }, overlapSeconds: OVERLAP_SECONDS } },
    targets: [{ name: 'dynamics', kind: 'dynamics365', settings: { url: urls.dynamics365, auth: { kind: 'static', token: 'bench' }, batchSize: 500 } }],
    ledger: { client: 'sqlite', filename: path.join(dir, 'bench.sqlite') },
  });
}

/** Starts `leadbridge simulate` with random ports and reads its "<name> <url>" lines. */
async function startSimulators(referrals: number): Promise<SimulatorProcess> {
  const bin = path.resolve(import.meta.dirname, '../bin/leadbridge.js');
  const child = spawn(process.execPath, [bin, 'simulate', '--random-ports', '--referrals', String(referrals), '--seed', '42'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const urls: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const [name, url] = line.trim().split(/\s+/);
    if (name && url) urls[name] = url;
    if (urls['partner-center'] && urls.dynamics365) break;
  }
  if (!urls['partner-center'] || !urls.dynamics365) throw new Error('leadbridge simulate did not print the simulator URLs');
  return { urls, child };
}

async function admin(base: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${base}${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${base}${route} → ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function stats(urls: Record<string, string>) {
  const read = async (url: string) => {
    const s = (await admin(url, 'GET', '/_sim/stats')) as { total: number; byMethod: Record<string, number> };
    return { total: s.total, writes: (s.byMethod.POST ?? 0) + (s.byMethod.PATCH ?? 0) };
  };
  return { pc: await read(urls['partner-center']!), dynamics: await read(urls.dynamics365!) };
}

function sampleRss() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
    },
  };
}

await main();
