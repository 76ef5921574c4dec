// The transforms a mapping can chain on a value: how each is written in YAML, checked, applied and described.
import type {
  DateFormat,
  LookupFallback,
  LookupTable,
  Scalar,
  SimpleTransformName,
  TransformName,
  TransformStep,
} from './definition.js';
import { suggest } from './paths.js';
import { isKnownCountryCode } from './tables.js';

/** A value could not be transformed; map() collects it as the field's error instead of throwing further. */
class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

/** A problem in how a step is written; `at` continues the step's own path (e.g. ['lookup', 'US']). */
export interface StepProblem {
  at: Array<string | number>;
  message: string;
}

const SIMPLE: readonly SimpleTransformName[] = [
  'trim',
  'upper',
  'lower',
  'required',
  'number',
  'integer',
  'boolean',
  'email',
  'phone',
  'country',
];
const WITH_ARGUMENT = [
  'truncate',
  'default',
  'date',
  'lookup',
  'join',
  'replace',
  'prefix',
  'suffix',
] as const;
const TRANSFORM_NAMES: readonly TransformName[] = [...SIMPLE, ...WITH_ARGUMENT];
const DEFAULT_JOIN_SEPARATOR = ', ';

// ---------------------------------------------------------------- parsing

/**
 * Reads one step as written: `trim`, `{ truncate: 300 }`, `{ lookup: leadSource, fallback: keep }`, `join`
 * (separator ", "). `lookups` holds the named tables the step may use (the file's and the built-in ones).
 */
export function parseTransform(
  raw: unknown,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  if (typeof raw === 'string') return parseBareStep(raw);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [
      problem(
        [],
        `a transform is a name (trim) or a one-key mapping ({ truncate: 300 }), got ${show(raw)}`,
      ),
    ];
  }
  const keys = Object.keys(raw);
  const name = keys.find((key) => (TRANSFORM_NAMES as readonly string[]).includes(key));
  if (name === undefined) {
    const first = keys[0] ?? '';
    return [problem([], keys.length === 0 ? 'empty transform {}' : unknownTransform(first))];
  }
  const allowed = name === 'lookup' ? ['lookup', 'fallback'] : [name];
  const extra = keys.filter((key) => !allowed.includes(key));
  if (extra.length > 0)
    return extra.map((key) => problem([key], `unexpected key "${key}" in transform "${name}"`));
  const argument = (raw as Record<string, unknown>)[name];
  if ((SIMPLE as readonly string[]).includes(name)) {
    return [problem([name], `transform "${name}" takes no argument: write it as ${name}`)];
  }
  return parseArgument(
    name as (typeof WITH_ARGUMENT)[number],
    argument,
    raw as Record<string, unknown>,
    lookups,
  );
}

function parseBareStep(name: string): TransformStep | StepProblem[] {
  if ((SIMPLE as readonly string[]).includes(name))
    return { transform: name as SimpleTransformName };
  if (name === 'join') return { transform: 'join', separator: DEFAULT_JOIN_SEPARATOR };
  if ((WITH_ARGUMENT as readonly string[]).includes(name)) {
    return [
      problem(
        [],
        `transform "${name}" needs an argument, e.g. ${EXAMPLES[name as (typeof WITH_ARGUMENT)[number]]}`,
      ),
    ];
  }
  return [problem([], unknownTransform(name))];
}

const EXAMPLES: Readonly<Record<(typeof WITH_ARGUMENT)[number], string>> = {
  truncate: '{ truncate: 100 }',
  default: '{ default: "(unknown)" }',
  date: '{ date: YYYY-MM-DD }',
  lookup: '{ lookup: leadSource }',
  join: '{ join: ", " }',
  replace: '{ replace: { pattern: "\\\\s+", with: " " } }',
  prefix: '{ prefix: "PC-" }',
  suffix: '{ suffix: " (Partner Center)" }',
};

function unknownTransform(name: string): string {
  return `unknown transform "${name}"${suggest(name, TRANSFORM_NAMES)}`;
}

function parseArgument(
  name: (typeof WITH_ARGUMENT)[number],
  argument: unknown,
  step: Record<string, unknown>,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  switch (name) {
    case 'truncate':
      return Number.isInteger(argument) && (argument as number) > 0
        ? { transform: 'truncate', length: argument as number }
        : [problem([name], `truncate needs a positive whole number, got ${show(argument)}`)];
    case 'default':
      return isScalar(argument) && argument !== null
        ? { transform: 'default', value: argument }
        : [problem([name], `default needs a text, number or boolean value, got ${show(argument)}`)];
    case 'date':
      return argument === 'YYYY-MM-DD' || argument === 'iso'
        ? { transform: 'date', format: argument as DateFormat }
        : [problem([name], `date format must be "YYYY-MM-DD" or "iso", got ${show(argument)}`)];
    case 'lookup':
      return parseLookupStep(argument, step, lookups);
    case 'join':
      return typeof argument === 'string'
        ? { transform: 'join', separator: argument }
        : [problem([name], `join needs a separator text, got ${show(argument)}`)];
    case 'replace':
      return parseReplace(argument);
    case 'prefix':
    case 'suffix':
      return typeof argument === 'string' && argument !== ''
        ? { transform: name, text: argument }
        : [problem([name], `${name} needs a non-empty text, got ${show(argument)}`)];
  }
}

