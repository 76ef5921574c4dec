// What the command groups share: number options, the global options, and "prepare, then sync".
import { setMaxListeners } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_CONFIG_FILE, type LeadbridgeConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import type { CliContext, GlobalOptions } from './context.js';
import { createCliLogger, loadCliConfig } from './setup.js';

export function integer(min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

export function globalOptions(command: Command, context: CliContext): GlobalOptions {
  const options = command.optsWithGlobals<{
    config?: string;
    logLevel?: GlobalOptions['logLevel'];
    logFormat?: GlobalOptions['logFormat'];
    tenant?: string;
  }>();
  return {
    config: options.config ?? context.env.LEADBRIDGE_CONFIG ?? DEFAULT_CONFIG_FILE,
    ...(options.tenant ? { tenant: options.tenant } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    ...(options.logFormat ? { logFormat: options.logFormat } : {}),
  };
}

/** Runs `prepare` (an operator step on the ledger; its report is printed), then one sync cycle. */
export async function syncNow(
  context: CliContext,
  command: Command,
  prepare: (config: LeadbridgeConfig) => Promise<string>,
  loaded?: { config: LeadbridgeConfig; logger: Logger },
): Promise<void> {
  const globals = globalOptions(command, context);
  const config = loaded?.config ?? (await loadCliConfig(context, globals));
  const logger = loaded?.logger ?? createCliLogger(context, globals, config.log);
  context.stdout.write(await prepare(config));
  const { runSyncOnce } = await import('./sync.js');
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
