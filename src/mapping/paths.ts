// Value paths (`customerProfile.team[0].email`): parsing, reading them from a referral, and
// checking them against the referral schema.
import { z } from 'zod';
import { referralSchema } from '../core/referral.js';
import type { ComputedValue, PathSegment, ValuePath } from './definition.js';

const COMPUTED_VALUES: readonly ComputedValue[] = [
  '$leadKind',
  '$hot',
  '$referralLink',
  '$referralId',
];

/**
 * The referral fields each computed value is derived from (so referralPaths() names what a mapping
 * depends on).
 */
export const COMPUTED_VALUE_INPUTS: Readonly<Record<ComputedValue, readonly string[]>> = {
  $leadKind: ['type', 'qualification', 'inviteContext.invitedBy.organizationId'],
  $hot: ['details.customerRequestedContact'],
  $referralLink: ['id'],
  $referralId: ['id'],
};

const KEY = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Parses `a.b[0].c` / `a.list[].name` / `$hot`; returns a message when the text is not a path. */
export function parsePath(text: string): ValuePath | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('$')) {
    if ((COMPUTED_VALUES as readonly string[]).includes(trimmed)) {
      return { text: trimmed, computed: trimmed as ComputedValue, segments: [] };
    }
    return `unknown computed value "${trimmed}" (known: ${COMPUTED_VALUES.join(', ')})`;
  }
  const segments = parseSegments(trimmed);
  if (typeof segments === 'string') return segments;
  return { text: formatSegments(segments), computed: null, segments };
}

function parseSegments(text: string): PathSegment[] | string {
  const segments: PathSegment[] = [];
  let rest = text;
  let expectKey = true;
  while (rest.length > 0) {
    const key = expectKey ? KEY.exec(rest) : null;
    if (key) {
      segments.push({ key: key[0] });
      rest = rest.slice(key[0].length);
    } else if (!expectKey && rest.startsWith('.')) {
      rest = rest.slice(1);
      expectKey = true;
      continue;
    } else {
      const bracket = /^\[(\d*)\]/.exec(rest);
      if (!bracket || expectKey)
        return `"${text}" is not a valid path (write it like customerProfile.team[0].email)`;
      segments.push(bracket[1] === '' ? { each: true } : { index: Number(bracket[1]) });
      rest = rest.slice(bracket[0].length);
    }
    expectKey = false;
  }
  if (segments.length === 0 || expectKey)
    return `"${text}" is not a valid path (write it like customerProfile.team[0].email)`;
  return segments;
}

export function formatSegments(segments: readonly PathSegment[]): string {
  let text = '';
  for (const segment of segments) {
    if ('key' in segment) text += text === '' ? segment.key : `.${segment.key}`;
    else if ('index' in segment) text += `[${segment.index}]`;
    else text += '[]';
  }
  return text;
}

/**
 * Reads a path from a value; `[]` collects every item (missing ones dropped); anything absent gives
 * undefined.
 */
export function readPath(root: unknown, segments: readonly PathSegment[]): unknown {
  let current: unknown = root;
  for (const [position, segment] of segments.entries()) {
    if (current === null || current === undefined) return undefined;
    if ('each' in segment) {
      if (!Array.isArray(current)) return undefined;
      const rest = segments.slice(position + 1);
      return current.flatMap((item) => {
        const value = readPath(item, rest);
        return value === undefined || value === null ? [] : [value];
      });
    }
    if ('index' in segment) {
      current = Array.isArray(current) ? current[segment.index] : undefined;
    } else {
      current =
        typeof current === 'object' && !Array.isArray(current)
          ? (current as Record<string, unknown>)[segment.key]
          : undefined;
    }
  }
  return current;
}

/** What a path points at in the referral schema: a single value, a list of values, or a problem. */
export type PathShape = { kind: 'value' } | { kind: 'list' } | { kind: 'problem'; message: string };

/**
 * Checks a path against the referral schema's declared shape (objects declared without fields
 * accept any sub-path).
 */
export function referralPathShape(path: ValuePath): PathShape {
  if (path.computed) return { kind: 'value' };
  let schema: z.ZodType = referralSchema;
  let listed = false;
  for (const [position, segment] of path.segments.entries()) {
    schema = unwrap(schema);
    const here = formatSegments(path.segments.slice(0, position)) || 'the referral';
    if ('key' in segment) {
      if (schema instanceof z.ZodArray)
        return problem(`${here} is a list: pick an item, e.g. ${here}[0].${segment.key}`);
      if (!(schema instanceof z.ZodObject))
        return problem(`${here} is a single value and has no field "${segment.key}"`);
      const shape = schema.shape as Record<string, z.ZodType>;
      if (Object.keys(shape).length === 0) return { kind: listed ? 'list' : 'value' };
      const next = shape[segment.key];
      if (!next)
        return problem(
          `unknown referral field "${formatSegments(path.segments.slice(0, position + 1))}"` +
            `${suggest(segment.key, Object.keys(shape))}`,
        );
      schema = next;
    } else {
      if (!(schema instanceof z.ZodArray)) return problem(`${here} is not a list`);
      if ('each' in segment) listed = true;
      schema = schema.element as z.ZodType;
    }
  }
  return leafShape(unwrap(schema), path.text, listed);
}

function leafShape(schema: z.ZodType, text: string, listed: boolean): PathShape {
  if (schema instanceof z.ZodObject) {
    const fields = Object.keys(schema.shape as object);
    return problem(
      `${text} is an object: pick one of its fields${
        fields.length > 0 ? ` (` + `${fields.join(', ')})` : ''
      }`,
    );
  }
  if (schema instanceof z.ZodArray) {
    if (unwrap(schema.element as z.ZodType) instanceof z.ZodObject)
      return problem(`${text} is a list of objects: pick an item and a field, e.g. ${text}[0]...`);
    return { kind: 'list' };
  }
  return { kind: listed ? 'list' : 'value' };
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable)
    current = current.unwrap() as z.ZodType;
  return current;
}

function problem(message: string): PathShape {
  return { kind: 'problem', message };
}

/** ` (did you mean "x"?)` when a known name is within two edits of what was written. */
export function suggest(written: string, known: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(written.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
