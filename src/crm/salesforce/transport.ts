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
export function instrumentTransport(transport: Transport, onRequest: () => void): Transport {
  const instrumented = Object.create(transport) as Transport;
  instrumented.httpRequest = (request, options = {}) => {
    onRequest();
    return transport.httpRequest(request, {
      ...options,
      timeout: options.timeout ?? REQUEST_TIMEOUT_MS,
      retry: { ...options.retry, maxRetries: 0 },
    });
  };
  return instrumented;
}
