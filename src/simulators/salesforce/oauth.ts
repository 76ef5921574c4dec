// The OAuth 2.0 token endpoint (/services/oauth2/token): client-credentials and JWT-bearer grants.
import { createHmac } from 'node:crypto';
import type { SimClock } from '../common/clock.js';
import type { SimRequest, SimResponse, SimRoute } from '../common/server.js';
import { ORG_ID, USER_ID } from './route-helpers.js';
import type { SessionRegistry } from './sessions.js';

export interface OAuthContext {
  sessions: SessionRegistry;
  clock: SimClock;
  instanceUrl: () => string;
  /** client_id → client_secret; absent: any non-empty pair is accepted. */
  clients?: Readonly<Record<string, string>>;
}

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function oauthError(error: string, description: string, status = 400): SimResponse {
  return { status, body: { error, error_description: description } };
}

/** The token response the platform sends for a granted request. */
function granted(ctx: OAuthContext, signed: boolean): SimResponse {
  const accessToken = ctx.sessions.issue();
  const issuedAt = String(ctx.clock.nowMs());
  const id = `${ctx.instanceUrl()}/id/${ORG_ID}/${USER_ID}`;
  const body: Record<string, string> = {
    access_token: accessToken,
    scope: 'api',
    instance_url: ctx.instanceUrl(),
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
  };
  if (signed)
    body.signature = createHmac('sha256', ORG_ID)
      .update(id + issuedAt)
      .digest('base64');
  return { status: 200, body };
}

function clientCredentials(ctx: OAuthContext, form: URLSearchParams): SimResponse {
  const clientId = form.get('client_id') ?? '';
  const clientSecret = form.get('client_secret') ?? '';
  if (clientId === '') return oauthError('invalid_client_id', 'client identifier invalid');
  if (ctx.clients && !(clientId in ctx.clients))
    return oauthError('invalid_client_id', 'client identifier invalid');
  if (clientSecret === '' || (ctx.clients && ctx.clients[clientId] !== clientSecret)) {
    return oauthError('invalid_client', 'invalid client credentials');
  }
  return granted(ctx, true);
}

function decodeJwtPart(part: string): Record<string, unknown> | null {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/**
 * Why a JWT assertion is refused, or null when it is well formed and current (the signature is not
 * verified).
 */
function assertionProblem(assertion: string, nowMs: number): string | null {
  const parts = assertion.split('.');
  if (parts.length !== 3 || parts.some((p) => p === ''))
    return 'the assertion is not a JWT of three dot-separated parts';
  const header = decodeJwtPart(parts[0] as string);
  const payload = decodeJwtPart(parts[1] as string);
  if (!header || typeof header.alg !== 'string')
    return 'the JWT header is not base64url JSON with an alg';
  if (!payload) return 'the JWT payload is not base64url JSON';
  for (const claim of ['iss', 'sub', 'aud'] as const) {
    const value = payload[claim];
    const ok = typeof value === 'string' ? value !== '' : Array.isArray(value) && value.length > 0;
    if (!ok) return `the JWT claim ${claim} is missing`;
  }
  if (typeof payload.exp !== 'number') return 'the JWT claim exp is missing';
  if (payload.exp * 1000 <= nowMs) return 'expired assertion: exp is in the past';
  return null;
}

function jwtBearer(ctx: OAuthContext, form: URLSearchParams): SimResponse {
  const problem = assertionProblem(form.get('assertion') ?? '', ctx.clock.nowMs());
  if (problem) return oauthError('invalid_grant', `invalid assertion: ${problem}`);
  return granted(ctx, false);
}

function token(ctx: OAuthContext, req: SimRequest): SimResponse {
  const type = String(req.headers['content-type'] ?? '');
  if (!/application\/x-www-form-urlencoded/i.test(type)) {
    return oauthError(
      'invalid_request',
      'the token request must be application/x-www-form-urlencoded',
    );
  }
  const form = new URLSearchParams(req.rawBody);
  const grantType = form.get('grant_type');
  if (grantType === 'client_credentials') return clientCredentials(ctx, form);
  if (grantType === JWT_BEARER_GRANT) return jwtBearer(ctx, form);
  return oauthError('unsupported_grant_type', 'grant type not supported');
}

export function oauthRoutes(ctx: OAuthContext): SimRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/services\/oauth2\/token\/?$/,
      handler: (req) => token(ctx, req),
    },
  ];
}
