// A JSON-over-HTTP client shared by the axios-based API clients: auth, error normalisation,
// retries, counters.
import { randomUUID } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import http from 'node:http';
import https from 'node:https';
import type { TokenCredential } from './auth.js';
import { ConflictError, LeadbridgeError, NETWORK_ERROR_CODES } from './errors.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.js';

export interface ApiClientOptions {
  /** partner-center, dynamics365, graph: used in errors and metrics. */
  api: string;
  baseUrl: string;
  credential: TokenCredential;
  /** Extracts the provider's error code and message from an error body. */
  parseError: (body: unknown) => { code?: string; message?: string };
  defaultHeaders?: Record<string, string>;
  retryPolicy?: RetryPolicy;
  timeoutMs?: number;
  logger?: Logger;
  /** Called once per HTTP attempt (metrics hook). */
  onCall?: (info: {
    api: string;
    method: string;
    status: number | null;
    durationMs: number;
  }) => void;
  /**
   * Caps requests in flight and per interval for this API (shared by every client of the API in a
   * process).
   */
  limiter?: RequestLimiter;
  /**
   * Sees every response (retries included), before errors are raised: for limit headers such as
   * Retry-After.
   */
  onResponse?: (response: { status: number; headers: Record<string, unknown> }) => void;
}

/** What ApiClient needs of a limiter (a p-queue fits). */
interface RequestLimiter {
  add<T>(task: () => Promise<T>): Promise<T>;
}

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Relative to baseUrl, or an absolute URL (a nextLink). */
  url: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  data?: unknown;
  /** May this call be repeated after a failure that may have reached the server? */
  idempotent: boolean;
  signal?: AbortSignal;
  /** Return the raw response for these statuses instead of throwing (e.g. 404 on a lookup). */
  acceptStatuses?: number[];
  responseType?: 'json' | 'text';
}

export class ApiClient {
  readonly http: AxiosInstance;
  private calls = 0;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;

  constructor(private readonly options: ApiClientOptions) {
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.logger = options.logger ?? silentLogger;
    this.http = axios.create({
      baseURL: options.baseUrl.replace(/\/?$/, '/'),
      timeout: options.timeoutMs ?? 60_000,
      headers: { Accept: 'application/json', ...options.defaultHeaders },
      // Every status reaches our own error mapping.
      validateStatus: () => true,
      // Keep-alive sockets: the backfill makes thousands of calls.
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 64 }),
      maxContentLength: 256 * 1024 * 1024,
      transitional: { clarifyTimeoutError: true },
    });
  }

  /** HTTP attempts made so far (retries included). */
  get callCount(): number {
    return this.calls;
  }

  async request<T = unknown>(req: ApiRequest): Promise<AxiosResponse<T>> {
    return withRetry(
      async (attempt) => {
        const response = await this.attempt<T>(req);
        if (response.status === 401 && attempt === 1) this.options.credential.invalidate?.();
        if (response.status >= 400 && !(req.acceptStatuses ?? []).includes(response.status)) {
          throw this.toError(req, response);
        }
        return response;
      },
      this.policy,
      {
        idempotent: req.idempotent,
        signal: req.signal,
        api: this.options.api,
        onRetry: ({ attempt, delayMs, error }) =>
          this.logger.warn('retrying API call', {
            api: this.options.api,
            method: req.method,
            url: stripQuery(req.url),
            attempt,
            delayMs,
            status: error.status,
            error: error.message,
          }),
      },
    );
  }

  private attempt<T>(req: ApiRequest): Promise<AxiosResponse<T>> {
    const limiter = this.options.limiter;
    return limiter ? limiter.add(() => this.send<T>(req)) : this.send<T>(req);
  }

  private async send<T>(req: ApiRequest): Promise<AxiosResponse<T>> {
    const token = await this.options.credential.getToken();
    const started = Date.now();
    const config: AxiosRequestConfig = {
      method: req.method,
      url: req.url.replace(/^\//, ''),
      params: req.params,
      data: req.data,
      signal: req.signal,
      responseType: req.responseType === 'text' ? 'text' : 'json',
      headers: { Authorization: `Bearer ${token}`, ...req.headers },
    };
    this.calls++;
    try {
      const response = await this.http.request<T>(config);
      this.options.onResponse?.({
        status: response.status,
        headers: response.headers as Record<string, unknown>,
      });
      this.options.onCall?.({
        api: this.options.api,
        method: req.method,
        status: response.status,
        durationMs: Date.now() - started,
      });
      return response;
    } catch (error) {
      this.options.onCall?.({
        api: this.options.api,
        method: req.method,
        status: null,
        durationMs: Date.now() - started,
      });
      throw this.toNetworkError(req, error);
    }
  }

  private toNetworkError(req: ApiRequest, error: unknown): LeadbridgeError {
    if (axios.isCancel(error) || (error as Error)?.name === 'CanceledError') {
      return new LeadbridgeError('ABORTED', `${this.options.api}: ${req.method} aborted`, {
        api: this.options.api,
        cause: error,
      });
    }
    const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    const retryable =
      NETWORK_ERROR_CODES.has(code) ||
      code === 'ECONNABORTED' ||
      code === 'ERR_NETWORK' ||
      code === 'ETIMEDOUT';
    return new LeadbridgeError(
      'NETWORK_ERROR',
      (
        `${this.options.api}: ${req.method} ${stripQuery(req.url)} failed: ` +
        `${code} ${(error as Error).message ?? ''}`
      ).trim(),
      { api: this.options.api, retryable, cause: error },
    );
  }

  private toError(req: ApiRequest, response: AxiosResponse): LeadbridgeError {
    const { code, message } = this.options.parseError(response.data);
    const retryAfter = parseRetryAfter(response.headers['retry-after']);
    const text =
      `${this.options.api}: ${req.method} ${stripQuery(req.url)} → ` +
      `${response.status}${code ? ` ${code}` : ''}: ${
        message ?? response.statusText ?? 'no ' + 'message'
      }`;
    const options = {
      status: response.status,
      provider: response.data,
      providerCode: code,
      api: this.options.api,
      retryable: this.policy.retryableStatuses.includes(response.status),
      retryAfterSeconds: retryAfter,
    };
    if (response.status === 412) return new ConflictError(text, options);
    if (response.status === 401)
      return new LeadbridgeError(
        'AUTH_FAILED',
        `${text} (credential: ${this.options.credential.description})`,
        options,
      );
    if (response.status === 429) return new LeadbridgeError('RATE_LIMITED', text, options);
    if (response.status === 404) return new LeadbridgeError('NOT_FOUND', text, options);
    return new LeadbridgeError('HTTP_ERROR', text, options);
  }
}

/** Retry-After as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/** A new correlation GUID for MS-CorrelationId / MS-RequestId headers. */
export function newCorrelationId(): string {
  return randomUUID();
}

function stripQuery(url: string): string {
  const i = url.indexOf('?');
  return i === -1 ? url : url.slice(0, i);
}
