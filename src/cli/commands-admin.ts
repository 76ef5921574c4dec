// The command groups that inspect and set up: status, trace, quarantine, mappings, config, login,
// demo.
import type { Command } from 'commander';
import { runConfigCheck } from './config-check.js';
import type { CliContext } from './context.js';
import { globalOptions, integer } from './program-options.js';
import { createCliLogger, loadCliConfig } from './setup.js';
import { addWebhooksCommands } from './webhooks.js';
import { addLedgerCareCommands } from './ledger-commands.js';

function addLedgerCommands(program: Command, context: CliContext): void {
  program
    .command('status')
    .description('sync states per target, cursors, the outbox and the last runs (from the ledger)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const globals = globalOptions(command, context);
      const config = await loadCliConfig(context, globals);
      if (config.cluster.enabled && globals.tenant === undefined) {
        const { collectClusterStatus, formatClusterStatus } = await import('./cluster-status.js');
        const report = await collectClusterStatus(config, new Date());
        context.stdout.write(
          options.json ? `${JSON.stringify(report, null, 2)}\n` : formatClusterStatus(report),
        );
        return;
      }
      const { collectStatus, formatStatus } = await import('./status.js');
      const { withLedger } = await import('./compose.js');
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
      const config = await loadCliConfig(context, globalOptions(command, context));
      const { withLedger } = await import('./compose.js');
      const { collectTrace, formatTrace } = await import('./trace.js');
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
      const config = await loadCliConfig(context, globalOptions(command, context));
      const { withLedger } = await import('./compose.js');
      const { formatQuarantine, quarantineReport } = await import('../sync/operator.js');
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
      "check each enabled target's mapping against the CRM's own metadata (fields, types, " +
        'picklists, lengths, required fields)',
    )
    .option('--target <name>', 'only this target')
    .action(async (options: { target?: string }, command: Command) => {
      const globals = globalOptions(command, context);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runMappingsCheck } = await import('./mappings.js');
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
      'map one referral as a sync would and compare it with the CRM record, field by field ' +
        '(writes nothing)',
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
        const globals = globalOptions(command, context);
        const config = await loadCliConfig(context, globals);
        const logger = createCliLogger(context, globals, config.log);
        const { runMappingsPreview } = await import('./mappings-preview.js');
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
      await runConfigCheck(context, globalOptions(command, context));
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
      const globals = globalOptions(command, context);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runLogin } = await import('./login.js');
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
      'synced referrals as a table: referral id, Dynamics lead id, opportunity id, company, ' +
        'CRM state, referral status',
    )
    .argument('[ids...]', 'only these referrals (referral, lead or opportunity ids)')
    .option('--limit <n>', 'the N leads changed last', integer(1, 100_000), 10)
    .action(async (ids: string[], options: { limit: number }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command, context));
      const { collectDemoLeads, formatDemoLeads } = await import('./demo-leads.js');
      context.stdout.write(formatDemoLeads(await collectDemoLeads(config, options.limit, ids)));
    });
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
      const globals = globalOptions(command, context);
      const config = await loadCliConfig(context, globals);
      const logger = createCliLogger(context, globals, config.log);
      const { runConsole } = await import('./console.js');
      process.exitCode = await runConsole({ context, config, logger, ...options });
    });
}

/** Adds this group's commands to the program, in the order `--help` lists them. */
export function addAdminCommands(program: Command, context: CliContext): void {
  addLedgerCommands(program, context);
  addLedgerCareCommands(program, context, (command) => globalOptions(command, context));
  addMappingsCommands(program, context);
  addConfigCommands(program, context);
  addLoginCommand(program, context);
  addWebhooksCommands(program, context, (command) => globalOptions(command, context));
  addDemoCommands(program, context);
  addConsoleCommand(program, context);
}