function parseReplace(argument: unknown): TransformStep | StepProblem[] {
  if (argument === null || typeof argument !== 'object' || Array.isArray(argument)) {
    return [problem(['replace'], `replace needs { pattern, with }, got ${show(argument)}`)];
  }
  const { pattern, with: replacement, ...rest } = argument as Record<string, unknown>;
  const problems = Object.keys(rest).map((key) =>
    problem(['replace', key], `unexpected key "${key}" in replace (use pattern and with)`),
  );
  if (typeof pattern !== 'string' || pattern === '') {
    problems.push(
      problem(
        ['replace', 'pattern'],
        `replace needs a pattern (a regular expression text), got ${show(pattern)}`,
      ),
    );
  } else {
    const invalid = regexProblem(pattern);
    if (invalid)
      problems.push(
        problem(
          ['replace', 'pattern'],
          `replace pattern /${pattern}/ is not a valid regular expression: ${invalid}`,
        ),
      );
  }
  if (replacement !== undefined && typeof replacement !== 'string') {
    problems.push(
      problem(['replace', 'with'], `replace "with" must be a text, got ${show(replacement)}`),
    );
  }
  if (problems.length > 0 || typeof pattern !== 'string') return problems;
  return {
    transform: 'replace',
    pattern,
    with: typeof replacement === 'string' ? replacement : '',
  };
}

function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern, 'g');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function parseLookupStep(
  argument: unknown,
  step: Record<string, unknown>,
  lookups: Readonly<Record<string, LookupTable>>,
): TransformStep | StepProblem[] {
  const table = typeof argument === 'string' ? lookups[argument] : undefined;
  const problems: StepProblem[] = [];
  let resolved: LookupTable | null = table ?? null;
  if (typeof argument === 'string' && !table) {
    const known = Object.keys(lookups).sort();
    problems.push(
      problem(
        ['lookup'],
        `unknown lookup "${argument}"${suggest(argument, known)} (known: ${known.join(', ')})`,
      ),
    );
  } else if (typeof argument !== 'string') {
    const inline = parseLookupTable(argument, null);
    if (Array.isArray(inline))
      problems.push(...inline.map((p) => ({ at: ['lookup', ...p.at], message: p.message })));
    else resolved = inline;
  }
  const fallback = parseFallback(step);
  if (!isFallback(fallback)) problems.push(fallback);
  if (problems.length > 0 || resolved === null || !isFallback(fallback)) return problems;
  return { transform: 'lookup', table: resolved, fallback };
}

function isFallback(
  fallback: LookupFallback | null | StepProblem,
): fallback is LookupFallback | null {
  return fallback === null || fallback === 'keep' || !('message' in fallback);
}

/** `fallback: keep` keeps the input on a miss; any other scalar (null included) is the value a miss gives. */
function parseFallback(step: Record<string, unknown>): LookupFallback | null | StepProblem {
  if (!Object.hasOwn(step, 'fallback')) return null;
  const fallback = step['fallback'];
  if (fallback === 'keep') return 'keep';
  if (isScalar(fallback)) return { value: fallback };
  return problem(
    ['fallback'],
    `lookup fallback must be keep, null or a text, number or boolean value, got ${show(fallback)}`,
  );
}

/**
 * A lookup table: a mapping of key → scalar, where a `default` key is what a miss gives; or, when `default` must be
 * an ordinary key, `{ values: {...}, default: V }`. Results are scalars, so a `values:` key holding a mapping is
 * unambiguous.
 */
