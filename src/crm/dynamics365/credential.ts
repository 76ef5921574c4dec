// The Dynamics 365 target's token credential, from its settings.auth.
import { entraClientCredentials, staticToken, type TokenCredential } from '../../core/auth.js';
import { orgUrlOf, type DynamicsSettings } from './settings.js';

/** The credential named by settings.auth; the token audience defaults to the organisation URL. */
export function credentialFor(settings: DynamicsSettings): TokenCredential {
  const { auth } = settings;
  if (auth.kind === 'static')
    return staticToken(auth.token, `static token for ${orgUrlOf(settings)}`);
  return entraClientCredentials({
    tenantId: auth.tenantId,
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
    scope: auth.scope ?? `${orgUrlOf(settings)}/.default`,
    authorityHost: auth.authorityHost,
  });
}
