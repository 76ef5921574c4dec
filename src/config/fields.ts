// Reusable config field schemas: URLs, numbers that may arrive as strings (from ${ENV}), secrets, auth blocks.
import { z } from 'zod';

/** Plain numbers in a string ("100") become numbers, so `${PAGE_SIZE:-100}` works for numeric fields. */
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

/** The Entra ID client-credentials fields; APIs with a known audience `.extend` it with a default `scope`. */
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
