// Bearer checks and the OAuth token endpoint. Private-app tokens look like pat-na1-<uuid> and never
// expire;
// OAuth access tokens from POST /oauth/v1/token (grant_type=refresh_token) expire after expires_in
// seconds.
// Sources: developers.hubspot.com/docs/guides/apps/private-apps/overview ("pat-na1-..." access
// tokens) and
// developers.hubspot.com/docs/api-reference/auth-oauth-v1 (token endpoint, form-encoded, expires_in
// 1800).
import { randomUUID } from 'node:crypto';
import type { SimClock } from '../common/clock.js';
import {
  SimHttpError,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import { AUTH_MISSING_MESSAGE } from './errors.js';

const PRIVATE_APP_TOKEN =
  /^pat-(na1|na2|eu1|ap1)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACCESS_TOKEN_SECONDS = 1_800;

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export class HubSpotAuth {
  /** OAuth access token → expiry (epoch ms). */
  private readonly issued = new Map<string, number>();

  constructor(
    private readonly clock: SimClock,
    private readonly oauthApps: readonly OAuthApp[],
  ) {}

  authorize(req: SimRequest): SimHttpError | null {
    const header = String(req.headers.authorization ?? '');
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (token && PRIVATE_APP_TOKEN.test(token)) return null;
    const expiry = token ? this.issued.get(token) : undefined;
    if (expiry === undefined)
      return new SimHttpError(401, 'INVALID_AUTHENTICATION', AUTH_MISSING_MESSAGE);
    if (expiry <= this.clock.nowMs()) {
      return new SimHttpError(
        401,
        'EXPIRED_AUTHENTICATION',
        'The OAuth token used to make this call expired 0 second(s) ago.',
      );
    }
    return null;
  }

  /**
   * A request made with a private app's token. Only these see the daily headers: OAuth calls have
   * no daily limit (developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-oauth-
   * authenticated-calls).
   */
  static isPrivateApp(req: SimRequest): boolean {
    const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    return token !== undefined && PRIVATE_APP_TOKEN.test(token);
  }

  /** Every OAuth access token issued so far expires now (refresh tokens still work). */
  expireAll(): void {
    for (const token of this.issued.keys()) this.issued.set(token, 0);
  }

  routes(): SimRoute[] {
    return [{ method: 'POST', pattern: /^\/oauth\/v1\/token$/, handler: (req) => this.token(req) }];
  }

  private token(req: SimRequest): SimResponse {
    const form = new URLSearchParams(req.rawBody);
    const refused = (message: string): SimResponse => ({
      status: 400,
      body: { status: 'BAD_REFRESH_TOKEN', message, correlationId: randomUUID() },
    });
    if (form.get('grant_type') !== 'refresh_token')
      return refused('grant_type must be refresh_token');
    const app = this.oauthApps.find(
      (a) => a.clientId === form.get('client_id') && a.clientSecret === form.get('client_secret'),
    );
    if (!app || app.refreshToken !== form.get('refresh_token'))
      return refused('missing or unknown refresh token');
    const accessToken = `CO${randomUUID().replaceAll('-', '')}`;
    this.issued.set(accessToken, this.clock.nowMs() + ACCESS_TOKEN_SECONDS * 1000);
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        refresh_token: app.refreshToken,
        access_token: accessToken,
        expires_in: ACCESS_TOKEN_SECONDS,
      },
    };
  }

  /** The token endpoint itself needs no bearer. */
  static isPublic(req: SimRequest): boolean {
    return req.path === '/oauth/v1/token';
  }
}
