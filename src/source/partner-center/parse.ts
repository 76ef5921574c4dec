// Validates referrals as they arrive, one item at a time, and spots enum values this build does not know.
import type { Issue } from '../../core/errors.js';
import { KNOWN_ENUMS, referralSchema, type Referral } from '../../core/referral.js';

/** A referral the schema refused: its id (when it has a string one), every problem, and the item as sent. */
export interface InvalidReferral {
  id: string | null;
  issues: Issue[];
  raw: unknown;
}

export type ParsedReferral = { ok: true; referral: Referral } | { ok: false; invalid: InvalidReferral };

/** Parses one item; unknown fields and unknown enum values are kept (the schema is loose and its enums open). */
export function parseReferral(raw: unknown): ParsedReferral {
  const result = referralSchema.safeParse(raw);
  if (result.success) return { ok: true, referral: result.data };
  const issues = result.error.issues.map((issue) => ({
    path: issuePath(issue.path),
    message: withReceived(issue.message, valueAt(raw, issue.path)),
  }));
  return { ok: false, invalid: { id: idOf(raw), issues, raw } };
}

/** `details.dealValue`, `customerProfile.team.0.email`: the dot path used in every Issue. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'symbol' ? key.description ?? '' : String(key))).join('.');
}

/** The id of an item, when it has a usable one (so an invalid referral can still be named). */
export function idOf(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object') return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && id.length > 0 ? id : null;
}

/** Values of the known enum fields (KNOWN_ENUMS) that are not among the known values. */
export function unknownEnumValues(referral: Referral): Array<{ field: string; value: string }> {
  const found: Array<{ field: string; value: string }> = [];
  for (const [field, known] of Object.entries(KNOWN_ENUMS)) {
    const value = valueAt(referral, field.split('.'));
    if (typeof value === 'string' && !known.includes(value)) found.push({ field, value });
  }
  return found;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Adds the offending scalar to the message, so a log line says what was sent, not only what was expected. */
function withReceived(message: string, value: unknown): string {
  if (value === undefined || (value !== null && typeof value === 'object')) return message;
  const shown = JSON.stringify(value);
  return `${message} (got ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown})`;
}
