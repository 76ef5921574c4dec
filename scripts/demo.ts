// `npm start`: the embedded demo. Simulators with seeded referrals, a ready config, and the worker
// syncing them.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runLogin } from '../src/cli/login.js';
import { loadConfig } from '../src/config/index.js';
import { CRM_MODULES } from '../src/crm/modules.js';
import { createLogger } from '../src/core/log.js';
import {
  DEFAULT_SIM_USER,
  SIM_PUBLIC_CLIENT_ID,
  SIM_TENANT_ID,
  SIM_TLS_CERT_FILE,
} from '../src/simulators/entra/index.js';
import { startSimulators, stopSimulators, type RunningSimulator } from '../src/simulators/index.js';
import { DEFAULT_WORKFLOW, workflowUrl } from '../src/simulators/graph/index.js';
import { RuntimeHolder } from '../src/cli/runtime-holder.js';
import { Worker } from '../src/worker/worker.js';
import { WorkerMetrics } from '../src/worker/metrics.js';
import { healthReport } from '../src/worker/health.js';
import { consoleAccess, serveConsole, type ConsoleServer } from '../src/cli/console.js';
import { keepApiCallCounts } from '../src/cli/run.js';
import { demoBanner } from './demo-banner.js';
import { DemoAlreadyRunningError, DemoLock } from './demo-lock.js';

const { values: args } = parseArgs({
  options: {
    referrals: { type: 'string', default: '200' },
    interval: { type: 'string', default: '15' },
    'base-port': { type: 'string', default: '7401' },
    'new-lead-every': { type: 'string', default: '20' },
    'random-ports': { type: 'boolean', default: false },
  },
});

const DEMO_DIR = path.resolve('.leadbridge-demo');
const CONFIG_FILE = path.join(DEMO_DIR, 'leadbridge.yaml');
const DEMO_CACHE_KEY = randomBytes(32).toString('hex');
/** Any private-app token shape the HubSpot simulator takes (HubSpot's: pat-<region>-<uuid>). */
const DEMO_HUBSPOT_TOKEN = `pat-na1-${randomUUID()}`;
const LOCK_FILE = path.join(DEMO_DIR, 'demo.lock');

