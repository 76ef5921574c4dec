// The leadbridge command line: the only module that reads argv and the environment (commands in
// cli/).
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { addAdminCommands } from './cli/commands-admin.js';
import { addRunCommands } from './cli/commands-run.js';
import { addTenantsCommands } from './cli/commands-tenants.js';
import type { CliContext } from './cli/context.js';
import { debugRequested, exitCodeFor, reportFailure } from './cli/failure.js';
import { reexecWithHeapCap } from './cli/heap-cap.js';
import { DEFAULT_CONFIG_FILE, LOG_FORMATS, LOG_LEVELS } from './config/index.js';
import { CRM_MODULES } from './crm/modules.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The first SIGINT / SIGTERM resolves; a second one while shutting down exits at once. A repeat
 * within a second
 * is the same request delivered twice (a terminal's Ctrl+C reaches both the heap-cap parent, which
 * forwards it,
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

function buildProgram(context: CliContext): Command {
  const program = new Command('leadbridge')
    .description(
      `Keeps Partner Center referrals in step with your CRM (` +
        `${CRM_MODULES.map((m) => m.title).join(', ')}).`,
    )
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
    .option(
      '--tenant <id>',
      'cluster mode: run the command for this tenant only (its config and ledger)',
    )
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    });
  addRunCommands(program, context);
  addAdminCommands(program, context);
  addTenantsCommands(program, context);
  return program;
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
