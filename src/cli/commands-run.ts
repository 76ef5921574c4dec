// The command groups that run things: simulate, sync / run, and the operator's retry and resync.
import { Command, Option } from 'commander';
import type { CliContext } from './context.js';
import { globalOptions, integer, syncNow } from './program-options.js';
import { createCliLogger, loadCliConfig } from './setup.js';
import type { SimulateOptions } from './simulate.js';

/** `simulate`: the bundled API simulators. */
function addSimulatorCommands(program: Command, context: CliContext): void {
  program
    .command('simulate')
    .description(
      'run the bundled API simulators on loopback until Ctrl+C; prints "<name> <url>" per ' +
        'simulator',
    )
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--base-port <port>',
      'port of the first simulator; the others follow',
      integer(1, 65_535),
      7401,
    )
    .addOption(
      new Option('--random-ports', 'give every simulator a free port').conflicts('basePort'),
    )
    .option('--seed <n>', 'seed of the generated data', integer(0, 2 ** 31 - 1), 42)
    .option(
      '--referrals <n>',
      'referrals the Partner Center simulator starts with',
      integer(0, 100_000),
      200,
    )
    .option(
      '--documented-links',
      'Partner Center lists as documented: http nextLink without /engagements, no eTag on list ' +
        'items',
    )
    .option(
      '--orgs',
      'many organisations: <url>/orgs/<org>/... is one org with its own state (--referrals each)',
    )
    .action(async (options: SimulateOptions) => {
      // Command modules load on use, so --help and config check do not pull in the HTTP stacks.
      const { runSimulate } = await import('./simulate.js');
      await runSimulate(context, { ...options, randomPorts: options.randomPorts === true });
    });
}

/** `sync`, `run`: the commands that sync. */
function addSyncCommands(program: Command, context: CliContext): void {
  program
    .command('sync')
    .description('sync referrals from Partner Center into the configured CRM targets')
    .option('--once', 'run one cycle, then exit')
    .option(
      '--dry-run',
      'plan the pass from the current cursors: what would be created, updated, skipped, ' +
        'quarantined, per target (no writes anywhere)',
    )
    .option('--json', 'with --dry-run: print the plan as JSON')
    .action(
      async (options: { once?: boolean; dryRun?: boolean; json?: boolean }, command: Command) => {
        if (!options.once)
          command.error('error: "sync" needs --once (the continuous worker is "leadbridge run")', {
            exitCode: 1,
          });
        if (options.json && !options.dryRun)
          command.error(
            'error: --json goes with --dry-run (the plan); "sync --once" prints its summary as ' +
              'text',
            { exitCode: 1 },
          );
        const globals = globalOptions(command, context);
        const config = await loadCliConfig(context, globals);
        const logger = createCliLogger(context, globals, config.log);
        if (options.dryRun) {
          const { runSyncPreview } = await import('./sync-preview.js');
          const { withLedger } = await import('./compose.js');
          await withLedger(
            config,
            context.cwd,
            (ledger) =>
              runSyncPreview({
                config,
                logger,
                ledger,
                cwd: context.cwd,
                out: context.stdout,
                json: options.json === true,
              }),
            {
              whenMissing: 'empty',
              onEmpty: (where) =>
                context.stderr.write(
                  `no ledger yet (${where}): the plan is a first backfill; nothing is created\n`,
                ),
            },
          );
          return;
        }
        await syncNow(context, command, async () => '', { config, logger });
      },
    );

  program
    .command('run')
    .description(
      'run the worker: poll, sync both ways and alert on an interval, until SIGTERM / SIGINT',
    )
    .action(async (_options: unknown, command: Command) => {
      const globals = globalOptions(command, context);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      if (config.cluster.enabled && globals.tenant === undefined) {
        const { runClusterWorker } = await import('./run-cluster.js');
        process.exitCode = await runClusterWorker(context, config, logger);
        return;
      }
      const { runWorker } = await import('./run.js');
      process.exitCode = await runWorker({ context, configFile: globals.config, logger });
    });
}

/** `retry`, `resync`: operator steps on the ledger, each followed by one cycle. */
function addOperatorCommands(program: Command, context: CliContext): void {
  program
    .command('retry')
    .description(
      'give failed (and, with --quarantined, quarantined) referrals another attempt now, then ' +
        'run one cycle',
    )
    .argument('[referralIds...]', 'only these referrals')
    .option('--target <name>', 'only this target')
    .option('--all-failed', 'every failed referral')
    .option('--quarantined', 'quarantined referrals too (after fixing the cause)')
    .action(
      async (
        referralIds: string[],
        options: { target?: string; allFailed?: boolean; quarantined?: boolean },
        command: Command,
      ) => {
        await syncNow(context, command, async (config) => {
          const { withLedger } = await import('./compose.js');
          const { formatOutcomeRetry, scheduleOperatorRetry, scheduleOutcomeRetry } =
            await import('../sync/operator.js');
          const request = {
            referralIds,
            target: options.target,
            allFailed: options.allFailed === true,
            quarantined: options.quarantined === true,
          };
          const [moved, outcomes] = await withLedger(
            config,
            context.cwd,
            async (ledger) =>
              [
                await scheduleOperatorRetry(ledger, config, request, new Date()),
                await scheduleOutcomeRetry(ledger, config, request, new Date()),
              ] as const,
          );
          return (
            Object.entries(moved)
              .map(([target, n]) => `${target}: ${n} referrals scheduled for retry\n`)
              .join('') + formatOutcomeRetry(outcomes)
          );
        });
      },
    );

  program
    .command('resync')
    .description(
      'map and write every referral again (all targets or one), e.g. after a mapping change; ' +
        'then run one cycle',
    )
    .option('--target <name>', 'only this target')
    .option(
      '--since <date>',
      'only referrals updated since this date (2025-01-31 or an ISO date-time; not in the ' +
        'future); moves the cursor back, never forward',
    )
    .action(async (options: { target?: string; since?: string }, command: Command) => {
      await syncNow(context, command, async (config) => {
        const { withLedger } = await import('./compose.js');
        const { formatResync, parseSince, prepareResync } = await import('../sync/operator.js');
        if (options.since !== undefined) parseSince(options.since, new Date());
        const results = await withLedger(config, context.cwd, (ledger) =>
          prepareResync(ledger, config, options),
        );
        return formatResync(results, options.since);
      });
    });
}

/** `status`, `trace`, `quarantine list`: read the ledger. */

/** Adds this group's commands to the program, in the order `--help` lists them. */
export function addRunCommands(program: Command, context: CliContext): void {
  addSimulatorCommands(program, context);
  addSyncCommands(program, context);
  addOperatorCommands(program, context);
}
