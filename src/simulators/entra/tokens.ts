// The Entra ID simulator's tokens: RS256 JWTs (delegated ones carry `scp`, app-only ones `roles`),
// id tokens and client_info.
import {
  createSign,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  type KeyObject,
} from 'node:crypto';

/**
 * The Partner Center API's audience (the resource of https://api.partner.microsoft.com/.default).
 */
export const PARTNER_CENTER_AUDIENCE = 'https://api.partner.microsoft.com';
/**
 * The delegated permission the Partner Center app registration grants ("Microsoft Partner Center"
 * API,
 * user_impersonation: MicrosoftDocs/partner-rest partner-rest/develop/api-authentication.md).
 */
const PARTNER_CENTER_DELEGATED_SCOPE = 'user_impersonation';

export interface SimUser {
  oid: string;
  upn: string;
  name: string;
}

/** Signs the simulator's tokens; the public half is served as JWKS. */
export class TokenSigner {
  readonly kid = randomUUID();
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor() {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  sign(claims: Record<string, unknown>): string {
    const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: this.kid }));
    const payload = base64url(JSON.stringify(claims));
    const signature = createSign('RSA-SHA256')
      .update(`${header}.${payload}`)
      .sign(this.privateKey)
      .toString('base64url');
    return `${header}.${payload}.${signature}`;
  }

  jwks(): { keys: unknown[] } {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return { keys: [{ ...jwk, kid: this.kid, use: 'sig', alg: 'RS256' }] };
  }
}

export interface AccessTokenRequest {
  tenantId: string;
  clientId: string;
  issuedAtS: number;
  lifetimeS: number;
}

/** A v1 access token for the Partner Center API on behalf of a user: `scp`, and no `roles`. */
export function delegatedAccessClaims(
  request: AccessTokenRequest,
  user: SimUser,
): Record<string, unknown> {
  return {
    ...commonAccessClaims(request),
    oid: user.oid,
    sub: user.oid,
    upn: user.upn,
    unique_name: user.upn,
    name: user.name,
    scp: PARTNER_CENTER_DELEGATED_SCOPE,
  };
}

/** A client-credentials token: `roles` (the app's granted roles), no `scp`, no user. */
export function appOnlyAccessClaims(
  request: AccessTokenRequest,
  roles: string[],
): Record<string, unknown> {
  return {
    ...commonAccessClaims(request),
    oid: request.clientId,
    sub: request.clientId,
    idtyp: 'app',
    roles,
  };
}

function commonAccessClaims(request: AccessTokenRequest): Record<string, unknown> {
  return {
    aud: PARTNER_CENTER_AUDIENCE,
    iss: `https://sts.windows.net/${request.tenantId}/`,
    iat: request.issuedAtS,
    nbf: request.issuedAtS,
    exp: request.issuedAtS + request.lifetimeS,
    appid: request.clientId,
    tid: request.tenantId,
    ver: '1.0',
    uti: randomBytes(16).toString('base64url'),
  };
}

/** The v2 id token msal builds its account from (oid, tid, preferred_username). */
export function idTokenClaims(
  issuer: string,
  request: AccessTokenRequest,
  user: SimUser,
): Record<string, unknown> {
  return {
    aud: request.clientId,
    iss: issuer,
    iat: request.issuedAtS,
    nbf: request.issuedAtS,
    exp: request.issuedAtS + 3600,
    name: user.name,
    oid: user.oid,
    preferred_username: user.upn,
    sub: user.oid,
    tid: request.tenantId,
    ver: '2.0',
  };
}

/**
 * client_info as the v2 token endpoint returns it: base64url of {"uid","utid"} (msal's home account
 * id).
 */
export function clientInfo(user: SimUser, tenantId: string): string {
  return base64url(JSON.stringify({ uid: user.oid, utid: tenantId }));
}

export function opaqueToken(): string {
  return randomBytes(48).toString('base64url');
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
