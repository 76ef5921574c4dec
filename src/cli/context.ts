// What every command receives from src/cli.ts: output streams, the environment map, the config to
// load.
import type { EnvMap } from '../config/index.js';

export interface CliContext {
  /** Command output (what a script would read). */
  stdout: NodeJS.WritableStream;
  /** Logs, hints and errors. */
  stderr: NodeJS.WritableStream;
  /** Relative paths (the config file, paths inside it) resolve against this. */
  cwd: string;
  /** Values for ${VAR} placeholders in the config. */
  env: EnvMap;
  /**
   * Resolves with the signal name on the first SIGINT or SIGTERM (handlers are installed on the
   * first call).
   */
  waitForShutdown(): Promise<string>;
}

/** The global options every command sees. */
export interface GlobalOptions {
  /** The config file, already chosen from --config, LEADBRIDGE_CONFIG or the default. */
  config: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  logFormat?: 'auto' | 'json' | 'pretty';
  /** Cluster mode: narrow the command to this tenant (its config, its ledger schema). */
  tenant?: string;
}
