// The Partner Center referrals API simulator: a strict loopback stand-in for
// https://api.partner.microsoft.com.
import { randomUUID } from 'node:crypto';
import { SimClock } from '../common/clock.js';
import { SimHttpError, SimServer, requireBearer, type SimRequest } from '../common/server.js';
import { referralAdminRoutes } from './admin.js';
import { refuseToken } from './bearer.js';
import { ReferralLister } from './query.js';
import { referralApiRoutes } from './routes.js';
import { SkipTokenCodec } from './skiptoken.js';
import { ReferralStore } from './store.js';
import { WebhookHub } from './webhooks.js';

export { ReferralStore } from './store.js';
export interface PartnerCenterSimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /**
   * Seed of the referrals generated at start (and of later seed calls that name none). Default 1.
   */
  seed?: number;
  /** How many referrals are seeded at start (default 0). */
  referrals?: number;
  clock?: SimClock;
  /**
   * List pages as the documented examples show them: nextLink
   * `http://api.partner.microsoft.com/v1.0/referrals?$skiptoken=...`
   * (the client must carry its query to the real base and list path) and no eTag on list items.
   * Default false.
   */
  documentedLinks?: boolean;
}

/** The longest error message the API sends (api-facts.md §1). */
const MAX_ERROR_MESSAGE = 1024;

export class PartnerCenterSimulator {
  readonly server: SimServer;
  readonly store: ReferralStore;
  /** The webhook registration and the signed callbacks (webhooks.ts). */
  readonly webhooks: WebhookHub;
  private readonly initialReferrals: number;
  private readonly seed: number;
  private seeded = false;

  constructor(options: PartnerCenterSimulatorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.initialReferrals = options.referrals ?? 0;
    if (!Number.isInteger(this.seed))
      throw new Error(`partner-center simulator: seed must be an integer (got ${options.seed})`);
    if (!Number.isInteger(this.initialReferrals) || this.initialReferrals < 0) {
      throw new Error(
        `partner-center simulator: referrals must be a non-negative integer (got ` +
          `${options.referrals})`,
      );
    }
    const clock = options.clock ?? new SimClock();
    this.store = new ReferralStore({ clock, seed: this.seed });
    this.webhooks = new WebhookHub({ store: this.store, baseUrl: () => this.server.url });
    const state = {
      store: this.store,
      lister: new ReferralLister(this.store),
      tokens: new SkipTokenCodec(),
      documentedLinks: options.documentedLinks === true,
    };
    const bearer = requireBearer(
      'unauthenticated',
      'Authentication failed: send Authorization: Bearer <token> (an Entra ID token for ' +
        'https://api.partner.microsoft.com).',
    );
    this.server = new SimServer({
      name: 'partner-center',
      host: options.host,
      port: options.port,
      clock,
      routes: [...referralApiRoutes(state), ...this.webhooks.routes()],
      adminRoutes: [...referralAdminRoutes(this.store), ...this.webhooks.adminRoutes()],
      errorBody: (status, code, message) => ({
        error: { code: vendorErrorCode(status, code), message: clip(message, MAX_ERROR_MESSAGE) },
      }),
      authorize: (req) => {
        const refusal = bearer(req);
        if (refusal)
          return new SimHttpError(401, refusal.errorCode, refusal.message, {
            'WWW-Authenticate': 'Bearer',
          });
        return refuseToken(req, Date.now());
      },
      responseHeaders: trackingHeaders,
      onReset: () => {
        this.store.clear();
        this.webhooks.clear();
      },
    });
  }

  /**
   * Seeds the configured referrals (once), then listens; returns the base URL
   * (http://127.0.0.1:PORT).
   */
  async start(): Promise<string> {
    if (!this.seeded && this.initialReferrals > 0)
      this.store.seed(this.initialReferrals, this.seed);
    this.seeded = true;
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }
}

export function createPartnerCenterSimulator(
  options: PartnerCenterSimulatorOptions = {},
): PartnerCenterSimulator {
  return new PartnerCenterSimulator(options);
}

/**
 * The error `code` values of MicrosoftDocs/partner-rest partner-rest/develop/error-codes.md
 * (camelCase). A code raised
 * inside the simulator that is not one of them is replaced by the documented code for its status.
 */
const DOCUMENTED_ERROR_CODES: ReadonlySet<string> = new Set([
  'accessDenied',
  'generalException',
  'invalidRequest',
  'itemNotFound',
  'preconditionFailed',
  'resourceModified',
  'serviceNotAvailable',
  'unauthenticated',
]);
const CODE_FOR_STATUS: Readonly<Record<number, string>> = {
  400: 'invalidRequest',
  401: 'unauthenticated',
  403: 'accessDenied',
  404: 'itemNotFound',
  412: 'preconditionFailed',
  429: 'serviceNotAvailable',
  503: 'serviceNotAvailable',
};

function vendorErrorCode(status: number, code: string): string {
  if (DOCUMENTED_ERROR_CODES.has(code)) return code;
  return CODE_FOR_STATUS[status] ?? (status >= 500 ? 'generalException' : 'invalidRequest');
}

/**
 * headers.md: a `request-id` on every response, and the caller's `client-request-id` echoed;
 * MS-CorrelationId too.
 */
function trackingHeaders(req: SimRequest): Record<string, string> {
  const headers: Record<string, string> = { 'request-id': randomUUID() };
  const clientRequestId = req.headers['client-request-id'];
  if (typeof clientRequestId === 'string') headers['client-request-id'] = clientRequestId;
  const correlation = req.headers['ms-correlationid'];
  if (typeof correlation === 'string') headers['MS-CorrelationId'] = correlation;
  return headers;
}

function clip(message: string, max: number): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}
