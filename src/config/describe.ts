// A printable, secret-free view of a loaded config (for `config check` and start-up logs).
import { stringify } from 'yaml';
import type { LeadbridgeConfig } from './schema.js';

/** Keys whose values are secrets wherever they appear in the config. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'token',
  'clientSecret',
  // HubSpot's OAuth refresh token (crm/hubspot/settings.ts): it mints access tokens.
  'refreshToken',
  'privateKey',
  'password',
  'webhookUrl',
  'key',
]);
const REDACTED = '[redacted]';

export function isSecretKey(key: string | number | undefined): boolean {
  return typeof key === 'string' && SECRET_KEYS.has(key);
}

/**
 * Hides a password inside a connection URL (postgres://user:secret@host/db →
 * postgres://user:[redacted]@host/db).
 */
function redactConnection(connection: string): string {
  const withoutUrlPassword = connection.replace(
    /^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^@/]*@/i,
    `$1${REDACTED}@`,
  );
  // key=value forms (libpq strings and URL query parameters)
  return withoutUrlPassword.replace(/(\bpassword=)[^&\s]*/gi, `$1${REDACTED}`);
}

function redactNode(value: unknown, key?: string): unknown {
  if (isSecretKey(key) && value !== undefined) return REDACTED;
  if (key === 'connection' && typeof value === 'string') return redactConnection(value);
  if (Array.isArray(value)) return value.map((item) => redactNode(item));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactNode(v, k)]));
  }
  return value;
}

/** A deep copy of the config with every secret replaced by "[redacted]". */
export function redactConfig(config: LeadbridgeConfig): Record<string, unknown> {
  return redactNode(config) as Record<string, unknown>;
}

/** The effective config (defaults applied, paths resolved, secrets redacted) as YAML text. */
export function describeConfig(config: LeadbridgeConfig): string {
  return stringify(redactConfig(config), { lineWidth: 0 });
}
