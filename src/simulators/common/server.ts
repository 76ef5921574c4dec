// The HTTP plumbing shared by every simulator: routing, bodies, auth, request log, faults, /_sim/
// admin.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { SimClock } from './clock.js';
import { commonAdminRoutes } from './admin-routes.js';
import { FaultInjector } from './faults.js';

export interface SimRequest {
  method: string;
  /** The raw (still percent-encoded) path without the query string. */
  path: string;
  url: URL;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON when the request declared a JSON body; otherwise undefined. */
  body: unknown;
  /** Named groups captured by the route pattern. */
  params: Record<string, string>;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is; undefined sends no body. */
  body?: unknown;
}

export type SimHandler = (req: SimRequest) => SimResponse | Promise<SimResponse>;

export interface SimRoute {
  method: string;
  pattern: RegExp;
  handler: SimHandler;
}

/** Thrown by handlers to answer with an API error in the simulator's own error envelope. */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface RequestLogEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  fault?: string;
}

export interface SimServerOptions {
  /** partner-center, dynamics365, salesforce, graph */
  name: string;
  host?: string;
  port?: number;
  routes: SimRoute[];
  /** Extra /_sim/ routes (paths relative to the server root, starting with /_sim/). */
  adminRoutes?: SimRoute[];
  /** The API's error body for a status, error code and message. */
  errorBody: (status: number, code: string, message: string) => unknown;
  /** Returns a refusal when the request is not authorised (admin routes skip this). */
  authorize?: (req: SimRequest) => SimHttpError | null;
  /**
   * Called when an API request (not /_sim/) arrives, before latency and faults; the function it
   * returns runs once
   * the response is finished or the connection closes. Lets a simulator count requests in flight.
   */
  onRequestStart?: (req: SimRequest) => (() => void) | void;
  /** Headers added to every API response (Request-ID, Sforce-Limit-Info...). */
  responseHeaders?: (req: SimRequest, res: SimResponse) => Record<string, string>;
  /** Called by POST /_sim/reset after the common state is cleared. */
  onReset?: () => void;
  clock?: SimClock;
  /** How many request-log entries to keep (older ones are dropped; counters keep counting). */
  requestLogSize?: number;
  /**
   * Serve HTTPS with this PEM key and certificate (an identity provider's clients refuse plain
   * http).
   */
  tls?: { key: string; cert: string };
}

export interface SimStats {
  total: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  faultsInjected: number;
}

export class SimServer {
  readonly clock: SimClock;
  readonly faults = new FaultInjector();
  private readonly server: http.Server | https.Server;
  private readonly log: RequestLogEntry[] = [];
  private seq = 0;
  private stats: SimStats = { total: 0, byMethod: {}, byStatus: {}, faultsInjected: 0 };
  private baseUrl: string | null = null;

