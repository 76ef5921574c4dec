// `npm run bench -- --tenants 50 --workers 1,2,4`: tenant cycles per minute and worst tenant lag
// per worker count.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import knex from 'knex';

export interface TenantBenchOptions {
  tenants: number;
  workers: number[];
  latencyMs: number;
  /** The longest a run waits for every tenant to catch up. */
  seconds: number;
  /** Then how long the worst lag is watched, every tenant caught up. */
  steadySeconds: number;
  referralsPerTenant: number;
  pgUrl: string;
}

interface Figures {
  workers: number;
  /** Tenant cycles per minute while backlogs waited (from the window's start to caught up). */
  backlogCyclesPerMinute: number;
  /** Seconds until every tenant had caught up (null: not within `seconds`). */
  backfillSeconds: number | null;
  caughtUp: number;
  /** Worker CPU (user + system) per tenant cycle during the backlog, in ms. */
  cpuMsPerCycle: number | null;
  steadyCyclesPerMinute: number | null;
  /** The largest lag any tenant showed, sampled every second of the steady window. */
  worstLagSeconds: number | null;
}

const BIN = path.resolve(import.meta.dirname, '../bin/leadbridge.js');
const INTERVAL_SECONDS = 10;

export async function benchTenants(options: TenantBenchOptions): Promise<void> {
  const results: Figures[] = [];
  for (const workers of options.workers) {
    results.push(await runOnce(options, workers));
    console.log(`(${workers} worker(s) done: ${JSON.stringify(results.at(-1))})`);
  }
  console.log(
    `\n${options.tenants} tenants, ${options.referralsPerTenant} referrals each waiting, ` +
      `${options.latencyMs} ms per call, interval ${INTERVAL_SECONDS} s, ` +
      `${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    'workers  cycles/min (backlog)  all caught up after (s)  worker CPU ms/cycle  ' +
      `cycles/min (steady)  worst lag (s, steady ${options.steadySeconds} s)`,
  );
  const cell = (value: number | null, width: number, digits = 0) =>
    (value === null ? '-' : value.toFixed(digits)).padStart(width);
  for (const r of results)
    console.log(
      `${String(r.workers).padStart(7)}  ${cell(r.backlogCyclesPerMinute, 20)}  ` +
        `${cell(r.backfillSeconds, 23)}  ${cell(r.cpuMsPerCycle, 19)}  ` +
        `${cell(r.steadyCyclesPerMinute, 19)}  ${cell(r.worstLagSeconds, 28, 1)}`,
    );
  console.log(
    "lag: a tenant's lag is now minus the start of its last cycle that read everything there " +
      'was (no change older than that is unsynced), as `status` shows it; the worst lag is the ' +
      'largest over every tenant and every 1 s sample of the steady window.',
  );
}

async function runOnce(options: TenantBenchOptions, workerCount: number): Promise<Figures> {
  const tag = `lbbench_${process.pid}_${workerCount}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lb-bench-tenants-'));
  const sims = await startOrgSimulators(options.referralsPerTenant);
  const db = knex({ client: 'pg', connection: options.pgUrl, pool: { min: 0, max: 1 } });
  const workers: ChildProcess[] = [];
  try {
    for (const name of ['partner-center', 'dynamics365'])
      await fetch(`${sims.urls[name]}/_sim/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latencyMs: options.latencyMs }),
      });
    const config = path.join(dir, 'worker.yaml');
    await writeFile(config, workerConfig(options.pgUrl, tag));
    const files: string[] = [];
    for (let i = 1; i <= options.tenants; i++) {
      const id = `t${String(i).padStart(3, '0')}`;
      files.push(`${id}.yaml`);
      await writeFile(path.join(dir, `${id}.yaml`), tenantFile(sims.urls, id));
    }
    await cli(['--config', config, 'tenants', 'add', ...files], dir);
    for (let i = 0; i < workerCount; i++) workers.push(worker(config, dir));
    // The window opens once every worker has joined (its heartbeat row), so start-up is not
    // counted.
    while ((await countWorkers(db, tag)) < workerCount) await sleep(200);
    const started = Date.now();
    const cyclesBefore = await sumCycles(db, tag);
    const cpuBefore = cpuMs(workers);
    let caughtUp = 0;
    while (caughtUp < options.tenants && Date.now() - started < options.seconds * 1000) {
      await sleep(1000);
      caughtUp = await countCaughtUp(db, tag);
    }
    const backlogMs = Date.now() - started;
    const backlogCycles = (await sumCycles(db, tag)) - cyclesBefore;
    const cpu = cpuMs(workers);
    const figures: Figures = {
      workers: workerCount,
      backlogCyclesPerMinute: (backlogCycles / backlogMs) * 60_000,
      backfillSeconds: caughtUp === options.tenants ? Math.round(backlogMs / 1000) : null,
      caughtUp,
      cpuMsPerCycle:
        cpu === null || cpuBefore === null || backlogCycles === 0
          ? null
          : (cpu - cpuBefore) / backlogCycles,
      steadyCyclesPerMinute: null,
      worstLagSeconds: null,
    };
    if (figures.backfillSeconds === null) {
      console.log(`not caught up: ${JSON.stringify(await behind(db, tag))}`);
      return figures;
    }
    const steadyFrom = Date.now();
    const steadyCyclesBefore = await sumCycles(db, tag);
    let worst = 0;
    while (Date.now() - steadyFrom < options.steadySeconds * 1000) {
      await sleep(1000);
      worst = Math.max(worst, await worstLag(db, tag));
    }
    const steadyCycles = (await sumCycles(db, tag)) - steadyCyclesBefore;
    figures.steadyCyclesPerMinute = (steadyCycles / (Date.now() - steadyFrom)) * 60_000;
    figures.worstLagSeconds = worst;
    return figures;
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
    sims.child.kill('SIGTERM');
    for (const schema of [tag, `${tag}_boss`])
      await db.raw('drop schema if exists ?? cascade', [schema]);
    const tenantSchemas = (await db.raw('select nspname from pg_namespace where nspname like ?', [
      `${tag}_t_%`,
    ])) as { rows: Array<{ nspname: string }> };
    for (const row of tenantSchemas.rows)
      await db.raw('drop schema if exists ?? cascade', [row.nspname]);
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU time (user + system) the worker processes have used, in ms; null off Linux. */
function cpuMs(workers: ChildProcess[]): number | null {
  let total = 0;
  for (const w of workers) {
    try {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks of 10 ms; the command
      // name (field 2) is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${w.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return null;
    }
  }
  return total;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function countCaughtUp(db: knex.Knex, tag: string): Promise<number> {
  const result = (await db.raw(
    `select count(*)::int as n from ??.leadbridge_tenant_cycles where caught_up_at is not null`,
    [tag],
  )) as { rows: Array<{ n: number }> };
  return result.rows[0]?.n ?? 0;
}

/** The tenants that never caught up: their cycles, last result and error. */
async function behind(db: knex.Knex, tag: string): Promise<unknown[]> {
  const result = (await db.raw(
    `select tenant, cycles, last_result, last_error from ??.leadbridge_tenant_cycles
      where caught_up_at is null order by tenant`,
    [tag],
  )) as { rows: unknown[] };
  return result.rows;
}

async function countWorkers(db: knex.Knex, tag: string): Promise<number> {
  const exists = (await db.raw('select to_regclass(?) as t', [`${tag}.leadbridge_workers`])) as {
    rows: Array<{ t: string | null }>;
  };
  if (!exists.rows[0]?.t) return 0;
  const result = (await db.raw(
    `select count(*)::int as n from ??.leadbridge_workers where stopped_at is null`,
    [tag],
  )) as { rows: Array<{ n: number }> };
  return result.rows[0]?.n ?? 0;
}

async function sumCycles(db: knex.Knex, tag: string): Promise<number> {
  const result = (await db.raw(
    `select coalesce(sum(cycles), 0)::int as n from ??.leadbridge_tenant_cycles`,
    [tag],
  )) as { rows: Array<{ n: number }> };
  return result.rows[0]?.n ?? 0;
}

/** The worst tenant's lag now: seconds since the start of its last caught-up cycle. */
async function worstLag(db: knex.Knex, tag: string): Promise<number> {
  const result = (await db.raw(
    `select max(extract(epoch from now() - caught_up_at::timestamptz))::float as lag
       from ??.leadbridge_tenant_cycles`,
    [tag],
  )) as { rows: Array<{ lag: number | null }> };
  return result.rows[0]?.lag ?? 0;
}

function workerConfig(pgUrl: string, tag: string): string {
  return `source:
  partnerCenter:
    auth: { kind: static, token: unused }
ledger: { client: pg, connection: "${pgUrl}", schema: ${tag} }
cluster:
  enabled: true
  bossSchema: ${tag}_boss
  concurrency: 4
  openTenants: 4
  pollSeconds: 1
  maxPagesPerCycle: 1
log: { level: ${process.env.BENCH_LOG_LEVEL ?? 'warn'} }
`;
}

function tenantFile(urls: Record<string, string>, id: string): string {
  return (
    `source:
  partnerCenter:
    baseUrl: ${urls['partner-center']}/orgs/${id}
    auth: { kind: static, token: "\${BENCH_TOKEN}" }
    overlapSeconds: 2
targets:
  - name: dynamics
    kind: dynamics365
    settings: { url: ${urls.dynamics365}/orgs/` +
    `${id}, auth: { kind: static, token: "\${BENCH_TOKEN}" } }
worker:
  intervalSeconds: ${INTERVAL_SECONDS}
`
  );
}

function worker(config: string, cwd: string): ChildProcess {
  // BENCH_CPU_PROF=<dir>: each worker writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF]
    : [];
  return spawn(
    process.execPath,
    [...profile, '--max-old-space-size=256', BIN, '--config', config, 'run'],
    {
      cwd,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '', BENCH_TOKEN: 'bench' },
    },
  );
}

async function cli(args: string[], cwd: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, BENCH_TOKEN: 'bench' },
  });
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`leadbridge ${args.slice(2, 4).join(' ')} exited ${code}`);
}

async function startOrgSimulators(
  referrals: number,
): Promise<{ urls: Record<string, string>; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [BIN, 'simulate', '--orgs', '--random-ports', '--referrals', String(referrals)],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  const urls: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    const [name, url] = line.trim().split(/\s+/);
    if (name && url) urls[name] = url;
    if (urls['partner-center'] && urls.dynamics365) break;
  }
  return { urls, child };
}
