// The bundled simulators, in port order: `leadbridge simulate` and the demo start every entry
// listed here.
import { createDynamicsSimulator } from './dynamics365/index.js';
import { createEntraSimulator } from './entra/index.js';
import { createGraphSimulator } from './graph/index.js';
import { createHubSpotSimulator, HUBSPOT_ADMIN_ROUTES } from './hubspot/index.js';
import { createPartnerCenterSimulator } from './partner-center/index.js';
import { createSalesforceSimulator } from './salesforce/index.js';
import { OrgRouter } from './common/orgs.js';

interface SimulatorStartOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Seed of the generated data, so a run can be repeated. */
  seed: number;
  /** How many referrals the Partner Center simulator starts with. */
  referrals: number;
  /**
   * Partner Center serves list pages in the documented form (http nextLink without /engagements, no
   * list eTag).
   */
  documentedLinks?: boolean;
}

interface StartedSimulator {
  url: string;
  stop(): Promise<void>;
}

export interface SimulatorEntry {
  /** partner-center, dynamics365, salesforce, graph, entra */
  name: string;
  /**
   * Its own admin routes under <url>/_sim/ beyond the common ones, for `leadbridge simulate`'s
   * hint.
   */
  adminRoutes?: string;
  start(options: SimulatorStartOptions): Promise<StartedSimulator>;
}

/** An entry for a simulator that starts and stops like all of ours. */
function entry(
  name: string,
  create: (options: SimulatorStartOptions) => { start(): Promise<string>; stop(): Promise<void> },
  adminRoutes?: string,
): SimulatorEntry {
  return {
    name,
    ...(adminRoutes ? { adminRoutes } : {}),
    async start(options) {
      const simulator = create(options);
      const url = await simulator.start();
      return { url, stop: () => simulator.stop() };
    },
  };
}

const SEED_ROUTES = 'seed, referrals';
const CRM_ROUTES = 'leads, opportunities and CRM-user actions (qualify, win, lose, convert, close)';
const ENTRA_ROUTES =
  'devicecodes, devicecodes/approve, devicecodes/decline, users/<upn>/revoke ' +
  '(https; certificate src/simulators/entra/tls/cert.pem)';

/**
 * Entry i listens on basePort + i, so the order here fixes the well-known ports (7401, 7402, ...).
 */
export const SIMULATORS: SimulatorEntry[] = [
  entry('partner-center', (options) => createPartnerCenterSimulator(options), SEED_ROUTES),
  entry('dynamics365', ({ host, port }) => createDynamicsSimulator({ host, port }), CRM_ROUTES),
  entry('salesforce', ({ host, port }) => createSalesforceSimulator({ host, port }), CRM_ROUTES),
  entry('graph', ({ host, port }) => createGraphSimulator({ host, port }), 'mails'),
  entry('entra', ({ host, port }) => createEntraSimulator({ host, port }), ENTRA_ROUTES),
  entry(
    'hubspot',
    ({ host, port }) => createHubSpotSimulator({ host, port }),
    HUBSPOT_ADMIN_ROUTES,
  ),
];

export interface StartSimulatorsOptions {
  host: string;
  /** Port of the first simulator; null gives every simulator a free port. */
  basePort: number | null;
  seed: number;
  referrals: number;
  documentedLinks?: boolean;
  /** Serve many orgs: each simulator but Entra ID answers /orgs/<org>/... with a state per org. */
  orgs?: boolean;
}

export interface RunningSimulator extends StartedSimulator {
  name: string;
}

/**
 * A simulator that could not start: says which one and where, and keeps the socket error's code
 * (EADDRINUSE, ...).
 */
export class SimulatorStartError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly simulator: string,
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    super(
      `${simulator} simulator could not listen on ${host}:${port}: ` +
        `${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'SimulatorStartError';
    this.code = (cause as NodeJS.ErrnoException | null)?.code;
  }
}

/**
 * Starts every simulator in order; if one fails, those already started are stopped before the error
 * is rethrown.
 */
export async function startSimulators(
  options: StartSimulatorsOptions,
): Promise<RunningSimulator[]> {
  const running: RunningSimulator[] = [];
  try {
    for (const [index, entry] of SIMULATORS.entries()) {
      const port = options.basePort === null ? 0 : options.basePort + index;
      const started = await (
        options.orgs === true && entry.name !== 'entra' ? orgEntry(entry) : entry
      )
        .start({
          host: options.host,
          port,
          seed: options.seed,
          referrals: options.referrals,
          documentedLinks: options.documentedLinks === true,
        })
        .catch((error: unknown) => {
          throw new SimulatorStartError(entry.name, options.host, port, error);
        });
      running.push({ name: entry.name, ...started });
    }
  } catch (error) {
    await stopSimulators(running);
    throw error;
  }
  return running;
}

/** Stops every simulator; each one is attempted even if another fails to stop. */
export async function stopSimulators(running: readonly RunningSimulator[]): Promise<void> {
  const results = await Promise.allSettled(running.map((simulator) => simulator.stop()));
  const failure = results.find(
    (result): result is PromiseRejectedResult => result.status === 'rejected',
  );
  if (failure) throw failure.reason;
}

/**
 * The same entry behind an org router: each org gets its own instance, seeded differently per org.
 */
function orgEntry(inner: SimulatorEntry): SimulatorEntry {
  return {
    name: inner.name,
    async start(options) {
      const router = new OrgRouter({
        name: inner.name,
        host: options.host,
        port: options.port,
        create: (org) => inner.start({ ...options, port: 0, seed: options.seed + orgNumber(org) }),
      });
      const url = await router.start();
      return { url, stop: () => router.stop() };
    },
  };
}

/** A stable number per org name, so two orgs never share referral ids. */
function orgNumber(org: string): number {
  let hash = 0;
  for (const char of org) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return Math.abs(hash) + 1;
}
