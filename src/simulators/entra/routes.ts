// The Entra ID endpoints msal-node calls for device-code sign-in, silent refresh and client
// credentials, plus discovery.
import {
  SimHttpError,
  type SimRequest,
  type SimResponse,
  type SimRoute,
} from '../common/server.js';
import { AADSTS, oauthError } from './errors.js';
import type { GrantStore } from './grants.js';
import {
  PARTNER_CENTER_AUDIENCE,
  appOnlyAccessClaims,
  clientInfo,
  delegatedAccessClaims,
  idTokenClaims,
  type SimUser,
  type TokenSigner,
} from './tokens.js';

export interface SimClientApp {
  clientId: string;
  /** Confidential clients only: the secret for client_credentials. */
  secret?: string;
  /** App roles granted to the app (they appear in its app-only tokens as `roles`). */
  roles?: string[];
}

export interface EntraState {
  tenantId: string;
  clients: SimClientApp[];
  grants: GrantStore;
  signer: TokenSigner;
  accessTokenLifetimeS: number;
  deviceCodeLifetimeS: number;
  pollIntervalS: number;
  nowMs: () => number;
}

/**
 * The device code article names `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628);
 * msal-node sends the short
 * `device_code` (msal-common GrantType.DEVICE_CODE_GRANT), which the service takes as well.
 */
const DEVICE_CODE_GRANTS = new Set(['urn:ietf:params:oauth:grant-type:device_code', 'device_code']);
/** Scopes msal adds to every user request; they name no resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const TENANT = '(?<tenant>[^/]+)';

export function entraRoutes(state: EntraState): SimRoute[] {
  const route = (
    method: string,
    pattern: string,
    handler: (req: SimRequest) => SimResponse,
  ): SimRoute => ({
    method,
    pattern: new RegExp(`^${pattern}$`),
    handler: (req) => {
      if (req.params.tenant !== undefined) requireTenant(state, req.params.tenant);
      return handler(req);
    },
  });
  return [
    route('GET', `/${TENANT}/v2\\.0/\\.well-known/openid-configuration`, (req) => ({
      status: 200,
      body: openIdConfiguration(state, req),
    })),
    route('GET', `/${TENANT}/discovery/v2\\.0/keys`, () => ({
      status: 200,
      body: state.signer.jwks(),
    })),
    route('GET', '/common/discovery/instance', (req) => ({
      status: 200,
      body: instanceDiscovery(state, req),
    })),
    route('POST', `/${TENANT}/oauth2/v2\\.0/devicecode`, (req) => deviceAuthorization(state, req)),
    route('POST', `/${TENANT}/oauth2/v2\\.0/token`, (req) => token(state, req)),
  ];
}

/**
 * https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration, pointing back
 * at this simulator.
 */
function openIdConfiguration(state: EntraState, req: SimRequest): Record<string, unknown> {
  const base = `${originOf(req)}/${state.tenantId}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: [
      'client_secret_post',
      'private_key_jwt',
      'client_secret_basic',
    ],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'nonce',
      'name',
      'preferred_username',
      'oid',
      'tid',
      'ver',
    ],
    tenant_region_scope: 'WW',
    cloud_instance_name: 'microsoftonline.com',
  };
}

/**
 * The instance discovery answer (aliases of this host); msal skips the call when the host is in
 * knownAuthorities.
 */
function instanceDiscovery(state: EntraState, req: SimRequest): Record<string, unknown> {
  const host = req.url.host;
  return {
    tenant_discovery_endpoint:
      `${originOf(req)}/${state.tenantId}` + `/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

function deviceAuthorization(state: EntraState, req: SimRequest): SimResponse {
  const form = formOf(req);
  const clientId = required(form, 'client_id');
  const app = clientApp(state, clientId);
  if (app.secret !== undefined)
    throw oauthError(
      400,
      'invalid_client',
      AADSTS.invalidGrant,
      `The application '${clientId}' is not a public client: the device code flow needs "Allow ` +
        `public client flows".`,
    );
  const scopes = resourceScopes(required(form, 'scope'));
  const grant = state.grants.startDeviceCode(clientId, scopes, state.deviceCodeLifetimeS);
  const verificationUri = `${originOf(req)}/_sim/devicelogin`;
  return {
    status: 200,
    body: {
      user_code: grant.userCode,
      device_code: grant.deviceCode,
      verification_uri: verificationUri,
      expires_in: state.deviceCodeLifetimeS,
      interval: state.pollIntervalS,
      message:
        `To sign in, use a web browser to open the page ${verificationUri} and enter ` +
        `the code ${grant.userCode} to authenticate.`,
    },
  };
}

function token(state: EntraState, req: SimRequest): SimResponse {
  const form = formOf(req);
  const grantType = required(form, 'grant_type');
  const clientId = required(form, 'client_id');
  const app = clientApp(state, clientId);
  if (DEVICE_CODE_GRANTS.has(grantType)) {
    const grant = state.grants.redeemDeviceCode(required(form, 'device_code'), clientId);
    return userTokens(state, req, grant.user, clientId, grant.scopes);
  }
  if (grantType === 'refresh_token') {
    const grant = state.grants.redeemRefreshToken(required(form, 'refresh_token'), clientId);
    const asked = form.get('scope');
    return userTokens(
      state,
      req,
      grant.user,
      clientId,
      asked ? resourceScopes(asked) : grant.scopes,
    );
  }
  if (grantType === 'client_credentials') {
    if (app.secret === undefined || form.get('client_secret') !== app.secret) {
      throw oauthError(
        401,
        'invalid_client',
        AADSTS.invalidClientSecret,
        `Invalid client secret provided for application '${clientId}'.`,
      );
    }
    const scopes = resourceScopes(required(form, 'scope'));
    if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) {
      throw oauthError(
        400,
        'invalid_scope',
        AADSTS.invalidScope,
        `The provided value for the input parameter 'scope' is not valid: client credentials ` +
          `take one resource's /.default scope.`,
      );
    }
    return appTokens(state, clientId, app.roles ?? []);
  }
  throw oauthError(
    400,
    'unsupported_grant_type',
    AADSTS.unsupportedGrantType,
    `The provided value '${grantType}' for the input parameter 'grant_type' is not supported.`,
  );
}

