// `leadbridge simulate`: run the bundled API simulators on loopback until SIGINT / SIGTERM.
import { startSimulators, stopSimulators } from '../simulators/index.js';
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
}

export const ADMIN_ROUTES_HINT =
  'admin endpoints under <url>/_sim/: health, requests, stats, faults, clock, clock/advance, reset; partner-center also seed, referrals; ' +
  'dynamics365 and salesforce also leads, opportunities and CRM-user actions (qualify, win, lose, convert, close); graph also mails';

/** Prints `<name> <url>` per simulator on stdout, then serves until a shutdown signal arrives. */
export async function runSimulate(context: CliContext, options: SimulateOptions): Promise<void> {
  const shutdown = context.waitForShutdown();
  const running = await startSimulators({
    host: options.host,
    basePort: options.randomPorts ? null : options.basePort,
    seed: options.seed,
    referrals: options.referrals,
    documentedLinks: options.documentedLinks === true,
  });
  for (const simulator of running) context.stdout.write(`${simulator.name} ${simulator.url}\n`);
  context.stderr.write(`${ADMIN_ROUTES_HINT}; press Ctrl+C to stop\n`);
  const signal = await shutdown;
  context.stderr.write(`${signal} received, stopping the simulators\n`);
  await stopSimulators(running);
}
