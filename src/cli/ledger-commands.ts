// The `ledger backup | prune` commands (ledger care); their work is in ledger-care.ts.
import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from './context.js';
import { loadCliConfig } from './setup.js';

/**
 * `globalOptions` is the command line's reader of --config / --log-* (cli.ts owns argv and env).
 */
export function addLedgerCareCommands(
  program: Command,
  context: CliContext,
  globalOptions: (command: Command) => GlobalOptions,
): void {
  const ledgerCommand = program
    .command('ledger')
    .description('ledger care: a consistent backup copy, and retention of old entries');
  ledgerCommand
    .command('backup')
    .description(
      'copy the SQLite ledger to a new file, consistently, while the worker runs ' +
        '(PostgreSQL: says how with pg_dump)',
    )
    .argument('<file>', 'the new file (must not exist)')
    .action(async (file: string, _options: unknown, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { runLedgerBackup } = await import('./ledger-care.js');
      context.stdout.write(await runLedgerBackup(config, context.cwd, file));
    });
  ledgerCommand
    .command('prune')
    .description(
      'remove audit entries, settled outbox rows and finished runs older than ' +
        'ledger.retention.days (180)',
    )
    .option('--dry-run', 'only count what would be removed')
    .action(async (options: { dryRun?: boolean }, command: Command) => {
      const config = await loadCliConfig(context, globalOptions(command));
      const { runLedgerPrune } = await import('./ledger-care.js');
      context.stdout.write(
        await runLedgerPrune(config, context.cwd, {
          dryRun: options.dryRun === true,
          now: new Date(),
        }),
      );
    });
}
