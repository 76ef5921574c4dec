// Salesforce REST calls: a lazy token, retries, one renewal of a refused session, query pages.
import type { Connection } from 'jsforce';
import type { CrmAdapterOptions } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { withRetry, type RetryPolicy } from '../../core/retry.js';
import type { TokenSource } from './auth.js';
import type { QueryPage, QueryRunner, SalesforceRow } from './changes.js';
import { callError, isInvalidSession } from './errors.js';
import type { SalesforceSettings } from './settings.js';
import { withResponseNotes } from './transport.js';

export type Signal = AbortSignal | undefined;

/** What the adapter's reads and writes need of it. */
export interface SalesforceContext {
  conn: Connection;
  session: SalesforceSession;
  settings: SalesforceSettings;
  logger: Logger;
}

interface SessionOptions {
  conn: Connection;
  tokens: TokenSource;
  policy: RetryPolicy;
  logger: Logger;
  limiter: CrmAdapterOptions['limiter'];
  target: string;
  authKind: SalesforceSettings['auth']['kind'];
}

export class SalesforceSession {
  private readonly conn: Connection;
  private readonly tokens: TokenSource;
  private readonly policy: RetryPolicy;
  private readonly logger: Logger;
  private readonly limiter: CrmAdapterOptions['limiter'];
  private readonly target: string;
  private readonly authKind: SalesforceSettings['auth']['kind'];
  /**
   * The token request in flight, so that concurrent calls wait for one token instead of asking for
   * several.
   */
  private pendingToken: Promise<void> | undefined;

  constructor(options: SessionOptions) {
    this.conn = options.conn;
    this.tokens = options.tokens;
    this.policy = options.policy;
    this.logger = options.logger;
    this.limiter = options.limiter;
    this.target = options.target;
    this.authKind = options.authKind;
  }

  /** A pending token request is left to settle, no longer shared. */
  forgetPendingToken(): void {
    this.pendingToken = undefined;
  }

  /**
   * Runs one REST call: a token first (lazily), transient failures retried by the policy, and a
   * refused session renewed once for the OAuth kinds. A given access token cannot be renewed, so
   * that case says so plainly.
   */
  async call<T>(what: string, operation: () => Promise<T>, signal: Signal): Promise<T> {
    for (let renewed = false; ; renewed = true) {
      await this.ensureToken(signal);
      const token = this.conn.accessToken ?? undefined;
      try {
        return await withRetry(() => this.attempt(what, operation, signal), this.policy, {
          idempotent: true,
          signal,
          api: 'salesforce',
          onRetry: ({ attempt, delayMs, error }) =>
            this.logger.warn('retrying a Salesforce call', {
              call: what,
              attempt,
              delayMs,
              error: error.message,
            }),
        });
      } catch (error) {
        if (!isInvalidSession(error)) throw error;
        if (!this.tokens.renewable) throw this.accessTokenRefused(error as LeadbridgeError);
        if (renewed) throw this.renewedTokenRefused(error as LeadbridgeError);
        this.logger.info('the Salesforce session was refused; authenticating again', {
          call: what,
        });
        await this.renewToken(token, signal);
      }
    }
  }

  /**
   * One page per call (autoFetch off): a query's records are held a page at a time, never all at
   * once.
   */
  queryRunner(signal: Signal): QueryRunner {
    return {
      query: (soql) =>
        this.call(
          `query ${soql.slice(0, 120)}`,
          async () => pageOf(await this.conn.query(soql, { autoFetch: false })),
          signal,
        ),
      queryMore: (nextRecordsUrl) =>
        this.call(
          `query page ${nextRecordsUrl}`,
          async () => pageOf(await this.conn.queryMore(nextRecordsUrl)),
          signal,
        ),
    };
  }

  private async attempt<T>(what: string, operation: () => Promise<T>, signal: Signal): Promise<T> {
    if (signal?.aborted)
      throw new LeadbridgeError('ABORTED', 'operation aborted', { api: 'salesforce' });
    const context = { target: this.target, call: what };
    // The notes are entered inside the limiter's task, so a queued call never reads another call's
    // response.
    const run = () =>
      withResponseNotes(async (notes) => {
        try {
          return await operation();
        } catch (error) {
          throw callError(error, {
            ...context,
            apiUsage: this.conn.limitInfo?.apiUsage,
            retryAfterSeconds: notes.retryAfterSeconds,
          });
        }
      });
    try {
      // Each call is one REST request (queries page by page), so the limiter caps requests.
      return await (this.limiter ? this.limiter.add(run) : run());
    } catch (error) {
      throw callError(error, { ...context, apiUsage: this.conn.limitInfo?.apiUsage });
    }
  }

  private async ensureToken(signal: Signal): Promise<void> {
    if (this.conn.accessToken) return;
    await this.renewToken(undefined, signal);
  }

  /**
   * Asks for a new token unless another call already replaced `staleToken`; one token request at a
   * time.
   */
  private async renewToken(staleToken: string | undefined, signal: Signal): Promise<void> {
    if (this.pendingToken) return this.pendingToken;
    if (this.conn.accessToken && this.conn.accessToken !== staleToken) return;
    const pending = withRetry(() => this.tokens.fetchToken(), this.policy, {
      idempotent: true,
      signal,
      api: 'salesforce',
    }).then((token) => {
      this.conn.accessToken = token;
    });
    this.pendingToken = pending;
    try {
      await pending;
    } finally {
      if (this.pendingToken === pending) this.pendingToken = undefined;
    }
  }

  private accessTokenRefused(error: LeadbridgeError): LeadbridgeError {
    return new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${this.target}": the access token has expired or was revoked ` +
        `(INVALID_SESSION_ID: ${providerMessage(error)}); ` +
        "put a new token in the target's settings.auth.token, " +
        'or use clientCredentials or jwt auth so that leadbridge can renew it',
      {
        api: 'salesforce',
        status: 401,
        providerCode: 'INVALID_SESSION_ID',
        provider: error.provider,
        cause: error,
      },
    );
  }

  private renewedTokenRefused(error: LeadbridgeError): LeadbridgeError {
    return new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${this.target}": a newly issued ${this.authKind} token was refused too ` +
        `(INVALID_SESSION_ID: ${providerMessage(error)}); ` +
        "check that the connected app's user may use the API on this instance",
      {
        api: 'salesforce',
        status: 401,
        providerCode: 'INVALID_SESSION_ID',
        provider: error.provider,
        cause: error,
      },
    );
  }
}

function pageOf(result: { records: unknown[]; nextRecordsUrl?: string }): QueryPage {
  const records = result.records.map((record) => {
    const { attributes: _attributes, ...fields } = record as SalesforceRow;
    return fields;
  });
  return { records, ...(result.nextRecordsUrl ? { nextRecordsUrl: result.nextRecordsUrl } : {}) };
}

/** The provider's own message (Salesforce's `message`), without the adapter's prefix. */
function providerMessage(error: LeadbridgeError): string {
  const provider = error.provider as { message?: unknown } | undefined;
  return typeof provider?.message === 'string' ? provider.message : error.message;
}
