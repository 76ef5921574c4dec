// The HubSpot CRM API simulator: a strict loopback portal that the official @hubspot/api-client
// uses unchanged.
import { SimClock } from '../common/clock.js';
import { createRandom } from '../common/random.js';
import { SimServer, type SimRequest } from '../common/server.js';
import { adminRoutes } from './admin.js';
import { HubSpotAuth, type OAuthApp } from './auth.js';
import { serverErrorBody } from './errors.js';
import { RateLimits, type LimitSettings } from './limits.js';
import { recordRoutes } from './record-routes.js';
import { crmRoutes } from './routes.js';
import { HubSpotStore } from './store.js';

export interface HubSpotSimulatorOptions {
  host?: string;
  port?: number;
  clock?: SimClock;
  limits?: Partial<LimitSettings>;
  /** Apps that may refresh OAuth tokens at /oauth/v1/token. */
  oauthApps?: OAuthApp[];
  /** Seed of the order of search ties. */
  seed?: number;
}

/** Its own /_sim/ routes, for `leadbridge simulate`'s hint. */
export const HUBSPOT_ADMIN_ROUTES =
  'objects/<type>, deals/<id>/stage, contacts/<id>/lead-status, limits, writes, oauth/expire';

/** A private-app token the simulator accepts (any pat-<region>-<uuid> is accepted). */
export const SIMULATOR_PRIVATE_APP_TOKEN = 'pat-na1-00000000-0000-4000-8000-000000000000';

export class HubSpotSimulator {
  readonly server: SimServer;
  readonly store: HubSpotStore;
  readonly limits: RateLimits;
  private readonly auth: HubSpotAuth;
  private writes = 0;

  constructor(options: HubSpotSimulatorOptions = {}) {
    const clock = options.clock ?? new SimClock();
    this.store = new HubSpotStore(clock);
    this.limits = new RateLimits(clock, options.limits);
    this.auth = new HubSpotAuth(clock, options.oauthApps ?? []);
    const random = createRandom(options.seed ?? 1);
    this.server = new SimServer({
      name: 'hubspot',
      host: options.host,
      port: options.port,
      clock,
      routes: [
        ...this.auth.routes(),
        ...crmRoutes({ store: this.store, random, countWrite: () => this.writes++ }),
        ...recordRoutes({
          store: this.store,
          limits: this.limits,
          clock,
          countWrite: () => this.writes++,
        }),
      ],
      adminRoutes: adminRoutes({
        store: this.store,
        limits: this.limits,
        writeCalls: () => this.writes,
        expireOAuthTokens: () => this.auth.expireAll(),
      }),
      errorBody: serverErrorBody,
      authorize: (req) => this.authorize(req),
      responseHeaders: (req, res) =>
        isSearch(req) || HubSpotAuth.isPublic(req) || res.status === 401
          ? {}
          : this.limits.headers({ daily: HubSpotAuth.isPrivateApp(req) }),
      onReset: () => {
        this.store.reset();
        this.limits.reset();
        this.writes = 0;
      },
    });
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  get url(): string {
    return this.server.url;
  }

  /** Requests that changed records (batch upserts and associations). */
  get writeCalls(): number {
    return this.writes;
  }

  private authorize(req: SimRequest) {
    if (HubSpotAuth.isPublic(req)) return null;
    return this.auth.authorize(req) ?? this.limits.admit(isSearch(req));
  }
}

function isSearch(req: SimRequest): boolean {
  return /^\/crm\/v3\/objects\/[^/]+\/search$/.test(req.path);
}

export function createHubSpotSimulator(options: HubSpotSimulatorOptions = {}): HubSpotSimulator {
  return new HubSpotSimulator(options);
}
