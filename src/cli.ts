// The leadbridge command line: the only module that reads argv and the environment and wires the parts together.
import { setMaxListeners } from 'node:events';
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runConfigCheck } from './cli/config-check.js';
import type { CliContext, GlobalOptions } from './cli/context.js';
import { debugRequested, exitCodeFor, reportFailure } from './cli/failure.js';
import { reexecWithHeapCap } from './cli/heap-cap.js';
import { addLedgerCareCommands } from './cli/ledger-commands.js';
import { addWebhooksCommands } from './cli/webhooks.js';
import { createCliLogger, loadCliConfig } from './cli/setup.js';
import type { SimulateOptions } from './cli/simulate.js';
import {
  DEFAULT_CONFIG_FILE,
  LOG_FORMATS,
  LOG_LEVELS,
  type LeadbridgeConfig,
} from './config/index.js';
import type { Logger } from './core/log.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

function integer(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/**
 * The first SIGINT / SIGTERM resolves; a second one while shutting down exits at once. A repeat within a second
 * is the same request delivered twice (a terminal's Ctrl+C reaches both the heap-cap parent, which forwards it,
 * and this process), so it does not count as the second.
 */
function waitForShutdown(): Promise<string> {
  return new Promise((resolve) => {
    let receivedAt: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (receivedAt !== undefined) {
        if (Date.now() - receivedAt > 1_000) process.exit(1);
        return;
      }
      receivedAt = Date.now();
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

function globalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<{
    config?: string;
    logLevel?: GlobalOptions['logLevel'];
    logFormat?: GlobalOptions['logFormat'];
  }>();
  return {
    config: options.config ?? process.env.LEADBRIDGE_CONFIG ?? DEFAULT_CONFIG_FILE,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.logFormat ? { logFormat: options.logFormat } : {}),
  };
}

/** Runs `prepare` (an operator step on the ledger; its report is printed), then one sync cycle. */
async function syncNow(
  context: CliContext,
  command: Command,
  prepare: (config: LeadbridgeConfig) => Promise<string>,
  loaded?: { config: LeadbridgeConfig; logger: Logger },
): Promise<void> {
  const globals = globalOptions(command);
  const config = loaded?.config ?? (await loadCliConfig(context, globals));
  const logger = loaded?.logger ?? createCliLogger(context, globals, config.log);
  context.stdout.write(await prepare(config));
  const { runSyncOnce } = await import('./cli/sync.js');
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  void context.waitForShutdown().then(() => controller.abort());
  process.exitCode = await runSyncOnce({
    config,
    logger,
    cwd: context.cwd,
    out: context.stdout,
    progress: context.stderr,
    signal: controller.signal,
  });
}

function buildProgram(context: CliContext): Command {
  const program = new Command('leadbridge')
    .description('Keeps Partner Center referrals in step with your CRM (Dynamics 365, Salesforce).')
    .version(version)
    .option(
      '--config <path>',
      `config file (default: $LEADBRIDGE_CONFIG or ${DEFAULT_CONFIG_FILE})`,
    )
    .addOption(
      new Option('--log-level <level>', 'log level (overrides the config)').choices(LOG_LEVELS),
    )
    .addOption(
      new Option('--log-format <format>', 'log format (overrides the config)').choices(LOG_FORMATS),
    )
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });
  addSimulatorCommands(program, context);
  addSyncCommands(program, context);
  addOperatorCommands(program, context);
  addLedgerCommands(program, context);
  addLedgerCareCommands(program, context, globalOptions);
  addMappingsCommands(program, context);
  addConfigCommands(program, context);
  addLoginCommand(program, context);
  addWebhooksCommands(program, context, globalOptions);
  addDemoCommands(program, context);
  addConsoleCommand(program, context);
  return program;
}

/** `console`: the web console against the ledger, without a worker. */
function addConsoleCommand(program: Command, context: CliContext): void {
  program
    .command('console')
    .description(
      'serve the web console (overview, leads, quarantine, mappings) from the ledger, ' +
        'without a worker',
    )
    .option(
      '--host <host>',
      'bind address; not loopback needs LEADBRIDGE_CONSOLE_TOKEN',
      '127.0.0.1',
    )
    .option('--port <port>', 'port (0: a free one)', integer(0, 65535), 7400)
    .action(async (options: { host: string; port: number }, command: Command) => {
      const globals = globalOptions(command);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runConsole } = await import('./cli/console.js');
      process.exitCode = await runConsole({ context, config, logger, ...options });
    });
}