export function parseLookupTable(raw: unknown, name: string | null): LookupTable | StepProblem[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [problem([], `a lookup table is a mapping of value → result, got ${show(raw)}`)];
  }
  const record = raw as Record<string, unknown>;
  const structured =
    record['values'] !== null &&
    typeof record['values'] === 'object' &&
    !Array.isArray(record['values']);
  const { default: fallback, ...plain } = record;
  const entries = (structured ? record['values'] : plain) as Record<string, unknown>;
  const prefix = structured ? ['values'] : [];
  const problems: StepProblem[] = structured
    ? Object.keys(record)
        .filter((key) => key !== 'values' && key !== 'default')
        .map((key) =>
          problem([key], `unexpected key "${key}" in lookup table (use values and default)`),
        )
    : [];
  for (const [key, value] of Object.entries(entries)) {
    if (!isScalar(value))
      problems.push(
        problem(
          [...prefix, key],
          `lookup result must be a text, number, boolean or null, got ${show(value)}`,
        ),
      );
  }
  const hasDefault = Object.hasOwn(record, 'default');
  if (hasDefault && !isScalar(fallback))
    problems.push(
      problem(
        ['default'],
        `lookup default must be a text, number, boolean or null, got ${show(fallback)}`,
      ),
    );
  if (Object.keys(entries).length === 0 && !hasDefault)
    problems.push(problem(prefix, 'lookup table is empty'));
  if (problems.length > 0) return problems;
  return {
    name,
    entries: entries as Record<string, Scalar>,
    miss: hasDefault ? { value: fallback as Scalar } : null,
    builtIn: false,
  };
}

// ---------------------------------------------------------------- applying

/**
 * Applies one step. Empty values (undefined, null, '') pass through every step except default and required;
 * single-value steps apply to each item of a list; join turns a list into text. Throws TransformError.
 * `source` names where the value came from, for the required message.
 */
export function applyTransform(
  value: unknown,
  step: TransformStep,
  source = 'the source',
): unknown {
  switch (step.transform) {
    case 'default':
      return isEmpty(value) ? step.value : value;
    case 'required':
      if (isEmpty(value)) throw new TransformError(`value is required but ${source} is empty`);
      return value;
    case 'join':
      return join(value, step.separator);
    default:
      return eachItem(value, (item) => applyToItem(item, step));
  }
}

function applyToItem(value: unknown, step: TransformStep): unknown {
  switch (step.transform) {
    case 'trim':
      return text(value, step.transform).trim();
    case 'upper':
      return text(value, step.transform).toUpperCase();
    case 'lower':
      return text(value, step.transform).toLowerCase();
    case 'truncate':
      return truncate(text(value, step.transform), step.length);
    case 'number':
      return toNumber(value);
    case 'integer':
      return toInteger(value);
    case 'boolean':
      return toBoolean(value);
    case 'date':
      return toDate(value, step.format);
    case 'lookup':
      return lookup(value, step.table, step.fallback);
    case 'replace':
      return text(value, step.transform).replace(new RegExp(step.pattern, 'g'), step.with);
    case 'prefix':
      return step.text + text(value, step.transform);
    case 'suffix':
      return text(value, step.transform) + step.text;
    case 'email':
      return toEmail(value);
    case 'phone':
      return toPhone(value);
    case 'country':
      return toCountry(value);
    default:
      throw new TransformError(`transform "${step.transform}" cannot be applied here`);
  }
}

/** The label a trace shows for a step: `truncate 300`, `lookup leadSource`. */
export function describeTransform(step: TransformStep): string {
  switch (step.transform) {
    case 'truncate':
      return `truncate ${step.length}`;
    case 'default':
      return `default ${JSON.stringify(step.value)}`;
    case 'date':
      return `date ${step.format}`;
    case 'lookup':
      return `lookup ${step.table.name ?? '(inline)'}${step.fallback === null ? '' : ` fallback ${step.fallback === 'keep' ? 'keep' : JSON.stringify(step.fallback.value)}`}`;
    case 'join':
      return `join ${JSON.stringify(step.separator)}`;
    case 'replace':
      return `replace /${step.pattern}/ with ${JSON.stringify(step.with)}`;
    case 'prefix':
    case 'suffix':
      return `${step.transform} ${JSON.stringify(step.text)}`;
    default:
      return step.transform;
  }
}

export function isEmpty(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    (Array.isArray(value) && value.length === 0)
  );
}

function eachItem(value: unknown, apply: (item: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => eachItem(item, apply));
  return value === undefined || value === null || value === '' ? value : apply(value);
}

function text(value: unknown, transform: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TransformError(`${transform} expects text, got ${show(value)}`);
}

/** Cuts to at most `length` UTF-16 code units (how the CRMs count), stepping back rather than splitting a surrogate pair. */
function truncate(value: string, length: number): string {
  if (value.length <= length) return value;
  const last = value.charCodeAt(length - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? length - 1 : length;
  return value.slice(0, end);
}

// Plain digits or comma-grouped thousands, with an optional decimal part: "10000", "1,250.50", "-3.5".
const NUMERIC_TEXT = /^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?$/;

function toNumber(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (NUMERIC_TEXT.test(trimmed) && /\d/.test(trimmed))
      return Number(trimmed.replaceAll(',', ''));
  }
  throw new TransformError(`${show(value)} is not a number`);
}

