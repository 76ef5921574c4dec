// Access tokens for a Salesforce target: a given token, or the OAuth client-credentials / JWT
// bearer flows through jsforce.
import { sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { OAuth2 } from 'jsforce';
import { LeadbridgeError } from '../../core/errors.js';
import { tokenError } from './errors.js';
import { JWT_BEARER_GRANT, JWT_LIFETIME_SECONDS } from './facts.js';
import type { SalesforceAuth } from './settings.js';
import { instrumentTransport } from './transport.js';

export interface TokenSource {
  /** Whether asking again can replace a refused token (false for a token given in the config). */
  readonly renewable: boolean;
  /** A token: the configured one, or a new one from the token endpoint. */
  fetchToken(): Promise<string>;
}

export interface TokenSourceContext {
  target: string;
  /** Called once per HTTP request made to the token endpoint. */
  onRequest: () => void;
  /** Injected for tests. */
  nowMs?: () => number;
}

export function tokenSourceFor(auth: SalesforceAuth, context: TokenSourceContext): TokenSource {
  if (auth.kind === 'accessToken') return { renewable: false, fetchToken: async () => auth.token };
  const loginUrl = auth.loginUrl.replace(/\/+$/, '');
  const tokenUrl = `${loginUrl}/services/oauth2/token`;
  if (auth.kind === 'clientCredentials') {
    const oauth2 = instrumentedOAuth2(
      { loginUrl, clientId: auth.clientId, clientSecret: auth.clientSecret },
      context.onRequest,
    );
    return {
      renewable: true,
      fetchToken: () =>
        requestToken(
          oauth2,
          { grant_type: 'client_credentials' },
          { ...context, flow: 'client-credentials', tokenUrl },
        ),
    };
  }
  const oauth2 = instrumentedOAuth2({ loginUrl }, context.onRequest);
  return {
    renewable: true,
    fetchToken: async () => {
      const privateKey = await privateKeyOf(auth, context.target);
      const assertion = jwtAssertion(
        { clientId: auth.clientId, username: auth.username, audience: loginUrl },
        privateKey,
        {
          nowMs: (context.nowMs ?? Date.now)(),
          target: context.target,
        },
      );
      return requestToken(
        oauth2,
        { grant_type: JWT_BEARER_GRANT, assertion },
        { ...context, flow: 'JWT bearer', tokenUrl },
      );
    },
  };
}

function instrumentedOAuth2(
  config: ConstructorParameters<typeof OAuth2>[0],
  onRequest: () => void,
): OAuth2 {
  const oauth2 = new OAuth2(config);
  oauth2._transport = instrumentTransport(oauth2._transport, onRequest);
  return oauth2;
}

async function requestToken(
  oauth2: OAuth2,
  params: { grant_type: string; [name: string]: string },
  context: { target: string; flow: string; tokenUrl: string },
): Promise<string> {
  let response: { access_token?: unknown };
  try {
    response = await oauth2.requestToken(params);
  } catch (error) {
    throw tokenError(error, context);
  }
  if (typeof response?.access_token !== 'string' || response.access_token === '') {
    throw new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${context.target}": the ${context.flow} token response from ` +
        `${context.tokenUrl} has no access_token`,
      {
        api: 'salesforce',
      },
    );
  }
  return response.access_token;
}

async function privateKeyOf(
  auth: Extract<SalesforceAuth, { kind: 'jwt' }>,
  target: string,
): Promise<string> {
  if (auth.privateKey) return auth.privateKey;
  const file = auth.privateKeyFile ?? '';
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${target}": cannot read the JWT private key file ${file}: ` +
        `${(error as Error).message}`,
      { api: 'salesforce', cause: error },
    );
  }
}

export interface JwtClaims {
  clientId: string;
  username: string;
  /**
   * The login URL (https://login.salesforce.com, https://test.salesforce.com or the My Domain URL).
   */
  audience: string;
}

/**
 * An RS256-signed JWT bearer assertion: iss = the connected app's client id, sub = the user,
 * short-lived.
 */
export function jwtAssertion(
  claims: JwtClaims,
  privateKeyPem: string,
  context: { nowMs: number; target: string },
): string {
  const header = base64Url({ alg: 'RS256' });
  const payload = base64Url({
    iss: claims.clientId,
    sub: claims.username,
    aud: claims.audience,
    exp: Math.floor(context.nowMs / 1000) + JWT_LIFETIME_SECONDS,
  });
  let signature: Buffer;
  try {
    signature = sign('sha256', Buffer.from(`${header}.${payload}`), privateKeyPem);
  } catch (error) {
    throw new LeadbridgeError(
      'AUTH_FAILED',
      `salesforce target "${context.target}": the JWT private key cannot sign an RS256 ` +
        `assertion: ${(error as Error).message}`,
      { api: 'salesforce', cause: error },
    );
  }
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

function base64Url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