/** `simulate`: the bundled API simulators. */
function addSimulatorCommands(program: Command, context: CliContext): void {
  program
    .command('simulate')
    .description(
      'run the bundled API simulators on loopback until Ctrl+C; prints "<name> <url>" per simulator',
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
      'Partner Center lists as documented: http nextLink without /engagements, no eTag on list items',
    )
    .action(async (options: SimulateOptions) => {
      // Command modules load on use, so --help and config check do not pull in the HTTP stacks.
      const { runSimulate } = await import('./cli/simulate.js');
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
      'plan the pass from the current cursors: what would be created, updated, skipped, quarantined, per target (no writes anywhere)',
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
            'error: --json goes with --dry-run (the plan); "sync --once" prints its summary as text',
            { exitCode: 1 },
          );
        const globals = globalOptions(command);
        const config = await loadCliConfig(context, globals);
        const logger = createCliLogger(context, globals, config.log);
        if (options.dryRun) {
          const { runSyncPreview } = await import('./cli/sync-preview.js');
          const { withLedger } = await import('./cli/compose.js');
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
      const globals = globalOptions(command);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runWorker } = await import('./cli/run.js');
      process.exitCode = await runWorker({ context, configFile: globals.config, logger });
    });
}

/** `retry`, `resync`: operator steps on the ledger, each followed by one cycle. */
function addOperatorCommands(program: Command, context: CliContext): void {
  program
    .command('retry')
    .description(
      'give failed (and, with --quarantined, quarantined) referrals another attempt now, then run one cycle',
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
          const { withLedger } = await import('./cli/compose.js');
          const { formatOutcomeRetry, scheduleOperatorRetry, scheduleOutcomeRetry } =
            await import('./sync/operator.js');
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
      'map and write every referral again (all targets or one), e.g. after a mapping change; then run one cycle',
    )
    .option('--target <name>', 'only this target')
    .option(
      '--since <date>',
      'only referrals updated since this date (2025-01-31 or an ISO date-time; not in the future); moves the cursor back, never forward',
    )
    .action(async (options: { target?: string; since?: string }, command: Command) => {
      await syncNow(context, command, async (config) => {
        const { withLedger } = await import('./cli/compose.js');
        const { formatResync, parseSince, prepareResync } = await import('./sync/operator.js');
        if (options.since !== undefined) parseSince(options.since, new Date());
        const results = await withLedger(config, context.cwd, (ledger) =>
          prepareResync(ledger, config, options),
        );
        return formatResync(results, options.since);
      });
    });
}

/** `status`, `trace`, `quarantine list`: read the ledger. */
function addLedgerCommands(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('sync states per target, cursors, the outbox and the last runs (from the ledger)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { collectStatus, formatStatus } = await import('./cli/status.js');
      const { withLedger } = await import('./cli/compose.js');
      const report = await withLedger(config, context.cwd, (ledger, description) =>
        collectStatus(config, ledger, description),
      );
      context.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report),
      );
    });

  program
    .command('trace')
    .description("one referral's links, sync state per target, outbox and audit trail")
    .argument('<referralId>', 'the Partner Center referral id')
    .option('--json', 'print JSON')
    .action(async (referralId: string, options: { json?: boolean }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { withLedger } = await import('./cli/compose.js');
      const { collectTrace, formatTrace } = await import('./cli/trace.js');
      const report = await withLedger(config, context.cwd, (ledger) =>
        collectTrace(config, ledger, referralId),
      );
      context.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : formatTrace(report),
      );
    });

  program
    .command('quarantine')
    .description('referrals and outcomes set aside until someone fixes the cause')
    .command('list')
    .description('list quarantined referrals and outcomes with their reasons')
    .option('--target <name>', 'only this target')
    .option('--json', 'print JSON')
    .action(async (options: { target?: string; json?: boolean }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { withLedger } = await import('./cli/compose.js');
      const { formatQuarantine, quarantineReport } = await import('./sync/operator.js');
      const report = await withLedger(config, context.cwd, (ledger) =>
        quarantineReport(ledger, config, options.target),
      );
      context.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : formatQuarantine(report),
      );
    });
}

