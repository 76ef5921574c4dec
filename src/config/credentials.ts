// Builds the token credential that a configured auth block describes (static token or Entra ID
// app).
import { entraClientCredentials, staticToken } from '../core/auth.js';
import type { TokenCredential } from '../core/auth.js';
import type { EntraClientCredentialsAuth, StaticAuth } from './fields.js';

/** `api` names the API in the credential's description (errors mention it; the secret never). */
export function credentialFromAuth(
  auth: StaticAuth | EntraClientCredentialsAuth,
  api: string,
): TokenCredential {
  if (auth.kind === 'static') return staticToken(auth.token, `static ${api} token`);
  return entraClientCredentials({
    tenantId: auth.tenantId,
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
    scope: auth.scope,
    ...(auth.authorityHost ? { authorityHost: auth.authorityHost } : {}),
  });
}
