// Request checks for the Web API: OData versions, Prefer, JSON bodies, eTag lists, keys in bodies.
import { invalidArgument, odataError, unsupportedMediaType } from './errors.js';
import type { DataverseCall, Preferences } from './api.js';
import type { RecordKey } from './paths.js';
import type { TableSpec } from './schema.js';
import { readColumnValue, type Row, type RowValue } from './values.js';

/** OData-Version and OData-MaxVersion, when sent, must name 4.0. */
export function checkODataVersions(headers: Record<string, string>): void {
  for (const [name, label] of [
    ['odata-version', 'OData-Version'],
    ['odata-maxversion', 'OData-MaxVersion'],
  ] as const) {
    const value = headers[name];
    if (value !== undefined && value.trim() !== '4.0') {
      throw odataError(
        `The value '${value}' of the ${label} header is not supported: this service speaks ` +
          `OData 4.0, so send '4.0'.`,
      );
    }
  }
}

/** Reads `Prefer` (several preferences, comma-separated, possibly over several headers). */
export function preferencesOf(headers: Record<string, string>): Preferences {
  const preferences: Preferences = { returnRepresentation: false, continueOnError: false };
  for (const item of (headers.prefer ?? '').split(',')) {
    const [name = '', value = ''] = item
      .split('=')
      .map((part) => part.trim().replace(/^"(.*)"$/, '$1'));
    const lower = name.toLowerCase();
    if (lower === 'return' && value.toLowerCase() === 'representation')
      preferences.returnRepresentation = true;
    if (lower === 'odata.continue-on-error' && value.toLowerCase() !== 'false')
      preferences.continueOnError = true;
    if (lower === 'odata.maxpagesize') preferences.maxPageSize = readPageSize(value);
  }
  return preferences;
}

function readPageSize(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) === 0)
    throw odataError(
      `The odata.maxpagesize preference must be a positive integer, not '${value}'.`,
    );
  return Number(value);
}

/**
 * The parsed JSON body; refuses a missing body, a body that is not JSON, and one sent with another
 * Content-Type.
 */
export function requiredBody(call: DataverseCall): unknown {
  const contentType = call.headers['content-type'] ?? '';
  if (call.rawBody.trim() === '')
    throw invalidArgument(`${call.method} ${call.resource} needs a JSON body.`);
  if (!/^application\/json\s*(;|$)/i.test(contentType)) throw unsupportedMediaType(contentType);
  try {
    return JSON.parse(call.rawBody);
  } catch (error) {
    throw invalidArgument(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Whether an `If-Match` / `If-None-Match` list (`W/"12"`, `"12"`, `*`) names the row's current
 * version.
 */
export function etagListMatches(header: string | undefined, row: Row): boolean {
  if (header === undefined) return false;
  const version = String(row.versionnumber);
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === `"${version}"`;
  });
}

/** A body may repeat the key it is addressed by, but not contradict it. */
export function checkKeyInBody(
  table: TableSpec,
  key: RecordKey,
  values: Record<string, RowValue>,
): void {
  for (const [name, keyValue] of Object.entries(keyValues(table, key))) {
    const given = values[name];
    if (given === undefined) continue;
    if (
      typeof given !== 'string' ||
      typeof keyValue !== 'string' ||
      given.toLowerCase() !== keyValue.toLowerCase()
    ) {
      throw invalidArgument(
        `The ${name} in the body ('${String(given)}') differs from the key in the URL ('` +
          `${String(keyValue)}').`,
      );
    }
  }
}

/** The column values a key sets on a record created by upsert. */
export function keyValues(table: TableSpec, key: RecordKey): Record<string, RowValue> {
  if (key.kind === 'id') return { [table.primaryKey]: key.id };
  const values: Record<string, RowValue> = {};
  for (const [name, value] of Object.entries(key.values)) {
    const column = table.columns[name];
    values[name] = column
      ? readColumnValue(
          table,
          name,
          column,
          name === table.primaryKey ? value.toLowerCase() : value,
        )
      : value;
  }
  return values;
}
