// `leadbridge tenants`: cluster mode's partner organisations, kept in PostgreSQL.
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { globalOptions } from './program-options.js';
import { loadCliConfig } from './setup.js';

/** `tenants add|list|show|enable|disable|remove`: cluster mode's tenants, in PostgreSQL. */
export function addTenantsCommands(program: Command, context: CliContext): void {
  const tenants = program
    .command('tenants')
    .description('cluster mode: the partner organisations this cluster serves');
  const config = (command: Command) =>
    loadCliConfig(context, { config: globalOptions(command, context).config });
  tenants
    .command('add')
    .description('add (or replace) tenants from their YAML files; every problem is listed at once')
    .argument('<files...>', 'tenant files: source, targets, alerts, limits, worker (no ledger)')
    .option('--id <id>', 'the tenant id, with one file (default: the file name without .yaml)')
    .action(async (files: string[], options: { id?: string }, command: Command) => {
      const { addTenants } = await import('./tenants.js');
      await addTenants(context, await config(command), files, options.id);
    });
  tenants
    .command('list')
    .description('every tenant: enabled, interval, targets, last cycle')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { listTenantsCommand } = await import('./tenants.js');
      await listTenantsCommand(context, await config(command), options.json === true);
    });
  tenants
    .command('show')
    .description("one tenant's settings and its file as stored (secrets are references)")
    .argument('<id>', 'the tenant id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { showTenant } = await import('./tenants.js');
      await showTenant(context, await config(command), id);
    });
  for (const [name, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const)
    tenants
      .command(name)
      .description(
        enabled ? 'start cycles for the tenant again' : 'stop starting cycles for the tenant',
      )
      .argument('<id>', 'the tenant id')
      .action(async (id: string, _options: unknown, command: Command) => {
        const { setEnabledCommand } = await import('./tenants.js');
        await setEnabledCommand(context, await config(command), id, enabled);
      });
  tenants
    .command('remove')
    .description('remove the tenant from the cluster (its ledger schema is kept)')
    .argument('<id>', 'the tenant id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { removeTenantCommand } = await import('./tenants.js');
      await removeTenantCommand(context, await config(command), id);
    });
}
