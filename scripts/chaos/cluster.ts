// The cluster chaos run: workers against the many-org simulators, one SIGKILLed at random every few
// seconds and restarted, then every tenant's CRMs and Partner Center checked (CI test and script).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import knex, { type Knex } from 'knex';
import { planOutcomes, recordOutcomes, type PlannedOutcome } from './outcomes.js';
import type { SimulatorUrls } from './processes.js';
import { admin, dynamicsLeads, listReferrals, salesforceLeads } from './sim.js';
import {
  checkCrms,
  checkLedger,
  crmClean,
  noCrmFigures,
  type CrmFigures,
  type LedgerFigures,
} from './verify.js';
import { RerunWatch } from './cluster-reruns.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/leadbridge.js');
const TOKEN = 'chaos';

export interface ClusterChaosOptions {
  pgUrl: string;
  tenants: number;
  workers: number;
  /** How long workers are killed for. */
  seconds: number;
  /** A kill every `killEveryMs` × 0.5-1.5. */
  killEveryMs: number;
  /** Referrals waiting per tenant before the workers start, and sent during the chaos. */
  firstReferrals: number;
  laterReferrals: number;
  /** Outcomes a CRM user records per tenant during the chaos (win, lose, decline... in turn). */
  outcomesPerTenant: number;
  convergeTimeoutMs: number;
  progress?: (line: string) => void;
  /** Runs once everything converged, workers still up (the test's status and --tenant checks). */
  whileConverged?: (run: ClusterChaosRun) => Promise<void>;
}

/** What the test's extra checks need: where the config is and how to run the CLI there. */
export interface ClusterChaosRun {
  dir: string;
  configFile: string;
  tag: string;
  tenants: string[];
  referrals: ReadonlyMap<string, string[]>;
  env: Record<string, string>;
}

export interface ClusterChaosReport {
  tenants: number;
  workers: number;
  seconds: number;
  kills: number;
  referrals: number;
  outcomes: number;
  /** Kills that interrupted a running tenant cycle, and the seconds until it ran again. */
  interrupted: number;
  rerunSeconds: { max: number | null; mean: number | null; notRerun: number };
  /** Seconds from the last kill until every tenant's CRMs and Partner Center were right. */
  convergedSeconds: number | null;
  crm: CrmFigures;
  /** CRM records holding a referral of another tenant (or of none). */
  crossTenant: number;
  ledger: Omit<LedgerFigures, 'integrity'>;
  /** The first tenants still off at the end, with what was off. */
  failures: string[];
}