function userTokens(
  state: EntraState,
  req: SimRequest,
  user: SimUser,
  clientId: string,
  scopes: string[],
): SimResponse {
  const issuedAtS = Math.floor(state.nowMs() / 1000);
  const request = {
    tenantId: state.tenantId,
    clientId,
    issuedAtS,
    lifetimeS: state.accessTokenLifetimeS,
  };
  const issuer = `${originOf(req)}/${state.tenantId}/v2.0`;
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    body: {
      token_type: 'Bearer',
      scope: [...scopes, 'openid', 'profile', 'offline_access'].join(' '),
      expires_in: state.accessTokenLifetimeS,
      ext_expires_in: state.accessTokenLifetimeS,
      access_token: state.signer.sign(delegatedAccessClaims(request, user)),
      refresh_token: state.grants.issueRefreshToken(user, clientId, scopes),
      id_token: state.signer.sign(idTokenClaims(issuer, request, user)),
      client_info: clientInfo(user, state.tenantId),
    },
  };
}

function appTokens(state: EntraState, clientId: string, roles: string[]): SimResponse {
  const issuedAtS = Math.floor(state.nowMs() / 1000);
  const claims = appOnlyAccessClaims(
    { tenantId: state.tenantId, clientId, issuedAtS, lifetimeS: state.accessTokenLifetimeS },
    roles,
  );
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
    body: {
      token_type: 'Bearer',
      expires_in: state.accessTokenLifetimeS,
      ext_expires_in: state.accessTokenLifetimeS,
      access_token: state.signer.sign(claims),
    },
  };
}

/**
 * The resource scopes of a request (the OpenID ones name no resource); only the Partner Center API
 * is known here.
 */
function resourceScopes(scope: string): string[] {
  const scopes = scope.split(/\s+/).filter((s) => s !== '' && !OIDC_SCOPES.has(s));
  for (const s of scopes) {
    if (!s.startsWith(`${PARTNER_CENTER_AUDIENCE}/`)) {
      throw oauthError(
        400,
        'invalid_scope',
        AADSTS.invalidScope,
        `The provided value for the input parameter 'scope' is not valid. The scope ${s} does ` +
          `not exist in this simulated tenant (only ${PARTNER_CENTER_AUDIENCE}/... does).`,
      );
    }
  }
  if (scopes.length === 0)
    throw oauthError(
      400,
      'invalid_scope',
      AADSTS.invalidScope,
      `The provided value for the input parameter 'scope' names no resource (e.g. ` +
        `${PARTNER_CENTER_AUDIENCE}/.default).`,
    );
  return scopes;
}

function clientApp(state: EntraState, clientId: string): SimClientApp {
  const app = state.clients.find((c) => c.clientId === clientId);
  if (!app) {
    throw oauthError(
      400,
      'unauthorized_client',
      AADSTS.applicationNotFound,
      `Application with identifier '${clientId}' was not found in the directory '` +
        `${state.tenantId}'.`,
    );
  }
  return app;
}

function requireTenant(state: EntraState, tenant: string): void {
  if (tenant !== state.tenantId && tenant !== 'common' && tenant !== 'organizations') {
    throw oauthError(
      400,
      'invalid_tenant',
      AADSTS.tenantNotFound,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
    );
  }
}

/** The token endpoints take application/x-www-form-urlencoded bodies only. */
function formOf(req: SimRequest): URLSearchParams {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new SimHttpError(
      400,
      'invalid_request',
      `AADSTS${AADSTS.missingParameter}: The request body must be ` +
        `application/x-www-form-urlencoded (got '${type || 'none'}').`,
    );
  }
  return new URLSearchParams(req.rawBody);
}

function required(form: URLSearchParams, name: string): string {
  const value = form.get(name);
  if (value === null || value.trim() === '')
    throw oauthError(
      400,
      'invalid_request',
      AADSTS.missingParameter,
      `The request body must contain the following parameter: '${name}'.`,
    );
  return value;
}

function originOf(req: SimRequest): string {
  return req.url.origin;
}
