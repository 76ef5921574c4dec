// Webhooks as an early trigger for the worker, and the report of a silent webhook.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WebhooksConfig } from '../config/index.js';
import { normaliseError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';
import { SignatureVerifier } from './webhook-signature.js';
import { WebhookWatch, type SilenceReport } from './webhook-watch.js';

/**
 * The problem name /healthz shows while the webhooks are silent (not failing: polling still syncs).
 */
const SILENT = 'partner-center-webhooks';

export interface WebhookTriggerOptions {
  config: WebhooksConfig;
  /** Relative paths (trustedIssuersFile) resolve against this. */
  cwd: string;
  worker: {
    requestEarlyCycle(coalesceMs: number): void;
    readonly problems: {
      raise(cause: string, reason: string, since: Date, thresholdSeconds?: number): void;
      clear(cause: string): void;
    };
  };
  /** Sends the webhooks-silent alert (the Notifier of the current runtime). */
  alert: (report: SilenceReport, detail: string, reregistered: boolean) => Promise<void>;
  /** Registers the public URL again (webhooks.reregister). */
  reregister: (url: string) => Promise<void>;
  logger?: Logger;
  now?: () => number;
  fetchCertificate?: (url: string) => Promise<Buffer>;
}

export class WebhookTrigger {
  readonly watch: WebhookWatch;
  private receiver: WebhookReceiver | null = null;
  private readonly logger: Logger;

  constructor(private readonly options: WebhookTriggerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.watch = new WebhookWatch(options.config.silenceMinutes * 60_000, options.now);
  }

  /** Starts the callback listener; resolves its URL. */
  async start(): Promise<string> {
    const { config, cwd } = this.options;
    const trustedIssuersPem = config.trustedIssuersFile
      ? await readFile(path.resolve(cwd, config.trustedIssuersFile), 'utf8')
      : undefined;
    const verifier = new SignatureVerifier({
      certificateUrlPrefixes: config.certificateUrlPrefixes,
      ...(trustedIssuersPem ? { trustedIssuersPem } : {}),
      organization: config.organization,
      maxEventAgeMs: config.maxEventAgeSeconds * 1000,
      ...(this.options.now ? { now: this.options.now } : {}),
      ...(this.options.fetchCertificate ? { fetchCertificate: this.options.fetchCertificate } : {}),
    });
    this.receiver = await startWebhookReceiver({
      host: config.host,
      port: config.port,
      path: config.path,
      verifier,
      logger: this.logger,
      onCallback: (callback) => {
        this.watch.callback(callback.resourceUri);
        this.options.worker.problems.clear(SILENT);
        this.options.worker.requestEarlyCycle(config.coalesceMs);
      },
    });
    return `${this.receiver.url}${config.path}`;
  }

  get counts(): { accepted: number; refused: number } {
    return this.receiver?.counts ?? { accepted: 0, refused: 0 };
  }

  /**
   * After a cycle: a new silence episode is logged once, shown on /healthz, alerted, and re-
   * registered.
   */
  async afterCycle(): Promise<SilenceReport | null> {
    const report = this.watch.check();
    if (!report) return null;
    const { config } = this.options;
    const detail =
      `${report.unannounced} referral change(s) found by polling since ${report.since} ` +
      `with no webhook callback (last callback: ${report.lastCallbackAt ?? 'none since start'})`;
    this.logger.warn('webhooks look silent: polling found changes no callback announced', {
      since: report.since,
      unannounced: report.unannounced,
      lastCallbackAt: report.lastCallbackAt,
    });
    // Polling still syncs everything: a visible problem, but not one that fails /healthz
    // (threshold: a year).
    this.options.worker.problems.raise(
      SILENT,
      `webhooks silent: ${detail}`,
      new Date(),
      365 * 86_400,
    );
    const reregistered = await this.reregister(config);
    await this.options.alert(report, detail, reregistered).catch((error: unknown) => {
      this.logger.warn('webhooks-silent alert failed', { error: normaliseError(error).message });
    });
    return report;
  }

  private async reregister(config: WebhooksConfig): Promise<boolean> {
    if (!config.reregister || !config.publicUrl) return false;
    try {
      await this.options.reregister(config.publicUrl);
      this.logger.info('registered the webhook callback URL again', { url: config.publicUrl });
      return true;
    } catch (error) {
      this.logger.warn('re-registering the webhook failed', {
        error: normaliseError(error).message,
      });
      return false;
    }
  }

  async close(): Promise<void> {
    await this.receiver?.close();
  }
}
