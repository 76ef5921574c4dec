// The config module's public surface: schemas and types, the loader, the redacted description, credentials.
export * from './schema.js';
export * from './targets.js';
export {
  staticAuthSchema,
  entraClientCredentialsSchema,
  entraUserSignInSchema,
  keyBytes,
  TOKEN_CACHE_KEY_VARIABLE,
} from './fields.js';
export type { StaticAuth, EntraClientCredentialsAuth, EntraUserSignInAuth } from './fields.js';
export { DEFAULT_CONFIG_FILE, loadConfig, parseConfig } from './load.js';
export type { ParseConfigOptions } from './load.js';
export { interpolateEnv } from './interpolate.js';
export type { EnvMap, ConfigPath } from './interpolate.js';
export { formatPath } from './issues.js';
export { describeConfig, redactConfig, REDACTED } from './describe.js';
export { credentialFromAuth } from './credentials.js';
export * from './alerts.js';
