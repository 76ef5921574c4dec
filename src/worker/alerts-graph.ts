// Microsoft Graph delivery for alerts: sendMail through @microsoft/microsoft-graph-client (Teams goes through a Workflows webhook).
import { randomUUID } from 'node:crypto';
import {
  Client,
  GraphClientError,
  GraphError,
  HTTPMessageHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '../core/auth.js';
import { LeadbridgeError, NETWORK_ERROR_CODES, normaliseError } from '../core/errors.js';
import type { ApiClientOptions } from '../core/http.js';
import { parseRetryAfter } from '../core/http.js';
import { DEFAULT_RETRY_POLICY } from '../core/retry.js';

export const GRAPH_API = 'graph';
const GRAPH_VERSION = 'v1.0';
const DEFAULT_TIMEOUT_MS = 30_000;

export interface GraphMail {
  subject: string;
  body: { contentType: 'Text' | 'HTML'; content: string };
  toRecipients: string[];
  importance?: 'low' | 'normal' | 'high';
}

export interface GraphAlertTransportOptions {
  /** https://graph.microsoft.com, or the loopback simulator's URL. */
  baseUrl: string;
  credential: TokenCredential;
  /** Called once per HTTP attempt (the metrics hook, same shape as the API clients'). */
  onCall?: ApiClientOptions['onCall'];
  timeoutMs?: number;
}

/** One Graph call each; retries are the caller's (policy as data in core/retry), so the library's RetryHandler is left out. */
export class GraphAlertTransport {
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly credential: TokenCredential;

  constructor(options: GraphAlertTransportOptions) {
    this.credential = options.credential;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const authProvider: AuthenticationProvider = { getAccessToken: () => options.credential.getToken() };
    this.client = Client.initWithMiddleware({
      baseUrl: options.baseUrl,
      defaultVersion: GRAPH_VERSION,
      middleware: [new BearerMiddleware(authProvider, options.credential, options.onCall), new HTTPMessageHandler()],
    });
  }

  /** POST /users/{sender}/sendMail (202, no body). */
  async sendMail(sender: string, mail: GraphMail, signal?: AbortSignal): Promise<void> {
    const what = `sendMail from ${sender} to ${mail.toRecipients.join(', ')}`;
    const message = {
      subject: mail.subject,
      body: mail.body,
      toRecipients: mail.toRecipients.map((address) => ({ emailAddress: { address } })),
      ...(mail.importance ? { importance: mail.importance } : {}),
    };
    try {
      await this.request(`/users/${encodeURIComponent(sender)}/sendMail`, signal).post({ message, saveToSentItems: true });
    } catch (error) {
      throw graphError(error, what, this.credential);
    }
  }

  private request(path: string, signal: AbortSignal | undefined) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return this.client.api(path).options({ signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  }
}

/**
 * Puts the bearer token on every request. The library's AuthenticationHandler only does so for https Graph hosts
 * (it strips the header elsewhere), which would leave the loopback simulator unauthenticated.
 */
class BearerMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly authProvider: AuthenticationProvider,
    private readonly credential: TokenCredential,
    private readonly onCall: ApiClientOptions['onCall'],
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new GraphClientError('the Graph middleware chain has no HTTP handler');
    const token = await this.authProvider.getAccessToken();
    setRequestHeader(context, 'Authorization', `Bearer ${token}`);
    setRequestHeader(context, 'client-request-id', randomUUID());
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const started = Date.now();
    try {
      await this.next.execute(context);
    } catch (error) {
      this.onCall?.({ api: GRAPH_API, method, status: null, durationMs: Date.now() - started });
      throw carried(networkError(error, method, requestUrl(context)));
    }
    const status = context.response?.status ?? null;
    this.onCall?.({ api: GRAPH_API, method, status, durationMs: Date.now() - started });
    if (status === 401) this.credential.invalidate?.();
  }
}

function setRequestHeader(context: Context, name: string, value: string): void {
  const options = (context.options ??= {});
  if (options.headers instanceof Headers) options.headers.set(name, value);
  else if (Array.isArray(options.headers)) options.headers.push([name, value]);
  else options.headers = { ...(options.headers as Record<string, string> | undefined), [name]: value };
}

function requestUrl(context: Context): string {
  return typeof context.request === 'string' ? context.request : context.request instanceof Request ? context.request.url : String(context.request);
}

/** GraphRequest rethrows a GraphClientError unchanged, so our own error survives the library's error handling. */
function carried(error: LeadbridgeError): GraphClientError {
  const wrapper = new GraphClientError(error.message);
  wrapper.customError = error;
  return wrapper;
}

/** fetch failures carry the socket error code in `cause` (undici), which is what decides whether a retry may help. */
function networkError(error: unknown, method: string, url: string): LeadbridgeError {
  // A timed-out request may have been processed, so it is retryable only for idempotent calls (core/retry decides).
  if ((error as Error | null)?.name === 'TimeoutError') {
    return new LeadbridgeError('NETWORK_ERROR', `${method} ${url} timed out`, { api: GRAPH_API, retryable: true, cause: error });
  }
  if (normaliseError(error, GRAPH_API).code === 'ABORTED') {
    return new LeadbridgeError('ABORTED', `${method} ${url} aborted`, { api: GRAPH_API, cause: error });
  }
  const code = socketCode(error);
  const message = (error as Error | null)?.message ?? String(error);
  return new LeadbridgeError('NETWORK_ERROR', `${method} ${url}: ${code ? `${code} ` : ''}${message}`, {
    api: GRAPH_API,
    retryable: code !== undefined && NETWORK_ERROR_CODES.has(code),
    cause: error,
  });
}

function socketCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A LeadbridgeError naming what was sent, Graph's status, code, message and request-id (retryable as the policy says). */
export function graphError(error: unknown, what: string, credential?: TokenCredential): LeadbridgeError {
  if (error instanceof GraphClientError && error.customError instanceof LeadbridgeError) {
    const cause = error.customError;
    return new LeadbridgeError(cause.code, `graph: ${what} failed: ${cause.message}`, { api: GRAPH_API, retryable: cause.retryable, cause });
  }
  if (!(error instanceof GraphError) || error.statusCode <= 0) {
    const cause = normaliseError(error, GRAPH_API);
    return new LeadbridgeError(cause.code, `graph: ${what} failed: ${cause.message}`, { api: GRAPH_API, cause, retryable: cause.retryable });
  }
  const status = error.statusCode;
  const requestId = error.requestId ?? error.headers?.get('request-id') ?? null;
  const text = `graph: ${what} → ${status}${error.code ? ` ${error.code}` : ''}: ${error.message || 'no message'}${requestId ? ` (request-id ${requestId})` : ''}`;
  const options = {
    status,
    provider: parseBody(error.body),
    providerCode: error.code ?? undefined,
    api: GRAPH_API,
    retryable: DEFAULT_RETRY_POLICY.retryableStatuses.includes(status),
    retryAfterSeconds: parseRetryAfter(error.headers?.get('retry-after')),
    cause: error,
  };
  if (status === 401 || status === 403) {
    return new LeadbridgeError('AUTH_FAILED', credential ? `${text} (credential: ${credential.description})` : text, options);
  }
  if (status === 429) return new LeadbridgeError('RATE_LIMITED', text, options);
  if (status === 404) return new LeadbridgeError('NOT_FOUND', text, options);
  return new LeadbridgeError('HTTP_ERROR', text, options);
}

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
