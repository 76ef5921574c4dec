// `leadbridge config check`: validate the config and show the effective settings with secrets redacted.
import { describeConfig } from '../config/index.js';
import type { CliContext, GlobalOptions } from './context.js';
import { loadCliConfig } from './setup.js';

/** Throws the loader's ValidationError (every problem listed) when the config is invalid. */
export async function runConfigCheck(context: CliContext, options: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(context, options);
  context.stdout.write(`# ${options.config} (defaults applied, secrets redacted)\n`);
  context.stdout.write(describeConfig(config));
  context.stdout.write('config OK\n');
}
