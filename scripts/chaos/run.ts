// The chaos run: SIGKILL the worker at seeded random moments during a backfill and during outcome
// sends, then verify.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LEAD_KINDS, deriveLeadKind, type Referral } from '../../src/core/referral.js';
import { createRandom, type Random } from '../../src/simulators/common/random.js';
import { planOutcomes, recordOutcomes, type PlannedOutcome } from './outcomes.js';
import { startSimulators, startWorker, type SimulatorUrls } from './processes.js';
import { faultsInjected, injectFaults, listReferrals } from './sim.js';
import {
  checkCrms,
  checkLedger,
  crmClean,
  dropPgSchema,
  type CrmFigures,
  type LedgerFigures,
  type LedgerLocation,
} from './verify.js';

export interface ChaosOptions {
  seed: number;
  referrals: number;
  outcomes: number;
  kills: { backfill: number; outcomes: number };
  /** Share of API requests that fail (429, 5xx, dropped connection), 0..1. */
  faultRate: number;
  /** A kill lands this long after the worker logged "worker started" (uniform in the range). */
  killAfterMs: [number, number];
  intervalSeconds: number;
  ledger: { client: 'sqlite' } | { client: 'pg'; connection: string };
  /** How long a clean run may take to converge before the run is declared failed. */
  convergeTimeoutMs: number;
  progress: (line: string) => void;
}

export interface PhaseReport {
  kills: number;
  /** Where each kill landed: the worker's last log activity, grouped. */
  landed: Record<string, number>;
  /** Seconds from the clean run's start until everything checked out (null: it never did). */
  convergedSeconds: number | null;
  /** What was still to do when the clean run started (CRM records, write-backs, outcomes). */
  leftAtRestart: { records: number; writeBacks: number; outcomes: number };
}

export interface ChaosReport {
  options: ChaosOptions;
  expected: number;
  outcomes: number;
  backfill: PhaseReport;
  outcomePhase: PhaseReport;
  crm: CrmFigures;
  ledger: LedgerFigures;
  faultsInjected: number;
  workerErrors: number;
}

