// Reading record bodies the way Salesforce does: deserialisation (whole request) then field checks
// (per record).
import { formatDateTime, parseDateOnly, parseDateTime } from './dates.js';
import { SalesforceApiError, recordError, type RecordError } from './errors.js';
import { normaliseRecordId } from './ids.js';
import { findField, findObject, isTextType, type FieldSpec, type SObjectSpec } from './schema.js';

/**
 * A stored value: text, number, boolean, `YYYY-MM-DD` for dates, epoch ms for dateTimes, null when
 * empty.
 */
export type FieldValue = string | number | boolean | null;
/** A stored record: canonical field name → value; a missing field reads as null. */
export type SObjectRow = Readonly<Record<string, FieldValue>>;

/**
 * A record body after deserialisation: known fields in body order, the raw `Id` and
 * `attributes.type`.
 */
export interface RecordInput {
  fields: Array<[FieldSpec, FieldValue]>;
  id?: string;
  attributesType?: string;
}

/** Checks applied to the values of a record before a save. */
export interface FieldCheckContext {
  mode: 'create' | 'update';
  /** Whether a live record with this id exists (for reference fields). */
  exists: (id: string) => boolean;
  /** System writes (conversion, the simulator's CRM user) may set read-only fields. */
  asSystem?: boolean;
}

function jsonToken(value: unknown): string {
  if (typeof value === 'string') return 'VALUE_STRING';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'VALUE_NUMBER_INT' : 'VALUE_NUMBER_FLOAT';
  if (typeof value === 'boolean') return value ? 'VALUE_TRUE' : 'VALUE_FALSE';
  return Array.isArray(value) ? 'START_ARRAY' : 'START_OBJECT';
}

function parserError(typeName: string, value: unknown): SalesforceApiError {
  const shown = typeof value === 'object' ? '' : ` value ${String(value)}`;
  return new SalesforceApiError(
    400,
    'JSON_PARSER_ERROR',
    `Cannot deserialize instance of ${typeName} from ${jsonToken(value)}${shown} or request ` +
      `may be missing a required field`,
  );
}

/**
 * The stored form of one JSON value for a field, or a JSON_PARSER_ERROR as the platform's
 * deserialiser raises.
 */
function deserializeValue(field: FieldSpec, value: unknown): FieldValue {
  if (value === null) return null;
  switch (field.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw parserError('boolean', value);
      return value;
    case 'currency':
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw parserError('double', value);
      return Math.round(value * 10 ** field.scale) / 10 ** field.scale;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw parserError('int', value);
      return value;
    case 'date': {
      const date = typeof value === 'string' ? parseDateOnly(value) : null;
      if (date === null) throw parserError('date', value);
      return date;
    }
    case 'datetime': {
      const ms = typeof value === 'string' ? parseDateTime(value) : null;
      if (ms === null) throw parserError('datetime', value);
      return ms;
    }
    default:
      if (typeof value !== 'string') throw parserError('string', value);
      // The platform stores an empty text value as null.
      return value === '' ? null : value;
  }
}

/**
 * Deserialises one record body; unknown fields and wrongly typed JSON refuse the whole request
 * (400).
 */
