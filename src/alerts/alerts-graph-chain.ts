// The Graph client's middleware chain for alerts: the library's AuthenticationHandler and
// RetryHandler, fed our credential.
import { randomUUID } from 'node:crypto';
import {
  AuthenticationHandler,
  GraphClientError,
  HTTPMessageHandler,
  RetryHandler,
  RetryHandlerOptions,
  type AuthenticationProvider,
  type Context,
  type FetchOptions,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '../core/auth.js';
import { LeadbridgeError, NETWORK_ERROR_CODES, normaliseError } from '../core/errors.js';
import type { ApiClientOptions } from '../core/http.js';
import { parseRetryAfter } from '../core/http.js';

export const GRAPH_API = 'graph';

/** How the RetryHandler treats a throttled call: as data, like core/retry's policies. */
export interface GraphRetrySettings {
  /** Retries after the first attempt (the library allows 0 to 10). */
  maxRetries: number;
  /**
   * Seconds to wait before a retry when Graph sends no Retry-After (the library backs off
   * exponentially from it).
   */
  delaySeconds: number;
  /**
   * A longer Retry-After is not waited for in the call: the alert fails now and the next cycle
   * tries again. The
   * library sleeps on a plain timer that a worker shutdown cannot cut short, so this also bounds
   * how long a stop waits.
   */
  maxRetryAfterSeconds: number;
}

export const DEFAULT_GRAPH_RETRY: GraphRetrySettings = {
  maxRetries: 3,
  delaySeconds: 1,
  maxRetryAfterSeconds: 10,
};

/**
 * Which answers may be retried. sendMail is not idempotent, so only answers that say the request
 * was not processed:
 * 429 (throttled), and 503 with Retry-After (Graph's other throttling answer). The library would
 * also retry 504 and a
 * 503 without Retry-After, after which a mail may already be on its way. Sources:
 * microsoftgraph/microsoft-graph-docs-contrib
 * concepts/throttling.md (429 with a Retry-After to wait) and concepts/errors.md (503: repeat after
 * a delay, which
 * may be given in Retry-After).
 */
export function shouldRetryGraph(settings: GraphRetrySettings) {
  return (
    _delay: number,
    _attempt: number,
    _request: unknown,
    options: FetchOptions | undefined,
    response: Response,
  ): boolean => {
    if ((options?.signal as AbortSignal | undefined)?.aborted) return false;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (retryAfter !== undefined && retryAfter > settings.maxRetryAfterSeconds) return false;
    if (response.status === 429) return true;
    return response.status === 503 && retryAfter !== undefined;
  };
}

export interface GraphChainOptions {
  baseUrl: string;
  credential: TokenCredential;
  onCall?: ApiClientOptions['onCall'];
  retry: GraphRetrySettings;
}

/**
 * auth → retry → observe (once per attempt) → HTTP. The library's AuthenticationHandler puts the
 * token only on https
 * Graph hosts (and the configured custom host) and strips it elsewhere, so the plain-http loopback
 * simulator gets a
 * small stand-in that asks the same AuthenticationProvider.
 */
export function graphMiddleware(options: GraphChainOptions): Middleware[] {
  const authProvider: AuthenticationProvider = {
    getAccessToken: () => options.credential.getToken(),
  };
  const auth =
    new URL(options.baseUrl).protocol === 'https:'
      ? new AuthenticationHandler(authProvider)
      : new LoopbackAuthenticationHandler(authProvider);
  const { delaySeconds, maxRetries } = options.retry;
  return [
    auth,
    new RetryHandler(
      new RetryHandlerOptions(delaySeconds, maxRetries, shouldRetryGraph(options.retry)),
    ),
    new AttemptObserver(options.credential, options.onCall),
    new HTTPMessageHandler(),
  ];
}

/**
 * The https hosts the library's AuthenticationHandler may send the token to besides Graph's own (a
 * national cloud).
 */
export function customHostsFor(baseUrl: string): Set<string> {
  return new Set([new URL(baseUrl).hostname]);
}

/** For the http loopback simulator only (the chain picks it when the base URL is not https). */
class LoopbackAuthenticationHandler implements Middleware {
  private next: Middleware | undefined;

  constructor(private readonly authProvider: AuthenticationProvider) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const url = new URL(requestUrl(context));
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
      throw new GraphClientError(`refusing to send a Graph token over plain http to ${url.host}`);
    }
    setRequestHeader(
      context,
      'Authorization',
      `Bearer ${await this.authProvider.getAccessToken()}`,
    );
    await (this.next as Middleware).execute(context);
  }
}

/**
 * Counts each attempt for the metrics, tags it with a client-request-id, and drops a token Graph
 * refused.
 */
class AttemptObserver implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly credential: TokenCredential,
    private readonly onCall: ApiClientOptions['onCall'],
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new GraphClientError('the Graph middleware chain has no HTTP handler');
    // One id for the request and its retries, so Graph's logs tie the attempts together.
    if (!hasRequestHeader(context, 'client-request-id'))
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

function hasRequestHeader(context: Context, name: string): boolean {
  const headers = context.options?.headers;
  if (headers instanceof Headers) return headers.has(name);
  if (Array.isArray(headers)) return headers.some(([key]) => key?.toLowerCase() === name);
  return Object.keys((headers as Record<string, string> | undefined) ?? {}).some(
    (key) => key.toLowerCase() === name,
  );
}

function setRequestHeader(context: Context, name: string, value: string): void {
  const options = (context.options ??= {});
  if (options.headers instanceof Headers) options.headers.set(name, value);
  else if (Array.isArray(options.headers)) options.headers.push([name, value]);
  else
    options.headers = { ...(options.headers as Record<string, string> | undefined), [name]: value };
}

function requestUrl(context: Context): string {
  return typeof context.request === 'string'
    ? context.request
    : context.request instanceof Request
      ? context.request.url
      : String(context.request);
}

/**
 * GraphRequest rethrows a GraphClientError unchanged, so our own error survives the library's error
 * handling.
 */
function carried(error: LeadbridgeError): GraphClientError {
  const wrapper = new GraphClientError(error.message);
  wrapper.customError = error;
  return wrapper;
}

/**
 * fetch failures carry the socket error code in `cause` (undici), which is what decides whether a
 * retry may help.
 */
function networkError(error: unknown, method: string, url: string): LeadbridgeError {
  // A timed-out request may have been processed, so it is retryable only for idempotent calls
  // (core/retry decides).
  if ((error as Error | null)?.name === 'TimeoutError') {
    return new LeadbridgeError('NETWORK_ERROR', `${method} ${url} timed out`, {
      api: GRAPH_API,
      retryable: true,
      cause: error,
    });
  }
  if (normaliseError(error, GRAPH_API).code === 'ABORTED') {
    return new LeadbridgeError('ABORTED', `${method} ${url} aborted`, {
      api: GRAPH_API,
      cause: error,
    });
  }
  const code = socketCode(error);
  const message = (error as Error | null)?.message ?? String(error);
  return new LeadbridgeError(
    'NETWORK_ERROR',
    `${method} ${url}: ${code ? `${code} ` : ''}${message}`,
    {
      api: GRAPH_API,
      retryable: code !== undefined && NETWORK_ERROR_CODES.has(code),
      cause: error,
    },
  );
}

function socketCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
