// Who a bearer token speaks for: Partner Center's referral routes take App+User (delegated) tokens
// only.
import { SimHttpError, type SimRequest } from '../common/server.js';

const AUDIENCES = new Set([
  'https://api.partner.microsoft.com',
  'https://api.partner.microsoft.com/',
]);

/**
 * Checks the token after the bearer header itself was checked. A JWT must be for the Partner Center
 * API, unexpired,
 * and delegated: "This scenario supports authentication with App+User credentials"
 * (MicrosoftDocs/partner-rest
 * partner-rest/develop/get-a-list-of-referrals.md, and the other referral pages); app-only access
 * is documented for
 * none of them. An app-only token (`roles`, no `scp`) authenticates but may not act, so the
 * stricter answer is
 * 403 accessDenied ("The caller doesn't have permission to perform the action",
 * partner-rest/develop/error-codes.md),
 * which no token refresh can turn into a success.
 * A token that is not a JWT (the fixed strings older tests and configs use) is taken as an
 * already-validated
 * delegated token: the simulator cannot tell whom it names.
 */
export function refuseToken(req: SimRequest, nowMs: number): SimHttpError | null {
  const token = String(req.headers.authorization ?? '')
    .replace(/^Bearer\s+/i, '')
    .trim();
  const claims = jwtClaims(token);
  if (claims === null) return null;
  const unauthenticated = (why: string) =>
    new SimHttpError(401, 'unauthenticated', `The caller is not authenticated: ${why}.`, {
      'WWW-Authenticate': `Bearer error="invalid_token", error_description="${why}"`,
    });
  if (!AUDIENCES.has(String(claims.aud)))
    return unauthenticated(
      `the token's audience is ${JSON.stringify(claims.aud)}, not ` +
        `https://api.partner.microsoft.com`,
    );
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= nowMs)
    return unauthenticated('the access token has expired');
  if (typeof claims.scp !== 'string' || claims.scp.trim() === '') {
    const what = Array.isArray(claims.roles)
      ? 'an app-only token (roles, no scp)'
      : 'a token without delegated scopes (no scp)';
    return new SimHttpError(
      403,
      'accessDenied',
      `The caller doesn't have permission to perform the action: referrals take App+User ` +
        `(delegated) tokens, and this is ${what}.`,
    );
  }
  return null;
}

/**
 * The payload of a compact JWS, or null when the token is not one. The signature is not checked
 * here.
 */
function jwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}
