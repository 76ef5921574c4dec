// The callback listener: its own HTTP server and port, one POST route, signatures checked first.
//
// A callback only ever asks for an early poll (the caller's onCallback): its body is never acted
// on, so a forged or replayed call costs at most one read, and an unverifiable one is answered 401
// before anything else happens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../core/log.js';
import {
  CallbackRefused,
  type SignatureVerifier,
  type VerifiedCallback,
} from './webhook-signature.js';

/** Callback bodies are a few hundred bytes (partner-center-webhooks.md's sample is 195). */
const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookReceiverOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  path: string;
  verifier: SignatureVerifier;
  onCallback: (callback: VerifiedCallback) => void;
  logger?: Logger;
}

export interface WebhookReceiver {
  /** http://HOST:PORT (the route is options.path under it). */
  readonly url: string;
  /** Callbacks accepted and refused so far. */
  readonly counts: { accepted: number; refused: number };
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  options: WebhookReceiverOptions,
): Promise<WebhookReceiver> {
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
