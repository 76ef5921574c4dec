// The Partner Center referrals API simulator: a strict loopback stand-in for https://api.partner.microsoft.com.
import { randomUUID } from 'node:crypto';
import { SimClock } from '../common/clock.js';
import { SimHttpError, SimServer, requireBearer, type SimRequest } from '../common/server.js';
import { referralAdminRoutes } from './admin.js';
import { refuseToken } from './bearer.js';
import { ReferralLister } from './query.js';
import { referralApiRoutes } from './routes.js';
import { SkipTokenCodec } from './skiptoken.js';
import { ReferralStore } from './store.js';

export { ReferralStore, StoreError, presentReferral, type IndexedField, type ReferralStoreOptions } from './store.js';
export { FilterError, compileFilter, parseFilter, splitKeyRange, type FilterExpr } from './filter.js';
export { MAX_PAGE_SIZE } from './query.js';
export { REFERRALS_PATH } from './routes.js';
export { SIM_PARTNER, MICROSOFT, EXPIRY_DAYS } from './seed.js';

export interface PartnerCenterSimulatorOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Seed of the referrals generated at start (and of later seed calls that name none). Default 1. */
  seed?: number;
  /** How many referrals are seeded at start (default 0). */
  referrals?: number;
  clock?: SimClock;
}

/** The longest error message the API sends (api-facts.md §1). */
const MAX_ERROR_MESSAGE = 1024;

export class PartnerCenterSimulator {
  readonly server: SimServer;
  readonly store: ReferralStore;
  private readonly initialReferrals: number;
  private readonly seed: number;
  private seeded = false;

  constructor(options: PartnerCenterSimulatorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.initialReferrals = options.referrals ?? 0;
    if (!Number.isInteger(this.seed)) throw new Error(`partner-center simulator: seed must be an integer (got ${options.seed})`);
    if (!Number.isInteger(this.initialReferrals) || this.initialReferrals < 0) {
      throw new Error(`partner-center simulator: referrals must be a non-negative integer (got ${options.referrals})`);
    }
    const clock = options.clock ?? new SimClock();
    this.store = new ReferralStore({ clock, seed: this.seed });
    const state = { store: this.store, lister: new ReferralLister(this.store), tokens: new SkipTokenCodec() };
    const bearer = requireBearer('Unauthorized', 'Authentication failed: send Authorization: Bearer <token> (an Entra ID token for https://api.partner.microsoft.com).');
    this.server = new SimServer({
      name: 'partner-center',
      host: options.host,
      port: options.port,
      clock,
      routes: referralApiRoutes(state),
      adminRoutes: referralAdminRoutes(this.store),
      errorBody: (_status, code, message) => ({ error: { code, message: clip(message, MAX_ERROR_MESSAGE) } }),
      authorize: (req) => {
        const refusal = bearer(req);
        if (refusal) return new SimHttpError(401, refusal.errorCode, refusal.message, { 'WWW-Authenticate': 'Bearer' });
        return refuseToken(req, Date.now());
      },
      responseHeaders: trackingHeaders,
      onReset: () => this.store.clear(),
    });
  }

  /** Seeds the configured referrals (once), then listens; returns the base URL (http://127.0.0.1:PORT). */
  async start(): Promise<string> {
    if (!this.seeded && this.initialReferrals > 0) this.store.seed(this.initialReferrals, this.seed);
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

export function createPartnerCenterSimulator(options: PartnerCenterSimulatorOptions = {}): PartnerCenterSimulator {
  return new PartnerCenterSimulator(options);
}

/** Request-ID on every API response; MS-CorrelationId echoed when the client sent one. */
function trackingHeaders(req: SimRequest): Record<string, string> {
  const headers: Record<string, string> = { 'Request-ID': randomUUID() };
  const correlation = req.headers['ms-correlationid'];
  if (typeof correlation === 'string') headers['MS-CorrelationId'] = correlation;
  return headers;
}

function clip(message: string, max: number): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}
