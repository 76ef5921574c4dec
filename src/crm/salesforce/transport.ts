// Puts jsforce's HTTP transport under the adapter's control: every request counted, one retry
// layer, a sane timeout.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Connection } from 'jsforce';
import { parseRetryAfter } from '../../core/http.js';
import { REQUEST_TIMEOUT_MS } from './facts.js';

export type Transport = Connection['_transport'];

/** What the transport saw of one REST call's responses that jsforce's errors do not carry. */
export interface ResponseNotes {
  /**
   * Seconds from the last 429 / 503 response's Retry-After header (jsforce drops response headers).
   */
  retryAfterSeconds?: number;
}

/** Statuses whose Retry-After is read (RFC 9110 §10.2.3: 503, and 429 per RFC 6585 §4). */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

const notesOfCall = new AsyncLocalStorage<ResponseNotes>();

/**
 * Runs one call with a fresh ResponseNotes that the transport fills in: jsforce builds its
 * HttpApiError from
 * the body only, so the adapter reads Retry-After here. Async context keeps concurrent calls apart.
 */
export function withResponseNotes<T>(call: (notes: ResponseNotes) => Promise<T>): Promise<T> {
  const notes: ResponseNotes = {};
  return notesOfCall.run(notes, () => call(notes));
}

/**
 * A transport that delegates to jsforce's own, after counting the request and switching off
 * jsforce's built-in
 * retries (up to 5 for GET, with waits of up to 8 s): retries belong to withRetry and the adapter's
 * RetryPolicy,
 * so that a failure is retried by one policy only, and so that each counted request is exactly one
 * HTTP request.
 * Every jsforce call (REST, query pages, OAuth) goes through a Connection's or an OAuth2's
 * `_transport`.
 */
export function instrumentTransport(
  transport: Transport,
  onRequest: () => void,
  onCall?: (info: {
    api: string;
    method: string;
    status: number | null;
    durationMs: number;
  }) => void,
): Transport {
  const instrumented = Object.create(transport) as Transport;
  instrumented.httpRequest = (request, options = {}) => {
    onRequest();
    const started = Date.now();
    const pending = transport.httpRequest(request, {
      ...options,
      timeout: options.timeout ?? REQUEST_TIMEOUT_MS,
      retry: { ...options.retry, maxRetries: 0 },
    });
    const notes = notesOfCall.getStore();
    if (notes) {
      void Promise.resolve(pending).then(
        (response) => noteRetryAfter(notes, response),
        () => undefined,
      );
    }
    if (onCall) {
      const report = (status: number | null) =>
        onCall({
          api: 'salesforce',
          method: String(request.method ?? 'GET').toUpperCase(),
          status,
          durationMs: Date.now() - started,
        });
      // A side branch for metrics; the caller still receives (and handles) the original promise.
      void Promise.resolve(pending).then(
        (response) => report((response as { statusCode?: number }).statusCode ?? null),
        () => report(null),
      );
    }
    return pending;
  };
  return instrumented;
}

function noteRetryAfter(notes: ResponseNotes, response: unknown): void {
  const { statusCode, headers } = (response ?? {}) as {
    statusCode?: number;
    headers?: Record<string, unknown>;
  };
  if (statusCode === undefined || !RETRY_AFTER_STATUSES.has(statusCode)) return;
  const seconds = parseRetryAfter(headers?.['retry-after']);
  if (seconds === undefined) delete notes.retryAfterSeconds;
  else notes.retryAfterSeconds = seconds;
}