function toInteger(value: unknown): number {
  let number: number;
  try {
    number = toNumber(value);
  } catch {
    throw new TransformError(`${show(value)} is not an integer`);
  }
  if (!Number.isSafeInteger(number)) throw new TransformError(`${show(value)} is not an integer`);
  return number;
}

const TRUE_TEXT = new Set(['true', 'yes', 'y', '1', 'on']);
const FALSE_TEXT = new Set(['false', 'no', 'n', '0', 'off']);

function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string') {
    const lowered = value.trim().toLowerCase();
    if (TRUE_TEXT.has(lowered)) return true;
    if (FALSE_TEXT.has(lowered)) return false;
  }
  throw new TransformError(`${show(value)} is not a boolean`);
}

// A date, or a date-time with up to 7 fractional digits (Partner Center's form); no offset means UTC.
const ISO_INPUT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

function toDate(value: unknown, format: DateFormat): string {
  const match = typeof value === 'string' ? ISO_INPUT.exec(value.trim()) : null;
  if (!match) throw new TransformError(`${show(value)} is not an ISO-8601 date`);
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '0', offset = 'Z'] =
    match;
  const midnight = Date.UTC(Number(year), Number(month) - 1, Number(day));
  const calendar = new Date(midnight);
  const validDay =
    calendar.getUTCFullYear() === Number(year) &&
    calendar.getUTCMonth() === Number(month) - 1 &&
    calendar.getUTCDate() === Number(day);
  if (!validDay || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    throw new TransformError(`${show(value)} is not an ISO-8601 date`);
  }
  if (match[4] === undefined && format === 'YYYY-MM-DD') return `${year}-${month}-${day}`;
  const offsetMinutes =
    offset === 'Z'
      ? 0
      : (offset.startsWith('-') ? -1 : 1) *
        (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const milliseconds = Number(fraction.padEnd(3, '0').slice(0, 3));
  const instant = new Date(
    midnight +
      ((Number(hour) * 60 + Number(minute) - offsetMinutes) * 60 + Number(second)) * 1000 +
      milliseconds,
  );
  return format === 'iso' ? instant.toISOString() : instant.toISOString().slice(0, 10);
}

function lookup(value: unknown, table: LookupTable, fallback: LookupFallback | null): unknown {
  if (value !== null && typeof value === 'object')
    throw new TransformError(`lookup expects a single value, got ${show(value)}`);
  const key = String(value);
  if (Object.hasOwn(table.entries, key)) return table.entries[key];
  if (fallback === 'keep') return value;
  if (fallback !== null) return fallback.value;
  if (table.miss !== null) return table.miss.value;
  const keys = Object.keys(table.entries);
  const known = keys.length <= 12 ? ` (known: ${keys.join(', ')})` : '';
  const where = table.name === null ? 'the inline lookup' : `lookup ${table.name}`;
  throw new TransformError(`${show(value)} is not in ${where}${known}`);
}

function join(value: unknown, separator: string): unknown {
  if (!Array.isArray(value)) return value;
  const parts = value.flat(Infinity).filter((item) => !isEmpty(item));
  return parts.map((item) => text(item, 'join')).join(separator);
}

// Deliberately plain: a local part without spaces or brackets, and a dotted domain of letters, digits and hyphens.
const EMAIL =
  /^[^\s@"(),:;<>[\]\\]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+$/u;

function toEmail(value: unknown): string {
  const trimmed = typeof value === 'string' ? value.trim() : null;
  if (trimmed === null || !EMAIL.test(trimmed))
    throw new TransformError(`${show(value)} is not a valid email address`);
  return trimmed;
}

function toPhone(value: unknown): string {
  const normalised = text(value, 'phone').replace(/\s+/gu, ' ').trim();
  if (!/\d/.test(normalised)) throw new TransformError(`${show(value)} is not a phone number`);
  return normalised;
}

function toCountry(value: unknown): string {
  const code = text(value, 'country').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code))
    throw new TransformError(`${show(value)} is not a 2-letter ISO 3166 country code`);
  if (!isKnownCountryCode(code))
    throw new TransformError(`${show(value)} is not a known ISO 3166 country code`);
  return code;
}

// ---------------------------------------------------------------- helpers

export function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** A value as an error message shows it: texts quoted, long ones cut. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const shown =
    typeof value === 'string'
      ? JSON.stringify(value)
      : Array.isArray(value)
        ? `a list ${JSON.stringify(value)}`
        : typeof value === 'object' && value !== null
          ? `an object ${JSON.stringify(value)}`
          : String(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

function problem(at: Array<string | number>, message: string): StepProblem {
  return { at, message };
}
