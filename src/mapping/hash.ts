// Canonical JSON and hashes: the payload hash that lets the engine skip unchanged writes, and the
// mapping version.
import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level (undefined members dropped, as JSON.stringify does).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort())
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * sha256 (hex) of the canonical JSON of a payload: equal for equal content whatever the key order.
 */
export function stableHash(fields: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(fields));
}
