// Turns zod issues into leadbridge Issues: readable messages, `targets[1].settings.url` paths,
// file:line.
import type { z } from 'zod';
import type { Issue } from '../core/errors.js';
import { isSecretKey } from './describe.js';
import type { ConfigPath } from './interpolate.js';

/** `['targets', 1, 'settings', 'url']` → `targets[1].settings.url`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, segment) => {
    if (typeof segment === 'number') return `${text}[${segment}]`;
    const name = String(segment);
    return text === '' ? name : `${text}.${name}`;
  }, '');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

const EXPECTED_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
};

function rangeMessage(origin: string, bound: 'at least' | 'at most', limit: unknown): string {
  if (origin === 'string' && bound === 'at least' && Number(limit) === 1)
    return 'must not be empty';
  if (origin === 'array')
    return `must list ${bound} ${String(limit)} item${Number(limit) === 1 ? '' : 's'}`;
  if (origin === 'string') return `must be ${bound} ${String(limit)} characters`;
  return `must be ${bound} ${String(limit)}`;
}

// The keys a strict object allows, read from the schema that raised the issue.
function allowedKeys(schema: unknown): string[] {
  const shape = (schema as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)
    ?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The zod error map used for config files: short messages an admin can act on. */
export function configErrorMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return (
        `expected ${EXPECTED_NAMES[issue.expected] ?? issue.expected}, got ` +
        `${describeValue(issue.input)}`
      );
    case 'invalid_format':
      if (issue.format === 'url')
        return `expected an http(s) URL, got ${describeValue(issue.input)}`;
      return undefined;
    case 'invalid_value':
      return (
        `expected ${issue.values.map((v) => String(v)).join(' | ')}, got ` +
        `${describeValue(issue.input)}`
      );
    case 'too_small':
      return rangeMessage(issue.origin, 'at least', issue.minimum);
    case 'too_big':
      return rangeMessage(issue.origin, 'at most', issue.maximum);
    case 'invalid_union': {
      if (issue.discriminator === undefined) return undefined;
      const given = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
      const options = ((issue as { options?: unknown[] }).options ?? [])
        .map((option) => String(option))
        .join(', ');
      if (given === undefined) return `required (one of: ${options})`;
      return `unknown ${issue.discriminator} ${describeValue(given)} (expected one of: ${options})`;
    }
    case 'unrecognized_keys':
      return `allowed keys: ${allowedKeys(issue.inst).join(', ')}`;
    default:
      return undefined;
  }
}

/**
 * Finds the line of a path in the source document (the nearest existing ancestor when the key is
 * absent).
 */
export type LineLocator = (path: ConfigPath) => number | undefined;

/** One Issue per problem (one per unknown key), with the file and line when known. */
export function toIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  locate: LineLocator,
  file?: string,
): Issue[] {
  const issues: Issue[] = [];
  const add = (path: ConfigPath, message: string) => {
    const line = locate(path);
    issues.push({
      path: formatPath(path),
      message,
      ...(file ? { file } : {}),
      ...(line ? { line } : {}),
    });
  };
  for (const zodIssue of zodIssues) {
    const path = zodIssue.path.map((segment) =>
      typeof segment === 'number' ? segment : String(segment),
    );
    if (zodIssue.code === 'unrecognized_keys') {
      for (const key of zodIssue.keys) add([...path, key], `unknown key (${zodIssue.message})`);
    } else {
      // A wrongly typed secret must not end up in a terminal or a CI log.
      add(
        path,
        isSecretKey(path.at(-1)) ? zodIssue.message.replace(/, got .*$/s, '') : zodIssue.message,
      );
    }
  }
  return issues;
}

/** Issues in document order, so the list reads top to bottom like the file. */
export function sortIssues(issues: Issue[]): Issue[] {
  return [...issues].sort(
    (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
  );
}