async function main(): Promise<void> {
  // Before anything is deleted or started: a second demo here would take over the first one's
  // ledger and config.
  const lock = await DemoLock.acquire(LOCK_FILE);
  process.on('exit', () => lock.release());
  const simulators = await startDemoSimulators();
  const url = (name: string) => simulators.find((s) => s.name === name)!.url;
  await clearDemoDir();
  await writeFile(CONFIG_FILE, demoConfig(url));
  await lock.describe({
    urls: Object.fromEntries(simulators.map((s) => [s.name, s.url])),
    config: CONFIG_FILE,
  });
  const logger = createLogger({ level: 'info', format: process.stderr.isTTY ? 'pretty' : 'json' });
  await signInThroughSimulator(url('entra'), logger);
  const metrics = new WorkerMetrics();
  const runtimes = new RuntimeHolder({
    configFile: CONFIG_FILE,
    env: process.env,
    cwd: process.cwd(),
    logger,
    metrics,
  });
  await runtimes.start();
  const worker = new Worker({
    runtime: () => runtimes.forNextCycle(),
    intervalMs: () => Number(args.interval) * 1000,
    jitterMs: () => 1000,
    maxPagesPerCycle: 50,
    logger,
    onCycle: () => keepApiCallCounts(runtimes, metrics, logger),
  });
  const consoleServer = await startDemoConsole(runtimes, worker, logger);
  console.log(
    demoBanner({
      url,
      console: consoleServer.url,
      config: CONFIG_FILE,
      referrals: args.referrals,
      intervalSeconds: args.interval,
      newLeadEverySeconds: args['new-lead-every'],
    }),
  );
  const newLeads = setInterval(
    () => void addLead(url('partner-center')),
    Number(args['new-lead-every']) * 1000,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error(`\n${signal}: finishing the cycle in flight, then stopping the simulators`);
    clearInterval(newLeads);
    await worker.stop();
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await worker.run();
  await consoleServer.close();
  await runtimes.close();
  await stopSimulators(simulators);
}

/**
 * The console on port 7400 (a free one when taken), reading the demo's ledger while the worker
 * fills it.
 */
async function startDemoConsole(
  runtimes: RuntimeHolder,
  worker: Worker,
  logger: ReturnType<typeof createLogger>,
): Promise<ConsoleServer> {
  const parts = {
    config: () => runtimes.config!,
    ledger: () => runtimes.current!.ledger,
    logger,
    cwd: process.cwd(),
    health: () => healthReport(worker.healthSnapshot(600), new Date()),
    nextCycleHint: () => `the next cycle (within ${args.interval} s) tries again`,
  };
  const access = consoleAccess('127.0.0.1', {});
  const port = args['random-ports'] ? 0 : Number(args['base-port']) - 1;
  try {
    return await serveConsole(parts, access, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return serveConsole(parts, access, 0);
  }
}

/** The previous demo's ledger and config go (the demo starts fresh); the lock we hold stays. */
async function clearDemoDir(): Promise<void> {
  await mkdir(DEMO_DIR, { recursive: true });
  for (const entry of await readdir(DEMO_DIR)) {
    if (entry !== path.basename(LOCK_FILE))
      await rm(path.join(DEMO_DIR, entry), { recursive: true, force: true });
  }
}

/**
 * The simulators on their usual ports, or on free ones when those are taken (a `leadbridge
 * simulate` running).
 */
async function startDemoSimulators(): Promise<RunningSimulator[]> {
  const options = { host: '127.0.0.1', seed: 42, referrals: Number(args.referrals) };
  if (args['random-ports']) return startSimulators({ ...options, basePort: null });
  try {
    return await startSimulators({ ...options, basePort: Number(args['base-port']) });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.error(`ports ${args['base-port']}+ are taken; the demo uses free ports instead`);
    return startSimulators({ ...options, basePort: null });
  }
}

/**
 * `leadbridge login partner-center` without a person: the device code is approved through the Entra
 * ID simulator's
 * admin route, so that `npm start` needs no human step. Says so on stdout.
 */
async function signInThroughSimulator(
  entraUrl: string,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  const config = await loadConfig({
    file: CONFIG_FILE,
    env: process.env,
    cwd: process.cwd(),
    kinds: CRM_MODULES,
  });
  await runLogin({
    config,
    logger,
    out: process.stdout,
    onCode: async (code) => {
      await approveDeviceCode(entraUrl, code.userCode);
      console.log(
        `(demo) approved code ${code.userCode} as ${DEFAULT_SIM_USER} through ${entraUrl}` +
          `/_sim/devicecodes/approve: against a real tenant a person opens the page and signs in`,
      );
    },
  });
}

function approveDeviceCode(entraUrl: string, userCode: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      `${entraUrl}/_sim/devicecodes/approve`,
      {
        method: 'POST',
        ca: readFileSync(SIM_TLS_CERT_FILE),
        headers: { 'Content-Type': 'application/json' },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`approving the device code → ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(JSON.stringify({ userCode }));
  });
}

function demoConfig(url: (name: string) => string): string {
  return `# Written by npm start: the demo's simulators (in-memory, fresh every start)
# and a throwaway ledger.
source:
  partnerCenter:
    baseUrl: ${url('partner-center')}
    # App+User sign-in through the Entra ID simulator; the demo signs in by itself at start.
    auth:
      kind: user
      tenantId: ${SIM_TENANT_ID}
      clientId: ${SIM_PUBLIC_CLIENT_ID}
      authorityHost: ${url('entra')}
      authorityCaFile: ${SIM_TLS_CERT_FILE}
      # A throwaway key for this demo's throwaway cache; a real deployment reads it from
      # \${LEADBRIDGE_TOKEN_CACHE_KEY}.
      tokenCache: { key: ${DEMO_CACHE_KEY} }
    overlapSeconds: 5
targets:
  - name: dynamics
    kind: dynamics365
    settings:
      url: ${url('dynamics365')}
      auth: { kind: static, token: demo-token }
  - name: salesforce
    kind: salesforce
    settings:
      instanceUrl: ${url('salesforce')}
      auth: { kind: accessToken, token: demo-token }
  - name: hubspot
    kind: hubspot
    settings:
      baseUrl: ${url('hubspot')}
      # A private app's token (pat-<region>-<uuid>); a real portal's comes from \${HUBSPOT_TOKEN}.
      auth: { kind: privateApp, token: ${DEMO_HUBSPOT_TOKEN} }
ledger:
  client: sqlite
  filename: ${path.join(DEMO_DIR, 'ledger.sqlite')}
worker:
  intervalSeconds: ${args.interval}
  expiryScanMinutes: 1
alerts:
  enabled: true
  graph: { baseUrl: ${url('graph')}, auth: { kind: static, token: demo-token } }
  sender: leads-bot@contoso.com
  recipients: [sales@contoso.com]
  teams: { webhookUrl: "${workflowUrl(url('graph'), DEFAULT_WORKFLOW)}" }
log:
  level: info
`;
}

/** A customer fills in the contact form: one new referral, sometimes a hot lead. */
async function addLead(pcUrl: string): Promise<void> {
  const hot = Math.random() < 0.4;
  await fetch(`${pcUrl}/_sim/referrals`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ details: { customerRequestedContact: hot } }),
  }).catch(() => undefined);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof DemoAlreadyRunningError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exitCode = 1;
}