/** Runs the whole thing and cleans up (schemas, folder, processes) whatever happens. */
export async function runClusterChaos(options: ClusterChaosOptions): Promise<ClusterChaosReport> {
  const say = options.progress ?? (() => undefined);
  const tag = `lbchaos_${process.pid}_${Date.now() % 100_000}`;
  const tenants = Array.from({ length: options.tenants }, (_, i) => tenantId(i));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lb-cluster-chaos-'));
  const sims = await startOrgSimulators();
  const db = knex({ client: 'pg', connection: options.pgUrl, pool: { min: 0, max: 2 } });
  const workers: Worker[] = [];
  try {
    const configFile = path.join(dir, 'worker.yaml');
    await writeFile(configFile, workerConfig(options.pgUrl, tag));
    for (const tenant of tenants)
      await writeFile(path.join(dir, `${tenant}.yaml`), tenantFile(sims.urls, tenant));
    const referrals = new Map<string, string[]>();
    for (const tenant of tenants)
      referrals.set(tenant, await createReferrals(sims.urls, tenant, options.firstReferrals));
    await cli(['--config', configFile, 'tenants', 'add', ...tenants.map((t) => `${t}.yaml`)], dir);
    for (let i = 0; i < options.workers; i++) workers.push(startWorker(configFile, dir));
    say(`${options.workers} workers, ${tenants.length} tenants (schema ${tag}); chaos begins`);

    const outcomes: PlannedOutcome[] = [];
    const activity = userActivity(options, sims.urls, tenants, referrals, outcomes);
    const reruns = new RerunWatch(db, tag);
    const chaosEnds = Date.now() + options.seconds * 1000;
    let kills = 0;
    while (Date.now() < chaosEnds) {
      await sleep(options.killEveryMs * (0.5 + Math.random()));
      const victim = Math.floor(Math.random() * workers.length);
      const pid = workers[victim]!.child.pid!;
      const running = await reruns.runningOn(pid);
      workers[victim]!.child.kill('SIGKILL');
      await workers[victim]!.exited;
      reruns.killed(running, new Date());
      kills++;
      workers[victim] = startWorker(configFile, dir);
      say(`kill ${kills}: worker ${pid} (cycles running: ${running.join(', ') || 'none'})`);
    }
    const lastKill = Date.now();
    await activity;
    say(`chaos over: ${kills} kills; waiting for every tenant to converge`);
    const converged = await convergence(options, sims.urls, tenants, referrals, outcomes);
    const convergedSeconds = converged ? (Date.now() - lastKill) / 1000 : null;
    const run: ClusterChaosRun = {
      dir,
      configFile,
      tag,
      tenants,
      referrals,
      env: { SIM_TOKEN: TOKEN },
    };
    if (converged && options.whileConverged) await options.whileConverged(run);
    // A cycle killed near the end may not have run again yet (its work was already done
    // elsewhere): wait for it, so its rerun is timed and its run record closed.
    await reruns.settle(120_000);
    await reruns.stop();
    await stopWorkers(workers, 'SIGTERM');
    return {
      tenants: tenants.length,
      workers: options.workers,
      seconds: options.seconds,
      kills,
      referrals: [...referrals.values()].flat().length,
      outcomes: outcomes.length,
      interrupted: reruns.interrupted(),
      rerunSeconds: reruns.figures(),
      convergedSeconds,
      ...(await finalFigures(options.pgUrl, tag, sims.urls, tenants, referrals, outcomes)),
    };
  } finally {
    await stopWorkers(workers, 'SIGKILL');
    await sims.stop();
    await dropSchemas(db, tag);
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

export function clusterChaosPassed(report: ClusterChaosReport): boolean {
  return (
    report.convergedSeconds !== null &&
    crmClean(report.crm) &&
    report.crossTenant === 0 &&
    report.ledger.outboxWaiting + report.ledger.syncWaiting === 0 &&
    report.rerunSeconds.notRerun === 0
  );
}

function tenantId(i: number): string {
  return `t${String(i + 1).padStart(2, '0')}`;
}

/** One tenant's view of the simulators: its org under each router. */
function orgUrls(urls: SimulatorUrls, tenant: string): SimulatorUrls {
  return {
    'partner-center': `${urls['partner-center']}/orgs/${tenant}`,
    dynamics365: `${urls.dynamics365}/orgs/${tenant}`,
    salesforce: `${urls.salesforce}/orgs/${tenant}`,
  };
}

/**
 * Customers send more leads while workers die, and once a tenant's first leads are in its CRMs its
 * users record outcomes there (win, lose, disqualify in Dynamics; win, decline in Salesforce).
 */
async function userActivity(
  options: ClusterChaosOptions,
  urls: SimulatorUrls,
  tenants: string[],
  referrals: Map<string, string[]>,
  outcomes: PlannedOutcome[],
): Promise<void> {
  for (const tenant of tenants)
    referrals.get(tenant)!.push(...(await createReferrals(urls, tenant, options.laterReferrals)));
  for (const tenant of tenants) {
    const org = orgUrls(urls, tenant);
    const first = new Set(referrals.get(tenant)!.slice(0, options.firstReferrals));
    const deadline = Date.now() + options.convergeTimeoutMs;
    while (!(await readyForOutcomes(org, first))) {
      if (Date.now() > deadline) throw new Error(`${tenant}: its first referrals never synced`);
      await sleep(250);
    }
    const waiting = (await listReferrals(org)).filter((r) => first.has(r.id));
    const planned = planOutcomes(waiting, options.outcomesPerTenant);
    await recordOutcomes(org, planned);
    outcomes.push(...planned);
  }
}

/**
 * The referrals are in both CRMs and Partner Center holds their CRM id. (A referral a user closes
 * before its CRM id is written back never gets it: the write-back is superseded, as the single-
 * worker chaos run also avoids by recording outcomes after the backfill.)
 */
async function readyForOutcomes(org: SimulatorUrls, ids: ReadonlySet<string>): Promise<boolean> {
  const referrals = (await listReferrals(org)).filter((r) => ids.has(r.id));
  if (referrals.length < ids.size || referrals.some((r) => !r.externalReferenceId)) return false;
  const [d, s] = await Promise.all([dynamicsLeads(org), salesforceLeads(org)]);
  const has = (values: Array<string | null>) => {
    const seen = new Set(values);
    return [...ids].every((id) => seen.has(id));
  };
  return has(d.map((l) => l.lb_referralid)) && has(s.map((l) => l.PartnerReferralId__c));
}

/** Polls every tenant until its CRMs and Partner Center are right; false at the timeout. */
async function convergence(
  options: ClusterChaosOptions,
  urls: SimulatorUrls,
  tenants: string[],
  referrals: Map<string, string[]>,
  outcomes: PlannedOutcome[],
): Promise<boolean> {
  const deadline = Date.now() + options.convergeTimeoutMs;
  const pending = new Set(tenants);
  while (pending.size > 0) {
    for (const tenant of [...pending]) {
      const ids = new Set(referrals.get(tenant)!);
      const mine = outcomes.filter((o) => ids.has(o.referralId));
      if (crmClean(await checkCrms(orgUrls(urls, tenant), ids, mine))) pending.delete(tenant);
    }
    if (pending.size === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(1_000);
  }
  return true;
}

/** Every tenant's CRM and ledger figures, added up, plus records that crossed tenants. */
async function finalFigures(
  pgUrl: string,
  tag: string,
  urls: SimulatorUrls,
  tenants: string[],
  referrals: Map<string, string[]>,
  outcomes: PlannedOutcome[],
): Promise<Pick<ClusterChaosReport, 'crm' | 'crossTenant' | 'ledger' | 'failures'>> {
  const crm = noCrmFigures();
  const ledger = { outboxWaiting: 0, syncWaiting: 0, runsLeftRunning: 0 };
  const quarantined = { referrals: 0, outbox: 0 };
  let crossTenant = 0;
  const failures: string[] = [];
  for (const tenant of tenants) {
    const org = orgUrls(urls, tenant);
    const ids = new Set(referrals.get(tenant)!);
    const figures = await checkCrms(
      org,
      ids,
      outcomes.filter((o) => ids.has(o.referralId)),
    );
    for (const [key, value] of Object.entries(figures) as Array<[keyof CrmFigures, unknown]>) {
      if (typeof value === 'number') (crm[key] as number) += value;
      else
        for (const [target, n] of Object.entries(value as Record<string, number>))
          (crm[key] as Record<string, number>)[target]! += n;
    }
    const [d, s] = await Promise.all([dynamicsLeads(org), salesforceLeads(org)]);
    const foreign = [
      ...d.map((l) => l.lb_referralid),
      ...s.map((l) => l.PartnerReferralId__c),
    ].filter((id) => id === null || !ids.has(id)).length;
    crossTenant += foreign;
    const own = await checkLedger({
      client: 'pg',
      connection: pgUrl,
      schema: `${tag}_t_${tenant}`,
    });
    ledger.outboxWaiting += own.outboxWaiting;
    ledger.syncWaiting += own.syncWaiting;
    ledger.runsLeftRunning += own.runsLeftRunning;
    quarantined.referrals += own.quarantined.referrals;
    quarantined.outbox += own.quarantined.outbox;
    if ((!crmClean(figures) || foreign > 0) && failures.length < 5)
      failures.push(`${tenant}: ${JSON.stringify({ ...figures, crossTenant: foreign })}`);
  }
  return { crm, crossTenant, ledger: { ...ledger, quarantined }, failures };
}

export function formatClusterChaosReport(r: ClusterChaosReport): string {
  const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
  const rerun = r.rerunSeconds;
  return [
    `cluster chaos: ${r.workers} workers, ${r.tenants} tenants, ${r.seconds} s of SIGKILLs`,
    `  kills: ${r.kills} (${r.interrupted} interrupted a running tenant cycle)`,
    `  interrupted cycle → rerun by another worker process: max ${fmt(rerun.max)} s, ` +
      `mean ${fmt(rerun.mean)} s, never rerun ${rerun.notRerun}`,
    `  referrals ${r.referrals}, outcomes ${r.outcomes}; converged ` +
      (r.convergedSeconds === null
        ? 'NOT within the timeout'
        : `${r.convergedSeconds.toFixed(1)} s after the last kill`),
    `  duplicates ${sum(r.crm.duplicates)} ${JSON.stringify(r.crm.duplicates)}, missing ` +
      `${sum(r.crm.missing)} ${JSON.stringify(r.crm.missing)}, cross-tenant ${r.crossTenant}`,
    `  external reference missing/wrong ${r.crm.externalReferenceMissing}/` +
      `${r.crm.externalReferenceWrong}; outcomes missing/wrong ${r.crm.outcomesMissing}/` +
      `${r.crm.outcomesWrong}, applied twice ${r.crm.transitionsTwice}, unexpected ` +
      `${r.crm.unexpectedTransitions}`,
    `  ledgers: outbox waiting ${r.ledger.outboxWaiting}, sync waiting ${r.ledger.syncWaiting}, ` +
      `quarantined ${r.ledger.quarantined.referrals}/${r.ledger.quarantined.outbox}, runs left ` +
      `running ${r.ledger.runsLeftRunning}`,
    ...r.failures.map((f) => `  off: ${f}`),
  ].join('\n');
}

function fmt(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}

function workerConfig(pgUrl: string, tag: string): string {
  return `source:
  partnerCenter:
    auth: { kind: static, token: unused }
ledger: { client: pg, connection: "${pgUrl}", schema: ${tag} }
cluster:
  enabled: true
  bossSchema: ${tag}_boss
  jobExpireSeconds: 20
  maintenanceSeconds: 2
  heartbeatSeconds: 2
  pollSeconds: 1
  maxPagesPerCycle: 1
log: { level: error }
`;
}

function tenantFile(urls: SimulatorUrls, tenant: string): string {
  const org = orgUrls(urls, tenant);
  return `source:
  partnerCenter:
    baseUrl: ${org['partner-center']}
    auth: { kind: static, token: "\${SIM_TOKEN}" }
    overlapSeconds: 1
    pageSize: 5
targets:
  - name: dynamics
    kind: dynamics365
    settings: { url: ${org.dynamics365}, auth: { kind: static, token: "\${SIM_TOKEN}" } }
  - name: salesforce
    kind: salesforce
    settings:
      instanceUrl: ${org.salesforce}
      auth: { kind: accessToken, token: "\${SIM_TOKEN}" }
worker:
  intervalSeconds: 2
`;
}

async function createReferrals(
  urls: SimulatorUrls,
  tenant: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await admin<{ id: string }>(
      orgUrls(urls, tenant)['partner-center'],
      'POST',
      '/_sim/referrals',
      {
        type: 'Independent',
        qualification: 'Direct',
        direction: 'Incoming',
        inviteContext: null,
        status: 'New',
        substatus: 'Received',
        name: `${tenant} inquiry ${i}`,
      },
    );
    ids.push(created.id);
  }
  return ids;
}

interface Worker {
  child: ChildProcess;
  exited: Promise<void>;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SIM_TOKEN: TOKEN };
  delete env.LEADBRIDGE_CONFIG;
  delete env.NODE_OPTIONS;
  return env;
}

/** A heap flag of our own: the CLI then runs in this process, so SIGKILL hits the worker itself. */
function startWorker(configFile: string, cwd: string): Worker {
  const child = spawn(
    process.execPath,
    ['--max-old-space-size=256', BIN, '--config', configFile, 'run'],
    { cwd, env: childEnv(), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

async function stopWorkers(workers: Worker[], signal: NodeJS.Signals): Promise<void> {
  for (const w of workers)
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  await Promise.all(workers.map((w) => w.exited));
}

async function cli(args: string[], cwd: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv(), stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`leadbridge ${args.slice(2).join(' ')} exited ${String(code)}`);
}

async function startOrgSimulators(): Promise<{ urls: SimulatorUrls; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [BIN, 'simulate', '--orgs', '--random-ports', '--referrals', '0', '--seed', '7'],
    { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const urls: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    const [name, url] = line.trim().split(/\s+/);
    if (name && url) urls[name] = url;
    if (urls['partner-center'] && urls.dynamics365 && urls.salesforce) break;
  }
  if (!urls['partner-center'] || !urls.dynamics365 || !urls.salesforce) {
    child.kill('SIGKILL');
    throw new Error('leadbridge simulate --orgs did not print the simulator URLs');
  }
  return {
    urls: urls as SimulatorUrls,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function dropSchemas(db: Knex, tag: string): Promise<void> {
  const found = (await db.raw(
    'select nspname from pg_namespace where nspname in (?, ?) or starts_with(nspname, ?)',
    [tag, `${tag}_boss`, `${tag}_t_`],
  )) as { rows: Array<{ nspname: string }> };
  for (const row of found.rows) await db.raw('drop schema if exists ?? cascade', [row.nspname]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
