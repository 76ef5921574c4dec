// The webhook callback listener `run` starts beside the worker: verified callbacks wake it
// early; silent webhooks are reported.
//
// The listener is its own HTTP server (own address and port, unlike health). A callback only ever
// asks for an early poll: its body is never acted on, so a forged or replayed call costs at most
// one read, and an unverifiable one is answered 401 before anything else happens.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { WebhooksConfig } from '../config/index.js';
import { normaliseError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import {
  CallbackRefused,
  SignatureVerifier,
  type VerifiedCallback,
} from '../source/partner-center/callback-signature.js';
import { WebhookWatch, type SilenceReport } from '../sync/webhook-watch.js';

/**
 * The problem name /healthz shows while the webhooks are silent (not failing: polling still syncs).
 */
const SILENT = 'partner-center-webhooks';

interface WebhookTriggerOptions {
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

/** Callback bodies are a few hundred bytes (partner-center-webhooks.md's sample is 195). */
const MAX_BODY_BYTES = 64 * 1024;

interface WebhookReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  path: string;
  verifier: SignatureVerifier;
  onCallback: (callback: VerifiedCallback) => void;
  logger?: Logger;
}

interface WebhookReceiver {
  /** http://HOST:PORT (the route is options.path under it). */
  readonly url: string;
  /** Callbacks accepted and refused so far. */
  readonly counts: { accepted: number; refused: number };
  close(): Promise<void>;
}

async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const logger = options.logger ?? silentLogger;
  const counts = { accepted: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      logger.error('webhook callback handling failed', { error: (error as Error).message });
      answer(res, 500, 'generalException', 'internal error');
    });
  });
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== options.path) return answer(res, 404, 'itemNotFound', 'no such route');
    if (req.method !== 'POST') return answer(res, 405, 'invalidRequest', 'callbacks are POSTed');
    const body = await readBody(req);
    if (body === null) return answer(res, 413, 'invalidRequest', 'the body is too large');
    try {
      const callback = await options.verifier.verify(req.headers, body);
      counts.accepted++;
      answer(res, 200);
      options.onCallback(callback);
    } catch (error) {
      if (!(error instanceof CallbackRefused)) throw error;
      counts.refused++;
      logger.warn('webhook callback refused', { reason: error.message });
      answer(res, 401, 'unauthenticated', error.message);
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(res: http.ServerResponse, status: number, code?: string, message?: string): void {
  if (res.headersSent) return;
  const body = code ? JSON.stringify({ error: { code, message } }) : '';
  res.writeHead(status, code ? { 'Content-Type': 'application/json' } : {});
  res.end(body);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