/** `mappings check | preview`. */
function addMappingsCommands(program: Command, context: CliContext): void {
  const mappingsCommand = program
    .command('mappings')
    .description('check the field mappings against the CRM, and preview one referral');
  mappingsCommand
    .command('check')
    .description(
      "check each enabled target's mapping against the CRM's own metadata (fields, types, picklists, lengths, required fields)",
    )
    .option('--target <name>', 'only this target')
    .action(async (options: { target?: string }, command: Command) => {
      const globals = globalOptions(command);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runMappingsCheck } = await import('./cli/mappings.js');
      await runMappingsCheck({
        config,
        logger,
        cwd: context.cwd,
        out: context.stdout,
        target: options.target,
      });
    });
  mappingsCommand
    .command('preview')
    .description(
      'map one referral as a sync would and compare it with the CRM record, field by field (writes nothing)',
    )
    .argument('<referralId>', 'the Partner Center referral id')
    .option('--target <name>', 'only this target')
    .option('--json', 'print JSON')
    .action(
      async (
        referralId: string,
        options: { target?: string; json?: boolean },
        command: Command,
      ) => {
        const globals = globalOptions(command);
        const config = await loadCliConfig(context, globals);
        const logger = createCliLogger(context, globals, config.log);
        const { runMappingsPreview } = await import('./cli/mappings.js');
        await runMappingsPreview({
          config,
          logger,
          cwd: context.cwd,
          out: context.stdout,
          target: options.target,
          referralId,
          json: options.json === true,
        });
      },
    );
}

/** `config check`. */
function addConfigCommands(program: Command, context: CliContext): void {
  const configCommand = program.command('config').description('inspect the configuration');
  configCommand
    .command('check')
    .description('validate the config file and print it with defaults applied and secrets redacted')
    .action(async (_options: unknown, command: Command) => {
      await runConfigCheck(context, globalOptions(command));
    });
}

/** `login partner-center`: the device code sign-in of `auth.kind: user`. */
function addLoginCommand(program: Command, context: CliContext): void {
  program
    .command('login')
    .description('sign in (device code) so the worker can call the API on your behalf')
    .argument('<service>', 'partner-center')
    .action(async (service: string, _options: unknown, command: Command) => {
      if (service !== 'partner-center')
        command.error(`error: unknown service "${service}"; try: leadbridge login partner-center`, {
          exitCode: 1,
        });
      const globals = globalOptions(command);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runLogin } = await import('./cli/login.js');
      const controller = new AbortController();
      void context.waitForShutdown().then(() => controller.abort());
      await runLogin({ config, logger, out: context.stdout, signal: controller.signal });
    });
}

/** `demo leads`: the walk-through's ids, read from the bundled simulators. */
function addDemoCommands(program: Command, context: CliContext): void {
  program
    .command('demo')
    .description('helpers for the demo (npm start) and the bundled simulators')
    .command('leads')
    .description(
      'synced referrals as a table: referral id, Dynamics lead id, opportunity id, company, CRM state, referral status',
    )
    .argument('[ids...]', 'only these referrals (referral, lead or opportunity ids)')
    .option('--limit <n>', 'the N leads changed last', integer(1, 100_000), 10)
    .action(async (ids: string[], options: { limit: number }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { collectDemoLeads, formatDemoLeads } = await import('./cli/demo-leads.js');
      context.stdout.write(formatDemoLeads(await collectDemoLeads(config, options.limit, ids)));
    });
}

async function main(): Promise<number> {
  const capped = await reexecWithHeapCap();
  if (capped !== null) return capped;
  const context: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    waitForShutdown,
  };
  try {
    await buildProgram(context).parseAsync(process.argv);
    return 0;
  } catch (error) {
    // Commander has already printed its own message (and the help) for usage errors.
    if (error instanceof CommanderError) return error.exitCode;
    reportFailure(error, context.stderr, { debug: debugRequested(process.argv) });
    return exitCodeFor(error);
  }
}

process.exitCode = (await main()) || (process.exitCode ?? 0);
