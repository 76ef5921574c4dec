// The tolerant reader: validates referrals one at a time, drops malformed optional fields with a
// warning, spots unknown enum values.
import type { Issue } from '../../core/errors.js';
import {
  KNOWN_ENUMS,
  REQUIRED_REFERRAL_FIELDS,
  referralSchema,
  type Referral,
} from '../../core/referral.js';

/**
 * A referral the schema refused: its id (when it has a string one), every problem, and the item as
 * sent.
 */
export interface InvalidReferral {
  id: string | null;
  issues: Issue[];
  raw: unknown;
}

/**
 * A readable referral; `dropped` names each malformed optional field that was left out (path +
 * problem).
 */
export type ParsedReferral =
  { ok: true; referral: Referral; dropped: Issue[] } | { ok: false; invalid: InvalidReferral };

const REQUIRED: ReadonlySet<string> = new Set(REQUIRED_REFERRAL_FIELDS);
/** Each round drops at least one value, so this bounds the work on a pathological item. */
const MAX_ROUNDS = 64;
const DROPPED = Symbol('dropped');

/**
 * Parses one item. Only the fields the engine needs (REQUIRED_REFERRAL_FIELDS) can make it invalid;
 * any other
 * malformed value is removed (the smallest enclosing piece: a tag, a team member, a date) and
 * reported in
 * `dropped`. Unknown fields and unknown enum values are kept (the schema is loose and its enums
 * open).
 */
export function parseReferral(raw: unknown): ParsedReferral {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      invalid: { id: null, issues: [{ path: '', message: 'expected a referral object' }], raw },
    };
  }
  let working: unknown = raw;
  const dropped: Issue[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const result = referralSchema.safeParse(working);
    if (result.success) return { ok: true, referral: result.data, dropped };
    const issues = result.error.issues.map((issue) => ({
      path: issue.path,
      message: withReceived(issue.message, valueAt(working, issue.path)),
    }));
    if (issues.some((issue) => REQUIRED.has(String(issue.path[0] ?? '')))) {
      return {
        ok: false,
        invalid: {
          id: idOf(raw),
          issues: issues.map((i) => ({ path: issuePath(i.path), message: i.message })),
          raw,
        },
      };
    }
    if (working === raw) working = structuredClone(raw);
    for (const issue of issues) {
      const at = droppablePath(working, issue.path);
      if (at.length === 0) continue;
      markDropped(working, at);
      dropped.push({ path: issuePath(at), message: issue.message });
    }
    working = sweep(working);
  }
  return {
    ok: false,
    invalid: {
      id: idOf(raw),
      issues: [{ path: '', message: `too many malformed fields (${dropped.length} dropped)` }],
      raw,
    },
  };
}

/** `details.dealValue`, `customerProfile.team.0.email`: the dot path used in every Issue. */
function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((key) => (typeof key === 'symbol' ? (key.description ?? '') : String(key)))
    .join('.');
}

/** The id of an item, when it has a usable one (so an invalid referral can still be named). */
function idOf(raw: unknown): string | null {
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

/**
 * The issue's path when a value is there; else its nearest existing parent (a tag object missing
 * its `id`).
 */
function droppablePath(root: unknown, path: readonly PropertyKey[]): PropertyKey[] {
  const at = [...path];
  while (at.length > 0 && valueAt(root, at) === undefined) at.pop();
  return at;
}

function markDropped(root: unknown, path: PropertyKey[]): void {
  const parent = valueAt(root, path.slice(0, -1));
  if (parent !== null && typeof parent === 'object')
    (parent as Record<PropertyKey, unknown>)[path[path.length - 1]!] = DROPPED;
}

/** Removes the marked values: array elements are spliced out, object keys deleted. */
function sweep(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((item) => item !== DROPPED).map(sweep);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (record[key] === DROPPED) delete record[key];
    else record[key] = sweep(record[key]);
  }
  return record;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Adds the offending scalar to the message, so a log line says what was sent, not only what was
 * expected.
 */
function withReceived(message: string, value: unknown): string {
  if (value === undefined || (value !== null && typeof value === 'object')) return message;
  const shown = JSON.stringify(value);
  return `${message} (got ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown})`;
}
