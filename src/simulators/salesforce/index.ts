// The Salesforce REST API simulator: a strict loopback org that jsforce 3 and documented clients
// use unchanged.
import { RecordRefusals } from '../common/refusals.js';
import { SALESFORCE_REFUSALS } from './refusals.js';
import { SimClock } from '../common/clock.js';
import { SimHttpError, SimServer, type SimRequest } from '../common/server.js';
import { adminRoutes } from './admin-routes.js';
import { NOT_FOUND_MESSAGE, notFoundBody } from './errors.js';
import { oauthRoutes } from './oauth.js';
import { QueryCursors } from './query.js';
import { restRoutes } from './rest-routes.js';
import { SessionRegistry } from './sessions.js';
import { SalesforceStore } from './store.js';

export { SalesforceStore } from './store.js';
export { LEAD } from './schema.js';
export { systemInput } from './store.js';
export interface SalesforceSimulatorOptions {
  host?: string;
  port?: number;
  clock?: SimClock;
  /** API versions served; default 42.0 .. 62.0. */
  apiVersions?: string[];
  /** Daily API request allocation; default 100,000. */
  dailyApiLimit?: number;
  /**
   * Accepted bearer tokens (plus those the token endpoint issues); default: any non-empty token.
   */
  validTokens?: string[];
  /**
   * OAuth clients (client_id → client_secret) for the client-credentials grant; default: any
   * non-empty pair.
   */
  oauthClients?: Record<string, string>;
  /** State and Country/Territory Picklists; default on, as in new orgs. */
  statePicklists?: boolean;
}

const DEFAULT_API_VERSIONS: readonly string[] = Array.from({ length: 21 }, (_, i) => `${42 + i}.0`);
const DEFAULT_DAILY_API_LIMIT = 100_000;

/**
 * Errors raised by the shared server (unknown route, bad JSON, injected faults) in Salesforce's
 * codes.
 * Injected 429 / 503 answers carry Retry-After (common/server.ts). Salesforce's "Status Codes and
 * Error
 * Responses" page (developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm)
 * lists
 * 503 for an unavailable or overloaded server but names no header: UNCONFIRMED, so the simulator
 * takes the
 * stricter side (RFC 9110 §10.2.3 lets a 503 say how long to wait) and a client must honour it when
 * present.
 */
const SERVER_CODES: Record<string, string> = {
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  BadRequest: 'JSON_PARSER_ERROR',
  ServiceUnavailable: 'SERVER_UNAVAILABLE',
  InternalServerError: 'UNKNOWN_EXCEPTION',
  TooManyRequests: 'TOO_MANY_REQUESTS',
};

function errorBody(_status: number, code: string, message: string): unknown {
  if (code === 'NotFound' || code === 'NOT_FOUND')
    return notFoundBody(code === 'NotFound' ? NOT_FOUND_MESSAGE : message);
  return [{ message, errorCode: SERVER_CODES[code] ?? code }];
}

export class SalesforceSimulator {
  readonly server: SimServer;
  readonly store: SalesforceStore;
  readonly versions: readonly string[];
  private readonly sessions: SessionRegistry;
  private readonly cursors: QueryCursors;
  private readonly usage: { used: number; limit: number };
  /**
   * Record-level faults: saves of a given referral's lead fail with a documented error
   * (refusals.ts).
   */
  readonly refusals = new RecordRefusals(SALESFORCE_REFUSALS);

  constructor(options: SalesforceSimulatorOptions = {}) {
    const clock = options.clock ?? new SimClock();
    this.versions = options.apiVersions ?? DEFAULT_API_VERSIONS;
    this.usage = { used: 0, limit: options.dailyApiLimit ?? DEFAULT_DAILY_API_LIMIT };
    this.sessions = new SessionRegistry(options.validTokens);
    this.store = new SalesforceStore(clock, options.statePicklists ?? true);
    this.cursors = new QueryCursors(this.store, clock);
    const instanceUrl = () => this.url;
    const apiUsage = () => ({ ...this.usage });
    this.server = new SimServer({
      name: 'salesforce',
      host: options.host,
      port: options.port,
      clock,
      routes: [
        ...oauthRoutes({
          sessions: this.sessions,
          clock,
          instanceUrl,
          clients: options.oauthClients,
        }),
        ...restRoutes({
          store: this.store,
          cursors: this.cursors,
          versions: this.versions,
          instanceUrl,
          apiUsage,
          refusalFor: (key) => this.refusals.take(key),
        }),
      ],
      adminRoutes: adminRoutes({
        store: this.store,
        version: this.versions[this.versions.length - 1] ?? '62.0',
        expireSessions: () => this.expireSessions(),
        setApiUsage: (used) => this.setApiUsage(used),
        apiUsage,
      }).concat(this.refusals.routes()),
      errorBody,
      authorize: (req) => this.authorize(req),
      responseHeaders: (req) => this.limitHeaders(req),
      onReset: () => this.reset(),
    });
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** The instance URL (http://127.0.0.1:PORT) to give jsforce as `instanceUrl`. */
  get url(): string {
    return this.server.url;
  }

  /**
   * Every token in use now answers INVALID_SESSION_ID; newly issued (or never used) tokens still
   * work.
   */
  expireSessions(): void {
    this.sessions.expireAll();
  }

  /** Sets the day's API request count (at the limit, calls answer REQUEST_LIMIT_EXCEEDED). */
  setApiUsage(used: number): void {
    this.usage.used = used;
  }

  get apiUsage(): { used: number; limit: number } {
    return { ...this.usage };
  }

  /**
   * `Sforce-Limit-Info` on every REST response (the token endpoint is not part of the data API).
   */
  private limitHeaders(req: SimRequest): Record<string, string> {
    if (!req.path.startsWith('/services/data')) return {};
    return { 'Sforce-Limit-Info': `api-usage=${this.usage.used}/${this.usage.limit}` };
  }

  /**
   * Version served, then a valid session, then the daily allocation; an accepted call counts
   * against it.
   */
  private authorize(req: SimRequest): SimHttpError | null {
    if (!req.path.startsWith('/services/data/v')) return null;
    if (!this.versions.includes(req.params.version ?? ''))
      return new SimHttpError(404, 'NOT_FOUND', NOT_FOUND_MESSAGE);
    const m = /^(?:Bearer|OAuth)\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (!m || !this.sessions.accepts(m[1] as string))
      return new SimHttpError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    if (this.usage.used >= this.usage.limit)
      return new SimHttpError(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
    this.usage.used += 1;
    return null;
  }

  private reset(): void {
    this.store.reset();
    this.cursors.clear();
    this.sessions.reset();
    this.usage.used = 0;
    this.refusals.clear();
  }
}

export function createSalesforceSimulator(
  options: SalesforceSimulatorOptions = {},
): SalesforceSimulator {
  return new SalesforceSimulator(options);
}