  constructor(private readonly options: SimServerOptions) {
    this.clock = options.clock ?? new SimClock();
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) =>
      void this.dispatch(req, res);
    this.server = options.tls
      ? https.createServer(options.tls, handler)
      : http.createServer(handler);
    this.server.keepAliveTimeout = 5_000;
  }

  get name(): string {
    return this.options.name;
  }

  /** The base URL once listening (http://127.0.0.1:PORT). */
  get url(): string {
    if (!this.baseUrl) throw new Error(`${this.options.name} simulator is not listening`);
    return this.baseUrl;
  }

  async start(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `${this.options.tls ? 'https' : 'http'}://${host}:${port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  requests(sinceSeq = 0): RequestLogEntry[] {
    return this.log.filter((e) => e.seq > sinceSeq);
  }

  counters(): SimStats {
    return { ...this.stats, faultsInjected: this.faults.injected };
  }

  resetLog(): void {
    this.log.length = 0;
    this.stats = { total: 0, byMethod: {}, byStatus: {}, faultsInjected: 0 };
    this.faults.injected = 0;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', this.baseUrl ?? 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const isAdmin = url.pathname.startsWith('/_sim/');
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch {
      res.destroy();
      return;
    }
    const simReq: SimRequest = {
      method,
      path: url.pathname,
      url,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body: undefined,
      params: {},
    };
    let fault: string | undefined;
    let response: SimResponse;
    if (!isAdmin) {
      const finished = this.options.onRequestStart?.(simReq);
      if (finished) res.once('close', finished);
      const latency = this.faults.latencyFor(method, url.pathname);
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      const decision = this.faults.decide(method, url.pathname);
      if (decision.kind === 'drop') {
        this.record(simReq, 0, started, 'drop');
        req.socket.destroy();
        return;
      }
      if (decision.kind !== 'none') fault = decision.kind;
      response =
        decision.kind === '429'
          ? this.errorResponse(
              new SimHttpError(429, 'TooManyRequests', 'Rate limit is exceeded. Try again later.', {
                'Retry-After': String(decision.retryAfterSeconds),
              }),
            )
          : decision.kind === 'status'
            ? this.errorResponse(
                new SimHttpError(decision.status, decision.errorCode, decision.message),
              )
            : decision.kind === '5xx'
              ? this.errorResponse(
                  new SimHttpError(
                    decision.status,
                    'ServiceUnavailable',
                    'The service is temporarily unavailable.',
                    decision.status === 503
                      ? { 'Retry-After': String(decision.retryAfterSeconds) }
                      : {},
                  ),
                )
              : await this.route(simReq, this.options.routes, true);
    } else {
      response = await this.route(
        simReq,
        [...commonAdminRoutes(this, this.options.onReset), ...(this.options.adminRoutes ?? [])],
        false,
      );
    }
    if (!isAdmin)
      Object.assign(
        (response.headers ??= {}),
        this.options.responseHeaders?.(simReq, response) ?? {},
      );
    this.record(simReq, response.status, started, fault, isAdmin);
    send(res, response);
  }

  private async route(req: SimRequest, routes: SimRoute[], api: boolean): Promise<SimResponse> {
    const candidates = routes
      .map((route) => ({ route, match: route.pattern.exec(req.path) }))
      .filter((c) => c.match !== null);
    if (candidates.length === 0) {
      return this.errorResponse(new SimHttpError(404, 'NotFound', `No resource at ${req.path}`));
    }
    const chosen = candidates.find((c) => c.route.method === req.method);
    if (!chosen) {
      return this.errorResponse(
        new SimHttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${req.path}`),
      );
    }
    req.params = { ...(chosen.match?.groups ?? {}) };
    try {
      if (api) {
        const refusal = this.options.authorize?.(req);
        if (refusal) throw refusal;
      }
      req.body = parseJsonBody(req);
      return await chosen.route.handler(req);
    } catch (error) {
      if (error instanceof SimHttpError) return this.errorResponse(error);
      const message = error instanceof Error ? error.message : String(error);
      return this.errorResponse(
        new SimHttpError(500, 'InternalServerError', `simulator failure: ${message}`),
      );
    }
  }

  private errorResponse(error: SimHttpError): SimResponse {
    return {
      status: error.status,
      headers: { 'Content-Type': 'application/json; charset=utf-8', ...error.headers },
      body: this.options.errorBody(error.status, error.errorCode, error.message),
    };
  }

  private record(
    req: SimRequest,
    status: number,
    started: number,
    fault?: string,
    isAdmin = false,
  ): void {
    if (isAdmin) return;
    this.seq++;
    this.stats.total++;
    this.stats.byMethod[req.method] = (this.stats.byMethod[req.method] ?? 0) + 1;
    this.stats.byStatus[String(status)] = (this.stats.byStatus[String(status)] ?? 0) + 1;
    this.log.push({
      seq: this.seq,
      at: new Date().toISOString(),
      method: req.method,
      path: req.path + (req.url.search || ''),
      status,
      durationMs: Date.now() - started,
      ...(fault ? { fault } : {}),
    });
    const cap = this.options.requestLogSize ?? 5_000;
    if (this.log.length > cap) this.log.splice(0, this.log.length - cap);
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody(req: SimRequest): unknown {
  if (req.rawBody.length === 0) return undefined;
  const type = String(req.headers['content-type'] ?? '');
  if (!/json/i.test(type)) return undefined;
  try {
    return JSON.parse(req.rawBody);
  } catch (error) {
    throw new SimHttpError(
      400,
      'BadRequest',
      `The request body is not valid JSON: ${(error as Error).message}`,
    );
  }
}

function send(res: http.ServerResponse, response: SimResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: string | undefined;
  if (response.body !== undefined) {
    if (typeof response.body === 'string') payload = response.body;
    else {
      payload = JSON.stringify(response.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['Content-Type'] = 'application/json; charset=utf-8';
      }
    }
  }
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(payload);
}

/** A bearer-token check: 401 in the API's envelope when the header is missing or malformed. */
export function requireBearer(
  errorCode = 'Unauthorized',
  message = 'Authentication failed: a bearer token is required.',
) {
  return (req: SimRequest): SimHttpError | null => {
    const header = String(req.headers.authorization ?? '');
    return /^Bearer\s+\S+/i.test(header) ? null : new SimHttpError(401, errorCode, message);
  };
}
