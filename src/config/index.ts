// The config module's public surface: schemas and types, the loader, the redacted description,
// credentials.
export * from './schema.js';
export * from './targets.js';
export { keyBytes, TOKEN_CACHE_KEY_VARIABLE } from './fields.js';
export type { EntraUserSignInAuth } from './fields.js';
export { DEFAULT_CONFIG_FILE, loadConfig, parseConfig } from './load.js';
export type { EnvMap } from './interpolate.js';
export { describeConfig, redactConfig } from './describe.js';
export { credentialFromAuth } from './credentials.js';
export * from './alerts.js';
export type { WebhooksConfig } from './webhooks.js';
export type { ClusterConfig } from './cluster.js';
