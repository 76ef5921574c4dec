// Keeps the runtime of the long-running worker, and swaps it between cycles when the config or a
// mapping file changed.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type EnvMap, type LeadbridgeConfig } from '../config/index.js';
import { normaliseError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { CRM_MODULES } from '../crm/modules.js';
import type { WorkerMetrics } from '../worker/metrics.js';
import { createRuntime } from './compose.js';
import type { Runtime } from '../sync/cycle.js';

export interface RuntimeHolderOptions {
  configFile: string;
  env: EnvMap;
  cwd: string;
  logger: Logger;
  metrics?: WorkerMetrics;
}

export class RuntimeHolder {
  private runtime: Runtime | null = null;
  private fingerprint = '';
  config: LeadbridgeConfig | null = null;

  constructor(private readonly options: RuntimeHolderOptions) {}

  /**
   * Loads the config and builds the runtime; errors (invalid config or mapping, ledger) are thrown
   * as they are.
   */
  async start(): Promise<Runtime> {
    const config = await loadConfig({
      file: this.options.configFile,
      env: this.options.env,
      cwd: this.options.cwd,
      kinds: CRM_MODULES,
    });
    this.runtime = await createRuntime(config, this.runtimeOptions());
    this.config = config;
    this.fingerprint = await this.filesFingerprint(config);
    return this.runtime;
  }

  /**
   * The runtime for the next cycle: a new one when the config file or a mapping file changed and
   * the new
   * version is valid; otherwise the running one, with the reason the change was refused in the log.
   */
  async forNextCycle(): Promise<Runtime> {
    if (!this.runtime || !this.config) return this.start();
    const fingerprint = await this.filesFingerprint(this.config);
    if (fingerprint === this.fingerprint) return this.runtime;
    this.fingerprint = fingerprint;
    try {
      const config = await loadConfig({
        file: this.options.configFile,
        env: this.options.env,
        cwd: this.options.cwd,
        kinds: CRM_MODULES,
      });
      const next = await createRuntime(config, this.runtimeOptions());
      await this.runtime.close();
      this.runtime = next;
      this.config = config;
      this.fingerprint = await this.filesFingerprint(config);
      this.options.logger.info('the config or a mapping changed: picked up for this cycle', {
        config: this.options.configFile,
      });
    } catch (thrown) {
      this.options.logger.error(
        'the config or a mapping changed but cannot be used; the worker keeps the previous one',
        {
          config: this.options.configFile,
          error: normaliseError(thrown).message,
        },
      );
    }
    return this.runtime;
  }

  /**
   * The runtime in use (null before start and after close), for readers beside the loop (the
   * console).
   */
  get current(): Runtime | null {
    return this.runtime;
  }

  async close(): Promise<void> {
    await this.runtime?.close();
    this.runtime = null;
  }

  private runtimeOptions() {
    return {
      logger: this.options.logger,
      ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
    };
  }

  /** Modification times of the config file and every mapping file in use. */
  private async filesFingerprint(config: LeadbridgeConfig): Promise<string> {
    const files = [
      path.resolve(this.options.cwd, this.options.configFile),
      ...config.targets.filter((t) => t.enabled).map((t) => t.mapping),
    ];
    const times = await Promise.all(
      files.map(
        async (file) => `${file}@${(await stat(file).catch(() => null))?.mtimeMs ?? 'missing'}`,
      ),
    );
    return times.join('|');
  }
}
