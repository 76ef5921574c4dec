// Reads a JSON record body against a table's columns: unknown and read-only names, types, lengths,
// option values, binds.
import {
  cannotConvert,
  invalidArgument,
  outOfRange,
  readOnlyProperty,
  stringTooLong,
  unknownBodyProperty,
} from './errors.js';
import { GUID_PATTERN } from './paths.js';
import { columnByBind, edmType, typeName, type ColumnSpec, type TableSpec } from './schema.js';

export type RowValue = string | number | boolean | null;

/** One stored record, keyed by Web API property names (lookups as `_<name>_value`). */
export type Row = Readonly<Record<string, RowValue>>;

/**
 * Turns an `@odata.bind` reference into the id of an existing record (throws when it names none).
 */
export type BindResolver = (column: ColumnSpec, reference: string) => string;

const MONEY_LIMIT = 922_337_203_685_477;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validated column values of a body, keyed by read names; lookups already resolved to ids. */
export function readRecordBody(
  table: TableSpec,
  body: unknown,
  resolveBind: BindResolver,
): Record<string, RowValue> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidArgument(
      `The request body must be a JSON object describing a ${table.logicalName}.`,
    );
  }
  const values: Record<string, RowValue> = {};
  for (const [name, value] of Object.entries(body)) {
    if (name === '@odata.type') {
      checkTypeAnnotation(table, value);
    } else if (name.endsWith('@odata.bind')) {
      const [property, id] = readBind(
        table,
        name.slice(0, -'@odata.bind'.length),
        value,
        resolveBind,
      );
      values[property] = id;
    } else {
      const column = table.columns[name];
      if (!column || column.type === 'lookup') throw unknownBodyProperty(table, name);
      if (column.readOnly) throw readOnlyProperty(table, name);
      values[name] = readColumnValue(table, name, column, value);
    }
  }
  return values;
}

function checkTypeAnnotation(table: TableSpec, value: unknown): void {
  const expected = typeName(table);
  if (value !== expected && value !== `#${expected}`) {
    throw invalidArgument(
      `The @odata.type '${String(value)}' does not match the entity set's type '${expected}'.`,
    );
  }
}

function readBind(
  table: TableSpec,
  navigation: string,
  value: unknown,
  resolveBind: BindResolver,
): [string, string] {
  const found = columnByBind(table, navigation);
  if (!found) throw unknownBodyProperty(table, navigation);
  const [property, column] = found;
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidArgument(
      `'${navigation}@odata.bind' must be a reference such as '/${column.target}(<id>)'.`,
    );
  }
  return [property, resolveBind(column, value.trim())];
}

/** Checks one value against its column's type and limits; null clears any nullable column. */
export function readColumnValue(
  table: TableSpec,
  name: string,
  column: ColumnSpec,
  value: unknown,
): RowValue {
  if (value === null) {
    if (column.type === 'state' || column.type === 'status' || column.type === 'guid')
      throw cannotConvert('null', edmType(column), name);
    return null;
  }
  switch (column.type) {
    case 'string':
      return readString(table, name, column, value);
    case 'guid':
      if (typeof value !== 'string' || !GUID_PATTERN.test(value))
        throw cannotConvert(literalOf(value), 'Edm.Guid', name);
      return value.toLowerCase();
    case 'money':
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw cannotConvert(literalOf(value), 'Edm.Decimal', name);
      if (Math.abs(value) > MONEY_LIMIT)
        throw invalidArgument(
          `The value ${value} of '${name}' is outside the range of a money column (±` +
            `${MONEY_LIMIT}).`,
        );
      return value;
    case 'date':
      if (typeof value !== 'string' || !isDateOnly(value))
        throw cannotConvert(literalOf(value), 'Edm.Date', name);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw cannotConvert(literalOf(value), 'Edm.Boolean', name);
      return value;
    case 'picklist':
      if (!Number.isInteger(value)) throw cannotConvert(literalOf(value), 'Edm.Int32', name);
      if (!column.options?.includes(value as number))
        throw outOfRange(table, name, value, column.options ?? []);
      return value as number;
    case 'state':
    case 'status':
      if (!Number.isInteger(value)) throw cannotConvert(literalOf(value), 'Edm.Int32', name);
      return value as number;
    default:
      throw unknownBodyProperty(table, name);
  }
}

function readString(table: TableSpec, name: string, column: ColumnSpec, value: unknown): string {
  if (typeof value !== 'string') throw cannotConvert(literalOf(value), 'Edm.String', name);
  if (column.maxLength !== undefined && value.length > column.maxLength)
    throw stringTooLong(table, name, column.maxLength);
  return value;
}

/** `YYYY-MM-DD` naming a real calendar day. */
export function isDateOnly(value: string): boolean {
  const match = DATE_ONLY.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  );
}

function literalOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
