// SOQL literals and the few statements the adapter sends: every value from outside is escaped here,
// nowhere else.
import { LeadbridgeError } from '../../core/errors.js';

/**
 * SOQL's backslash escapes inside a quoted string (the quote itself, backslash and control
 * characters).
 */
const STRING_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A SOQL string literal: `O'Brien \ Sons` → `'O\'Brien \\ Sons'`. */
export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (ch) => STRING_ESCAPES[ch] ?? ch)}'`;
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A SOQL dateTime literal, unquoted, in UTC with milliseconds (`2025-01-01T00:00:00.000Z`):
 * SystemModstamp has millisecond precision, so a cursor must keep it or `>` would re-read records.
 */
export function soqlDateTime(value: string, where: string): string {
  const ms =
    ISO_DATETIME.test(value) && isCalendarDay(value)
      ? Date.parse(normaliseZone(value))
      : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new LeadbridgeError(
      'VALIDATION_FAILED',
      `${where}: "${value}" is not an ISO-8601 date-time with a zone`,
    );
  }
  return new Date(ms).toISOString();
}

/**
 * Date.parse rolls 2025-02-30 over into March; a cursor like that is a bug upstream, not a date.
 */
function isCalendarDay(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(year, month - 1, day));
  return (
    probe.getUTCFullYear() === year &&
    probe.getUTCMonth() === month - 1 &&
    probe.getUTCDate() === day
  );
}

/** `+0000` (Salesforce's own form) → `+00:00`, which every Date.parse reads. */
function normaliseZone(value: string): string {
  return value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

/**
 * A record id literal: 15 or 18 letters and digits, quoted; anything else is refused rather than
 * sent.
 */
export function soqlId(value: string, where: string): string {
  if (!/^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$/.test(value)) {
    throw new LeadbridgeError(
      'VALIDATION_FAILED',
      `${where}: "${value}" is not a Salesforce record id`,
    );
  }
  return `'${value}'`;
}

/** `(lit1, lit2, ...)` for `IN`. */
export function soqlList(literals: readonly string[]): string {
  return `(${literals.join(', ')})`;
}

/**
 * A field API name given by configuration (the external id field); checked again since it is
 * spliced in unquoted.
 */
export function soqlFieldName(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw new LeadbridgeError('VALIDATION_FAILED', `"${name}" is not a Salesforce field API name`);
  }
  return name;
}

export interface SelectStatement {
  fields: readonly string[];
  from: string;
  where: readonly string[];
  orderBy?: string;
}

/**
 * `SELECT a, b FROM X WHERE c1 AND c2 [ORDER BY ...]`; conditions are built from the literal
 * helpers above.
 */
export function soqlSelect(statement: SelectStatement): string {
  const where = statement.where.length > 0 ? ` WHERE ${statement.where.join(' AND ')}` : '';
  const orderBy = statement.orderBy ? ` ORDER BY ${statement.orderBy}` : '';
  return (
    `SELECT ${[...new Set(statement.fields)].join(', ')} FROM ${statement.from}${where}` +
    `${orderBy}`
  );
}
