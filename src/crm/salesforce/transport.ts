// Puts jsforce's HTTP transport under the adapter's control: every request counted, one retry layer, a sane timeout.
import type { Connection } from 'jsforce';
import { REQUEST_TIMEOUT_MS } from './facts.js';

export type Transport = Connection['_transport'];

/**
 * A transport that delegates to jsforce's own, after counting the request and switching off jsforce's built-in
 * retries (up to 5 for GET, with waits of up to 8 s): retries belong to withRetry and the adapter's RetryPolicy,
 * so that a failure is retried by one policy only, and so that each counted request is exactly one HTTP request.
 * Every jsforce call (REST, query pages, OAuth) goes through a Connection's or an OAuth2's `_transport`.
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
