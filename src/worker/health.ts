// The worker's HTTP endpoint for orchestrators and Prometheus: GET /healthz (fresh or stale) and
// GET /metrics.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/log.js';
import { silentLogger } from '../core/log.js';
import type { WorkerMetrics } from './metrics.js';
import type { HealthProblem } from './problems.js';

export interface HealthSnapshot {
  lastSuccessAt: Date | null;
  startedAt: Date;
  /** Older than this (and past the start-up grace of the same length) reads as stale. */
  maxAgeSeconds: number;
  /**
   * Open problems (a target down, a lapsed sign-in); one older than its threshold makes /healthz
   * fail.
   */
  problems?: readonly HealthProblem[];
}

export interface HealthServerOptions {
  /** 127.0.0.1 by default: expose it wider only on purpose. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  metrics: Pick<WorkerMetrics, 'text' | 'contentType'>;
  health: () => HealthSnapshot;
  now?: () => Date;
  logger?: Logger;
  /**
   * Other handlers on the same port by path prefix (the console under /console); the composition
   * adds them.
   */
  mounts?: ReadonlyArray<{ prefix: string; listener: http.RequestListener }>;
}

export interface HealthServer {
  /** http://HOST:PORT */
  readonly url: string;
  close(): Promise<void>;
}

interface HealthReport {
  /** stale: no good cycle for maxAgeSeconds; failing: a problem has lasted past its threshold. */
  status: 'ok' | 'stale' | 'failing';
  lastSuccessAt: string | null;
  /** Seconds since the last successful cycle; null before the first one. */
  ageSeconds: number | null;
  startedAt: string;
  uptimeSeconds: number;
  maxAgeSeconds: number;
  /** Every open problem, oldest first; `failing` once it has lasted its threshold. */
  problems: Array<{
    cause: string;
    reason: string;
    since: string;
    ageSeconds: number;
    thresholdSeconds: number;
    failing: boolean;
  }>;
}

/**
 * Fresh when the last success, or the start (a worker gets one interval of grace), is younger than
 * maxAgeSeconds.
 */
export function healthReport(snapshot: HealthSnapshot, now: Date): HealthReport {
  const secondsSince = (at: Date) => Math.max(0, (now.getTime() - at.getTime()) / 1000);
  const ageSeconds = snapshot.lastSuccessAt ? secondsSince(snapshot.lastSuccessAt) : null;
  const uptimeSeconds = secondsSince(snapshot.startedAt);
  const fresh =
    (ageSeconds !== null && ageSeconds < snapshot.maxAgeSeconds) ||
    uptimeSeconds < snapshot.maxAgeSeconds;
  const problems = [...(snapshot.problems ?? [])]
    .sort((a, b) => a.since.getTime() - b.since.getTime())
    .map((problem) => {
      const age = secondsSince(problem.since);
      const thresholdSeconds = problem.thresholdSeconds ?? snapshot.maxAgeSeconds;
      return {
        cause: problem.cause,
        reason: problem.reason,
        since: problem.since.toISOString(),
        ageSeconds: roundMs(age),
        thresholdSeconds,
        failing: age >= thresholdSeconds,
      };
    });
  return {
    status: problems.some((problem) => problem.failing) ? 'failing' : fresh ? 'ok' : 'stale',
    lastSuccessAt: snapshot.lastSuccessAt?.toISOString() ?? null,
    ageSeconds: ageSeconds === null ? null : roundMs(ageSeconds),
    startedAt: snapshot.startedAt.toISOString(),
    uptimeSeconds: roundMs(uptimeSeconds),
    maxAgeSeconds: snapshot.maxAgeSeconds,
    problems,
  };
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const server = http.createServer((req, res) => {
    const mount = mountFor(req, options.mounts ?? []);
    if (mount) return mount.listener(req, res);
    answer(req, options).then(
      (reply) => send(res, reply),
      (error: unknown) => {
        logger.error('health endpoint failed', { path: req.url, error: (error as Error).message });
        send(res, json(500, { error: `could not answer ${req.url}: ${(error as Error).message}` }));
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function mountFor(
  req: http.IncomingMessage,
  mounts: NonNullable<HealthServerOptions['mounts']>,
): { listener: http.RequestListener } | undefined {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  return mounts.find((m) => path === m.prefix || path.startsWith(`${m.prefix}/`));
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const ROUTES = new Set(['/healthz', '/metrics']);

async function answer(req: http.IncomingMessage, options: HealthServerOptions): Promise<Reply> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (!ROUTES.has(path))
    return json(404, { error: `no resource at ${path}; try /healthz or /metrics` });
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return {
      ...json(405, { error: `${req.method} is not allowed on ${path}` }),
      headers: { ...JSON_HEADERS, Allow: 'GET, HEAD' },
    };
  if (path === '/metrics') {
    return {
      status: 200,
      headers: { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' },
      body: await options.metrics.text(),
    };
  }
  const report = healthReport(options.health(), options.now?.() ?? new Date());
  return json(report.status === 'ok' ? 200 : 503, report);
}

const JSON_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
};

function json(status: number, body: unknown): Reply {
  return { status, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

function send(res: http.ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...reply.headers,
    'Content-Length': String(Buffer.byteLength(reply.body)),
  });
  res.end(res.req.method === 'HEAD' ? undefined : reply.body);
}

function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
