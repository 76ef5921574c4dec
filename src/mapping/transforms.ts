// The transforms a mapping chains on a value: applied and described (transform-parse.ts reads
// them).
import type {
  DateFormat,
  LookupFallback,
  LookupTable,
  Scalar,
  TransformStep,
} from './definition.js';
import { isKnownCountryCode } from './tables.js';

/**
 * A value could not be transformed; map() collects it as the field's error instead of throwing
 * further.
 */
class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

// ---------------------------------------------------------------- applying

/**
 * Applies one step. Empty values (undefined, null, '') pass through every step except default and
 * required;
 * single-value steps apply to each item of a list; join turns a list into text. Throws
 * TransformError.
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
      return (
        `lookup ${step.table.name ?? '(inline)'}` +
        `${
          step.fallback === null
            ? ''
            : ` fallback ` +
              `${step.fallback === 'keep' ? 'keep' : JSON.stringify(step.fallback.value)}`
        }`
      );
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

/**
 * Cuts to at most `length` UTF-16 code units (how the CRMs count), stepping back rather than
 * splitting a surrogate pair.
 */
function truncate(value: string, length: number): string {
  if (value.length <= length) return value;
  const last = value.charCodeAt(length - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? length - 1 : length;
  return value.slice(0, end);
}

// Plain digits or comma-grouped thousands, with an optional decimal part: "10000", "1,250.50",
// "-3.5".
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

// A date, or a date-time with up to 7 fractional digits (Partner Center's form); no offset means
// UTC.
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

// Deliberately plain: a local part without spaces or brackets, and a dotted domain of letters,
// digits and hyphens.
const EMAIL_LABEL = String.raw`[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?`;
const EMAIL = new RegExp(
  String.raw`^[^\s@"(),:;<>[\]\\]+@` + `${EMAIL_LABEL}(?:\\.${EMAIL_LABEL})+$`,
  'u',
);

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