export function deserializeRecord(object: SObjectSpec, body: unknown): RecordInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Cannot deserialize instance of ${object.name} from ${jsonToken(body)}`,
    );
  }
  const input: RecordInput = { fields: [] };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'attributes') {
      input.attributesType = attributesTypeOf(value);
      continue;
    }
    const field = findField(object, key);
    if (!field)
      throw new SalesforceApiError(
        400,
        'INVALID_FIELD',
        `No such column '${key}' on sobject of type ${object.name}`,
      );
    if (field.name === 'Id') {
      if (typeof value !== 'string') throw parserError('id', value);
      input.id = value;
      continue;
    }
    input.fields.push([field, deserializeValue(field, value)]);
  }
  return input;
}

function attributesTypeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw parserError('attributes', value);
  const type = (value as { type?: unknown }).type;
  if (type !== undefined && typeof type !== 'string') throw parserError('string', type);
  return type;
}

const EMAIL_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const EMAIL_PATTERN = new RegExp(
  "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@" + `${EMAIL_LABEL}(?:\\.${EMAIL_LABEL})+$`,
);

/**
 * The error a single value earns, or its stored form (references are normalised to 18 characters).
 */
function checkValue(
  field: FieldSpec,
  value: FieldValue,
  context: FieldCheckContext,
): RecordError | { value: FieldValue } {
  if (value === null) return { value };
  const { label, name } = field;
  if (isTextType(field.type) && typeof value === 'string') {
    if (
      field.picklist?.restricted &&
      !field.picklist.entries &&
      !field.picklist.values.includes(value)
    ) {
      return recordError(
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        `${label}: bad value for restricted picklist field: ${value}`,
        [name],
      );
    }
    if (value.length > field.length) {
      return recordError(
        'STRING_TOO_LONG',
        `${label}: data value too large: ${value} (max length=${field.length})`,
        [name],
      );
    }
    if (field.type === 'email' && !(EMAIL_PATTERN.test(value) && !value.includes('..'))) {
      return recordError('INVALID_EMAIL_ADDRESS', `${label}: invalid email address: ${value}`, [
        name,
      ]);
    }
  }
  if (
    typeof value === 'number' &&
    (field.type === 'currency' || field.type === 'double' || field.type === 'int')
  ) {
    const integerDigits = field.type === 'int' ? field.precision : field.precision - field.scale;
    if (Math.abs(value) >= 10 ** integerDigits) {
      return recordError(
        'NUMBER_OUTSIDE_VALID_RANGE',
        `${label}: value outside of valid range on numeric field: ${value}`,
        [name],
      );
    }
  }
  if (field.type === 'reference' && typeof value === 'string')
    return checkReference(field, value, context);
  return { value };
}

function checkReference(
  field: FieldSpec,
  value: string,
  context: FieldCheckContext,
): RecordError | { value: FieldValue } {
  const id = normaliseRecordId(value);
  const target = findObject(field.referenceTo ?? '');
  if (id === null || id.slice(0, 3) !== target?.keyPrefix) {
    return recordError('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, [
      field.name,
    ]);
  }
  if (!context.exists(id))
    return recordError(
      'INVALID_CROSS_REFERENCE_KEY',
      `${field.label}: invalid cross reference id`,
      [field.name],
    );
  return { value: id };
}

/**
 * The per-record checks of a save: read-only fields, then each value in body order, then required
 * fields.
 * Returns the first problem (as the platform reports one per record) or the stored values.
 */
export function checkRecordFields(
  object: SObjectSpec,
  input: RecordInput,
  context: FieldCheckContext,
): { ok: true; values: Record<string, FieldValue> } | { ok: false; error: RecordError } {
  if (!context.asSystem) {
    const locked = input.fields
      .map(([field]) => field)
      .filter((field) => !(context.mode === 'create' ? field.createable : field.updateable));
    if (locked.length > 0) {
      const names = locked.map((f) => f.name);
      return {
        ok: false,
        error: recordError('INVALID_FIELD_FOR_INSERT_UPDATE', lockedFieldsMessage(names), names),
      };
    }
  }
  const values: Record<string, FieldValue> = {};
  for (const [field, raw] of input.fields) {
    const checked = checkValue(field, raw, context);
    if ('statusCode' in checked) return { ok: false, error: checked };
    values[field.name] = checked.value;
  }
  const missing = object.fields
    .filter((f) => f.required)
    .filter((f) =>
      context.mode === 'create'
        ? (values[f.name] ?? null) === null
        : f.name in values && values[f.name] === null,
    )
    .map((f) => f.name);
  if (missing.length > 0) {
    return {
      ok: false,
      error: recordError(
        'REQUIRED_FIELD_MISSING',
        `Required fields are missing: [${missing.join(', ')}]`,
        missing,
      ),
    };
  }
  return { ok: true, values };
}

function lockedFieldsMessage(names: string[]): string {
  return (
    `Unable to create/update fields: ${names.join(', ')}. ` +
    'Please check the security settings of this field and verify that it is read/write for ' +
    'your profile or permission set.'
  );
}

/** The JSON form of a stored value (dateTimes as `...+0000`). */
export function toApiValue(field: FieldSpec, value: FieldValue | undefined): FieldValue {
  if (value === undefined || value === null) return null;
  if (field.type === 'datetime' && typeof value === 'number') return formatDateTime(value);
  return value;
}

/**
 * A stored record as the REST API shows it: `attributes` first, then the chosen fields in order.
 */
export function recordToJson(
  object: SObjectSpec,
  row: SObjectRow,
  fields: readonly FieldSpec[],
  version: string,
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    attributes: {
      type: object.name,
      url: `/services/data/v${version}/sobjects/${object.name}/${String(row.Id)}`,
    },
  };
  for (const field of fields) json[field.name] = toApiValue(field, row[field.name]);
  return json;
}
