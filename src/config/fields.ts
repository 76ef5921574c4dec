// Reusable config field schemas: URLs, numbers that may arrive as strings (from ${ENV}), secrets,
// auth blocks.
import { z } from 'zod';

/**
 * Plain numbers in a string ("100") become numbers, so `${PAGE_SIZE:-100}` works for numeric
 * fields.
 */
function numberFromString(value: unknown): unknown {
  return typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value;
}

function booleanFromString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const lowered = value.trim().toLowerCase();
  return lowered === 'true' ? true : lowered === 'false' ? false : value;
}

/** A whole number within [min, max]. */
export function intField(min: number, max?: number) {
  const base = z.number().int().min(min);
  return z.preprocess(numberFromString, max === undefined ? base : base.max(max));
}

export function booleanField() {
  return z.preprocess(booleanFromString, z.boolean());
}

export function nonEmptyString() {
  return z.string().trim().min(1);
}

/** An http(s) URL without a trailing slash (callers append paths). */
export function httpUrl() {
  return z
    .string()
    .trim()
    .pipe(z.url({ protocol: /^https?$/ }))
    .transform((url) => url.replace(/\/+$/, ''));
}

/** A secret value (token, client secret, key): non-empty, and redacted by describeConfig. */
export function secretString() {
  return z.string().min(1);
}

/** A bearer token given as is (the simulators, or a token minted elsewhere). */
export const staticAuthSchema = z.strictObject({
  kind: z.literal('static'),
  token: secretString(),
});

/**
 * The Entra ID client-credentials fields; APIs with a known audience `.extend` it with a default
 * `scope`.
 */
export const entraClientCredentialsSchema = z.strictObject({
  kind: z.literal('clientCredentials'),
  tenantId: nonEmptyString(),
  clientId: nonEmptyString(),
  clientSecret: secretString(),
  scope: nonEmptyString().optional(),
  /** Defaults to https://login.microsoftonline.com (core/auth). */
  authorityHost: httpUrl().optional(),
});

export type StaticAuth = z.output<typeof staticAuthSchema>;
export interface EntraClientCredentialsAuth {
  kind: 'clientCredentials';
  tenantId: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  authorityHost?: string | undefined;
}

/** The environment variable the default config reads the token cache key from. */
export const TOKEN_CACHE_KEY_VARIABLE = 'LEADBRIDGE_TOKEN_CACHE_KEY';
const KEY_HINT =
  `32 random bytes as 64 hex characters or base64, e.g. from: openssl rand -hex ` +
  `32 (put it in ${TOKEN_CACHE_KEY_VARIABLE})`;

/**
 * A 256-bit key given as hex or base64; anything shorter or longer is refused (AES-256-GCM needs
 * exactly 32 bytes).
 */
function aes256Key() {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `required: ${KEY_HINT}` : undefined) })
    .trim()
    .refine((text) => keyBytes(text) !== null, {
      message: `not a usable key: expected ${KEY_HINT}`,
    });
}

export function keyBytes(text: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const bytes = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return bytes.length === 32 ? bytes : null;
  }
  return null;
}

/**
 * Delegated (App+User) sign-in with a public client app: `leadbridge login partner-center` runs the
 * device code flow
 * once, and the token cache (encrypted with `tokenCache.key`) lets the worker refresh silently
 * afterwards.
 */
export const entraUserSignInSchema = z.strictObject({
  kind: z.literal('user'),
  tenantId: nonEmptyString(),
  /**
   * A public client app registration ("Allow public client flows"), with the Partner Center
   * delegated permission.
   */
  clientId: nonEmptyString(),
  scope: nonEmptyString().optional(),
  /**
   * Defaults to https://login.microsoftonline.com; the Entra ID simulator's https URL in tests and
   * the demo.
   */
  authorityHost: httpUrl().optional(),
  /**
   * A PEM file of an extra certificate authority to trust for the authority's TLS (the simulator's
   * self-signed one).
   */
  authorityCaFile: nonEmptyString().optional(),
  tokenCache: z.strictObject({
    /**
     * Default: partner-center-token-cache.json beside the SQLite ledger, else ./data/. Written with
     * mode 0600.
     */
    file: nonEmptyString().optional(),
    key: aes256Key(),
  }),
});

export interface EntraUserSignInAuth {
  kind: 'user';
  tenantId: string;
  clientId: string;
  scope: string;
  authorityHost?: string | undefined;
  authorityCaFile?: string | undefined;
  tokenCache: { file?: string | undefined; key: string };
}
