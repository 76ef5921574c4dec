// The Partner Center credential a config describes: the App+User sign-in (token cache + key), or a
// static / app-only one.
import {
  credentialFromAuth,
  keyBytes,
  TOKEN_CACHE_KEY_VARIABLE,
  type EntraUserSignInAuth,
  type LeadbridgeConfig,
} from '../config/index.js';
import type { TokenCredential } from '../core/auth.js';
import { LeadbridgeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { UserSignIn } from '../source/partner-center/sign-in.js';
import { EncryptedTokenCacheFile } from '../source/partner-center/token-cache.js';

export function partnerCenterCredential(config: LeadbridgeConfig, logger: Logger): TokenCredential {
  const auth = config.source.partnerCenter.auth;
  return auth.kind === 'user'
    ? userSignInFor(auth, logger)
    : credentialFromAuth(auth, 'source.partnerCenter.auth');
}

/**
 * The sign-in of `auth.kind: user`; the cache file path was made absolute when the config was
 * loaded.
 */
export function userSignInFor(auth: EntraUserSignInAuth, logger: Logger): UserSignIn {
  const key = keyBytes(auth.tokenCache.key);
  if (!key) {
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `source.partnerCenter.auth.tokenCache.key is not a 32-byte key (hex or base64); set ` +
        `${TOKEN_CACHE_KEY_VARIABLE}, e.g. from openssl rand -hex 32`,
    );
  }
  const file = auth.tokenCache.file;
  if (!file)
    throw new LeadbridgeError(
      'INTERNAL',
      'source.partnerCenter.auth.tokenCache.file was not resolved (loadConfig resolves it)',
    );
  return new UserSignIn({
    tenantId: auth.tenantId,
    clientId: auth.clientId,
    scope: auth.scope,
    ...(auth.authorityHost ? { authorityHost: auth.authorityHost } : {}),
    ...(auth.authorityCaFile ? { authorityCaFile: auth.authorityCaFile } : {}),
    cache: new EncryptedTokenCacheFile(
      file,
      key,
      `source.partnerCenter.auth.tokenCache.key (${TOKEN_CACHE_KEY_VARIABLE} in the default ` +
        `config)`,
    ),
    logger,
  });
}
