// Credentials: something that yields a bearer token for one API (static for simulators, Entra ID
// for tenants).
import type { ConfidentialClientApplication } from '@azure/msal-node';
import { LeadbridgeError } from './errors.js';

export interface TokenCredential {
  /** A valid access token; implementations cache and refresh it. */
  getToken(): Promise<string>;
  /** Forget any cached token (after a 401) so the next call fetches a fresh one. */
  invalidate?(): void;
  /** What this credential is, for error messages (never the secret itself). */
  readonly description: string;
}

export function staticToken(token: string, description = 'static token'): TokenCredential {
  return { getToken: async () => token, description };
}

export interface EntraClientCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** e.g. https://api.partner.microsoft.com/.default */
  scope: string;
  /** Defaults to https://login.microsoftonline.com */
  authorityHost?: string;
}

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';

/** Entra ID client-credentials flow through MSAL, which caches and renews the token itself. */
export function entraClientCredentials(options: EntraClientCredentials): TokenCredential {
  // MSAL loads on the first token request, so a deployment using static tokens never pays for it.
  let app: Promise<ConfidentialClientApplication> | null = null;
  const authorityHost = (options.authorityHost ?? DEFAULT_AUTHORITY).replace(/\/$/, '');
  const host = new URL(authorityHost).host.toLowerCase();
  const application = () =>
    (app ??= import('@azure/msal-node').then(
      ({ ConfidentialClientApplication }) =>
        new ConfidentialClientApplication({
          auth: {
            clientId: options.clientId,
            clientSecret: options.clientSecret,
            authority: `${authorityHost}/${options.tenantId}`,
            // Another host is trusted as configured: msal would otherwise ask
            // login.microsoftonline.com's
            // instance discovery about it, which fails offline and for private authorities.
            ...(host === new URL(DEFAULT_AUTHORITY).host ? {} : { knownAuthorities: [host] }),
          },
        }),
    ));
  const description =
    `Entra ID client ${options.clientId} (tenant ${options.tenantId}, scope ` + `${options.scope})`;
  return {
    description,
    async getToken() {
      try {
        const result = await (
          await application()
        ).acquireTokenByClientCredential({ scopes: [options.scope] });
        if (!result?.accessToken) throw new Error('no access token in the response');
        return result.accessToken;
      } catch (error) {
        throw new LeadbridgeError(
          'AUTH_FAILED',
          `could not get a token for ${description}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    },
    invalidate() {
      void app?.then((a) => a.clearCache());
    },
  };
}
