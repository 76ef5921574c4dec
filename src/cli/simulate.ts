// `leadbridge simulate`: run the bundled API simulators on loopback until SIGINT / SIGTERM.
import { LeadbridgeError } from '../core/errors.js';
import {
  SimulatorStartError,
  startSimulators,
  SIMULATORS,
  stopSimulators,
  type StartSimulatorsOptions,
} from '../simulators/index.js';
import type { CliContext } from './context.js';

export interface SimulateOptions {
  host: string;
  /** Port of the first simulator; the next ones take the following ports. */
  basePort: number;
  /** Every simulator on a free port instead (tests, parallel runs). */
  randomPorts: boolean;
  seed: number;
  referrals: number;
  /** Partner Center list pages in the documented form (see the simulator's README). */
  documentedLinks?: boolean;
  /** One state per org under /orgs/<org>/ (the cluster's tests and bench). */
  orgs?: boolean;
}

/** The common admin routes, then each simulator's own (from the simulator list). */
const ADMIN_ROUTES_HINT = [
  'admin endpoints under <url>/_sim/: health, requests, stats, faults, clock, clock/advance, reset',
  ...SIMULATORS.filter((s) => s.adminRoutes).map((s) => `${s.name} also ${s.adminRoutes}`),
].join('; ');

/** Prints `<name> <url>` per simulator on stdout, then serves until a shutdown signal arrives. */
export async function runSimulate(context: CliContext, options: SimulateOptions): Promise<void> {
  const shutdown = context.waitForShutdown();
  const running = await startOrExplain({
    host: options.host,
    basePort: options.randomPorts ? null : options.basePort,
    seed: options.seed,
    referrals: options.referrals,
    documentedLinks: options.documentedLinks === true,
    orgs: options.orgs === true,
  });
  for (const simulator of running) context.stdout.write(`${simulator.name} ${simulator.url}\n`);
  context.stderr.write(`${ADMIN_ROUTES_HINT}; press Ctrl+C to stop\n`);
  const signal = await shutdown;
  context.stderr.write(`${signal} received, stopping the simulators\n`);
  await stopSimulators(running);
}

/**
 * A port that is taken or not ours to bind is an operator's problem to solve, so say which one and
 * what to do.
 */
async function startOrExplain(options: StartSimulatorsOptions) {
  try {
    return await startSimulators(options);
  } catch (error) {
    if (!(error instanceof SimulatorStartError)) throw error;
    const where = `${error.host}:${error.port}`;
    const hint =
      error.code === 'EADDRINUSE'
        ? `port ${where} (${error.simulator} simulator) is already in use, perhaps by another ` +
          `"leadbridge simulate" or "npm start"; ` +
          'stop it, or run "leadbridge simulate --random-ports" (free ports, printed on ' +
          'stdout) or pick another --base-port'
        : `the ${error.simulator} simulator cannot listen on ${where} (${error.code ?? 'error'}` +
          `: ${(error.cause as Error | undefined)?.message ?? error.message}); ` +
          'check --host, or use --random-ports';
    throw new LeadbridgeError('LISTEN_FAILED', `simulate: ${hint}`, { cause: error });
  }
}
