// Reads the bearer token's claims the way Graph decides between delegated and application
// (app-only) context.
import { SimHttpError, type SimRequest } from '../common/server.js';

/**
 * Entra access tokens are JWTs: a delegated token carries `scp` (the user's consented scopes) and
 * an app-only token
 * carries `roles` and no `scp`
 * (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
 * The simulator is no identity provider, so it reads the payload without checking the signature.
 */
export type TokenContext =
  | { kind: 'delegated'; userId: string; displayName: string; scopes: string[] }
  | {
      kind: 'application';
      roles: string[];
      /** Not a JWT: the static test and demo tokens, whose permissions are not checked. */
      opaque: boolean;
    };

/** The user a delegated token without `oid` / `name` posts as (the simulator has no directory). */
const DEFAULT_USER = {
  id: '00000000-0000-0000-0000-00000000a1e7',
  displayName: 'leadbridge alerts',
};

/**
 * The context of the request's bearer token. A token that is not a JWT (the static test and demo
 * tokens) has no `scp`,
 * so it is treated as app-only: it may send mail, but it can never post a channel message.
 */
export function tokenContext(req: SimRequest): TokenContext {
  const token = String(req.headers.authorization ?? '')
    .replace(/^Bearer\s+/i, '')
    .trim();
  const parts = token.split('.');
  if (parts.length !== 3) return { kind: 'application', roles: [], opaque: true };
  const claims = decodePayload(parts[1] ?? '');
  const scp = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
  if (scp.length > 0) {
    return {
      kind: 'delegated',
      userId: typeof claims.oid === 'string' ? claims.oid : DEFAULT_USER.id,
      displayName: typeof claims.name === 'string' ? claims.name : DEFAULT_USER.displayName,
      scopes: scp,
    };
  }
  const roles = Array.isArray(claims.roles)
    ? claims.roles.filter((r): r is string => typeof r === 'string')
    : [];
  return { kind: 'application', roles, opaque: false };
}

/**
 * Refuses a token without one of the permissions an API lists (its page's permissions table), as
 * Graph does: a delegated
 * token lacking the scope gets 403 Forbidden naming what was required and what the token had. Teams
 * APIs answer so; mail
 * APIs answer 403 ErrorAccessDenied. A token that is not a JWT carries no claims to check and
 * passes.
 */
export function requirePermission(
  token: TokenContext,
  required: { delegated: string[]; application: string[] },
  style: 'teams' | 'mail',
): void {
  if (token.kind === 'application' && token.opaque) return;
  const held = token.kind === 'delegated' ? token.scopes : token.roles;
  const accepted = token.kind === 'delegated' ? required.delegated : required.application;
  if (held.some((permission) => accepted.includes(permission))) return;
  if (style === 'mail')
    throw new SimHttpError(
      403,
      'ErrorAccessDenied',
      'Access is denied. Check credentials and try again.',
    );
  const kind = token.kind === 'delegated' ? 'scope' : 'role';
  const what = token.kind === 'delegated' ? 'Scopes' : 'Roles';
  throw new SimHttpError(
    403,
    'Forbidden',
    `Missing ${kind} permissions on the request. API requires one of '${accepted.join(', ')}'. ` +
      `${what} on the request '${held.join(', ')}'`,
  );
}

function decodePayload(segment: string): Record<string, unknown> {
  try {
    const claims: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (typeof claims === 'object' && claims !== null && !Array.isArray(claims))
      return claims as Record<string, unknown>;
  } catch {
    // fall through to the refusal below
  }
  throw new SimHttpError(
    401,
    'InvalidAuthenticationToken',
    'Access token validation failure. The token payload is not a JSON object.',
  );
}
