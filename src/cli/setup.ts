// Shared command set-up: load the chosen config file and build the logger from config and flags.
import v8 from 'node:v8';
import { loadConfig } from '../config/index.js';
import { CRM_MODULES } from '../crm/modules.js';
import type { LeadbridgeConfig, LogConfig } from '../config/index.js';
import { createLogger } from '../core/log.js';
import type { Logger } from '../core/log.js';
import type { CliContext, GlobalOptions } from './context.js';

export async function loadCliConfig(
  context: CliContext,
  options: GlobalOptions,
): Promise<LeadbridgeConfig> {
  const config = await loadConfig({
    file: options.config,
    env: context.env,
    cwd: context.cwd,
    kinds: CRM_MODULES,
  });
  if (options.tenant === undefined) return config;
  // One tenant's commands read and write its own ledger schema only: no other tenant's rows are in
  // reach.
  const { configForTenant } = await import('./cluster.js');
  return configForTenant(config, options.tenant, context.env);
}

/**
 * Flags win over the config's log section; `auto` lets the logger pick pretty on a terminal, JSON
 * otherwise.
 */
export function createCliLogger(
  context: CliContext,
  options: GlobalOptions,
  log?: LogConfig,
): Logger {
  const level = options.logLevel ?? log?.level ?? 'info';
  const format = options.logFormat ?? log?.format ?? 'auto';
  const logger = createLogger({
    level,
    stream: context.stderr,
    ...(format === 'auto' ? {} : { format }),
  });
  // Shows that a streaming command runs under its heap cap (see heap-cap.ts).
  logger.debug('node process', {
    pid: process.pid,
    heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1_048_576),
  });
  return logger;
}