interface Scene {
  urls: SimulatorUrls;
  dir: string;
  configFile: string;
  location: LedgerLocation;
  random: Random;
  options: ChaosOptions;
  workerErrors: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const sims = await startSimulators(options.referrals, options.seed);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-chaos-'));
  const location: LedgerLocation =
    options.ledger.client === 'sqlite'
      ? { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') }
      : {
          client: 'pg',
          connection: options.ledger.connection,
          schema: `chaos_${options.seed}_${process.pid}`,
        };
  const scene: Scene = {
    urls: sims.urls,
    dir,
    configFile: path.join(dir, 'leadbridge.yaml'),
    location,
    random: createRandom(options.seed),
    options,
    workerErrors: 0,
  };
  try {
    await writeFile(scene.configFile, configText(scene));
    const expected = await expectedReferrals(scene.urls);
    await injectFaults(scene.urls, options.faultRate, options.seed);
    options.progress(`backfill: ${expected.size} referrals to sync into both CRMs`);
    const backfill = await killPhase(scene, 'backfill', options.kills.backfill, expected, []);
    const synced = (await listReferrals(scene.urls)).filter((r) => expected.has(r.id));
    const planned = planOutcomes(synced, options.outcomes);
    await recordOutcomes(scene.urls, planned);
    options.progress(`outcomes: ${planned.length} recorded in the CRMs`);
    const outcomePhase = await killPhase(
      scene,
      'outcomes',
      options.kills.outcomes,
      expected,
      planned,
    );
    return {
      options,
      expected: expected.size,
      outcomes: planned.length,
      backfill,
      outcomePhase,
      crm: await checkCrms(scene.urls, expected, planned),
      ledger: await checkLedger(location),
      faultsInjected: await faultsInjected(scene.urls),
      workerErrors: scene.workerErrors,
    };
  } finally {
    await sims.stop();
    if (location.client === 'pg') await dropPgSchema(location.connection, location.schema);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Referrals leadbridge must sync: a synced lead kind, and not archived before the first poll. */
async function expectedReferrals(urls: SimulatorUrls): Promise<Set<string>> {
  const referrals = await listReferrals(urls);
  return new Set(
    referrals
      .filter((r) => r.status !== 'Closed')
      .filter((r) => DEFAULT_LEAD_KINDS.includes(deriveLeadKind(r as unknown as Referral)))
      .map((r) => r.id),
  );
}

function configText(scene: Scene): string {
  const { urls, location, options } = scene;
  const ledger =
    location.client === 'sqlite'
      ? ['  client: sqlite', `  filename: ${JSON.stringify(location.filename)}`]
      : [
          '  client: pg',
          `  connection: ${JSON.stringify(location.connection)}`,
          `  schema: ${location.schema}`,
        ];
  return [
    '# Written by the chaos suite: the simulators in their own process, static tokens.',
    'source:',
    '  partnerCenter:',
    `    baseUrl: ${urls['partner-center']}`,
    '    auth: { kind: static, token: chaos }',
    '    overlapSeconds: 2',
    'targets:',
    '  - name: dynamics',
    '    kind: dynamics365',
    `    settings: { url: ${urls.dynamics365}, auth: { kind: static, token: chaos } }`,
    '  - name: salesforce',
    '    kind: salesforce',
    '    settings:',
    `      instanceUrl: ${urls.salesforce}`,
    '      auth: { kind: accessToken, token: chaos }',
    'ledger:',
    ...ledger,
    'worker:',
    `  intervalSeconds: ${options.intervalSeconds}`,
    '  jitterSeconds: 0',
    '  stopTimeoutSeconds: 10',
    '',
  ].join('\n');
}

/**
 * `kills` runs of the worker, each SIGKILLed at a random moment; then one clean run, timed until
 * all is right.
 */
async function killPhase(
  scene: Scene,
  phase: string,
  kills: number,
  expected: ReadonlySet<string>,
  outcomes: readonly PlannedOutcome[],
): Promise<PhaseReport> {
  const landed: Record<string, number> = {};
  const [min, max] = scene.options.killAfterMs;
  for (let i = 1; i <= kills; i++) {
    const worker = startWorker(scene.configFile, scene.dir);
    await worker.started;
    await sleep(scene.random.int(min, max));
    const where = landing(worker.lastActivity());
    worker.kill('SIGKILL');
    const { signal } = await worker.exited;
    const label = signal === 'SIGKILL' ? where : `exited by itself (${where})`;
    landed[label] = (landed[label] ?? 0) + 1;
    scene.workerErrors += worker.errors().length;
    if (i % 10 === 0 || i === kills) scene.options.progress(`${phase}: ${i} kills`);
  }
  const before = await checkCrms(scene.urls, expected, outcomes);
  const leftAtRestart = {
    records: Object.values(before.missing).reduce((a, b) => a + b, 0),
    writeBacks: before.externalReferenceMissing,
    outcomes: before.outcomesMissing,
  };
  const convergedSeconds = await cleanRun(scene, expected, outcomes);
  const verdict =
    convergedSeconds === null
      ? 'did not converge'
      : `converged in ${convergedSeconds.toFixed(1)} s`;
  scene.options.progress(`${phase}: clean run ${verdict}`);
  return { kills, landed, convergedSeconds, leftAtRestart };
}

/**
 * Starts the worker, polls the checks until they pass (or time runs out), then stops it with
 * SIGTERM.
 */
async function cleanRun(
  scene: Scene,
  expected: ReadonlySet<string>,
  outcomes: readonly PlannedOutcome[],
): Promise<number | null> {
  const startedAt = performance.now();
  const worker = startWorker(scene.configFile, scene.dir);
  let converged: number | null = null;
  try {
    await worker.started;
    while (performance.now() - startedAt < scene.options.convergeTimeoutMs) {
      const crm = await checkCrms(scene.urls, expected, outcomes);
      const ledger = await checkLedger(scene.location);
      if (crmClean(crm) && ledger.outboxWaiting + ledger.syncWaiting === 0) {
        converged = (performance.now() - startedAt) / 1000;
        break;
      }
      await sleep(250);
    }
  } finally {
    worker.kill('SIGTERM');
    await worker.exited;
    scene.workerErrors += worker.errors().length;
  }
  return converged;
}

/** Groups the worker's last log activity into the part of the cycle it was in. */
function landing(activity: string): string {
  if (/^(spawned|node process|worker started|health endpoint|ledger pruned)/.test(activity))
    return 'start-up';
  if (/list referrals|\$batch sent|collection upsert|picklists/.test(activity))
    return 'inbound (reading Partner Center, writing the CRMs)';
  if (/GET referral/.test(activity)) return 'outbox: the fresh read before a Partner Center write';
  if (/set external reference/.test(activity)) return 'outbox: externalReferenceId write-backs';
  if (/partner-center call|outcome sent/.test(activity)) return 'outbox: outcome sends';
  if (/cycle done/.test(activity)) return 'between cycles';
  if (/retrying/.test(activity)) return 'waiting to retry a faulted API call';
  if (/outbound|changes|query|crm/i.test(activity)) return 'outbound (reading CRM changes)';
  return activity;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
