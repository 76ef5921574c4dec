// Microsoft Graph delivery for alerts: sendMail through @microsoft/microsoft-graph-client (Teams
// goes through a Workflows webhook).
import { Client, GraphClientError, GraphError } from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '../core/auth.js';
import { LeadbridgeError, normaliseError } from '../core/errors.js';
import type { ApiClientOptions } from '../core/http.js';
import { parseRetryAfter } from '../core/http.js';
import { DEFAULT_RETRY_POLICY } from '../core/retry.js';
import {
  DEFAULT_GRAPH_RETRY,
  GRAPH_API,
  customHostsFor,
  graphMiddleware,
  type GraphRetrySettings,
} from './alerts-graph-chain.js';

export { GRAPH_API } from './alerts-graph-chain.js';
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
  /**
   * The library's RetryHandler: throttling (429, 503 + Retry-After) is retried inside the call,
   * honouring Retry-After.
   */
  retry?: GraphRetrySettings;
}

/**
 * sendMail through the Graph client, whose own middleware authenticates (our credential) and waits
 * out throttling.
 */
export class GraphAlertTransport {
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly credential: TokenCredential;

  constructor(options: GraphAlertTransportOptions) {
    this.credential = options.credential;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const retry = options.retry ?? DEFAULT_GRAPH_RETRY;
    this.client = Client.initWithMiddleware({
      baseUrl: options.baseUrl,
      defaultVersion: GRAPH_VERSION,
      // A custom chain rather than the `authProvider` option: the default chain has no per-attempt
      // metrics hook.
      middleware: graphMiddleware({
        baseUrl: options.baseUrl,
        credential: options.credential,
        onCall: options.onCall,
        retry,
      }),
      customHosts: customHostsFor(options.baseUrl),
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
      await this.request(`/users/${encodeURIComponent(sender)}/sendMail`, signal).post({
        message,
        saveToSentItems: true,
      });
    } catch (error) {
      throw graphError(error, what, this.credential);
    }
  }

  private request(path: string, signal: AbortSignal | undefined) {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    return this.client
      .api(path)
      .options({ signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  }
}

/**
 * A LeadbridgeError naming what was sent, Graph's status, code, message and request-id (retryable
 * as the policy says).
 */
function graphError(error: unknown, what: string, credential?: TokenCredential): LeadbridgeError {
  if (error instanceof GraphClientError && error.customError instanceof LeadbridgeError) {
    const cause = error.customError;
    return new LeadbridgeError(cause.code, `graph: ${what} failed: ${cause.message}`, {
      api: GRAPH_API,
      retryable: cause.retryable,
      cause,
    });
  }
  if (!(error instanceof GraphError) || error.statusCode <= 0) {
    const cause = normaliseError(error, GRAPH_API);
    return new LeadbridgeError(cause.code, `graph: ${what} failed: ${cause.message}`, {
      api: GRAPH_API,
      cause,
      retryable: cause.retryable,
    });
  }
  const status = error.statusCode;
  const requestId = error.requestId ?? error.headers?.get('request-id') ?? null;
  const text =
    `graph: ${what} → ${status}${error.code ? ` ${error.code}` : ''}: ` +
    `${error.message || 'no message'}${requestId ? ` (request-id ${requestId})` : ''}`;
  const options = {
    status,
    provider: providerBody(error.body),
    providerCode: error.code ?? undefined,
    api: GRAPH_API,
    retryable: DEFAULT_RETRY_POLICY.retryableStatuses.includes(status),
    retryAfterSeconds: parseRetryAfter(error.headers?.get('retry-after')),
    cause: error,
  };
  if (status === 401 || status === 403) {
    return new LeadbridgeError(
      'AUTH_FAILED',
      credential ? `${text} (credential: ${credential.description})` : text,
      options,
    );
  }
  if (status === 429) return new LeadbridgeError('RATE_LIMITED', text, options);
  if (status === 404) return new LeadbridgeError('NOT_FOUND', text, options);
  return new LeadbridgeError('HTTP_ERROR', text, options);
}

/**
 * The library keeps only the envelope's inner `error` object (as JSON text); put it back in its
 * {error} envelope.
 */
function providerBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && 'code' in parsed
      ? { error: parsed }
      : parsed;
  } catch {
    return body;
  }
}
