// OData URL pieces for the Dataverse Web API: literals, key segments, query strings, entity ids and
// error bodies.
import { LeadbridgeError } from '../../core/errors.js';

/** An OData string literal: single-quoted, with each quote doubled (`O'Brien` → `'O''Brien'`). */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The key segment of an alternate-key address, percent-encoded for a URL path:
 * `leads(lb_referralid='O''Brien')`.
 * encodeURIComponent leaves quotes alone and encodes spaces, slashes and the like.
 */
export function alternateKeyPath(entitySet: string, keyColumn: string, value: string): string {
  return `${entitySet}(${keyColumn}=${encodeURIComponent(stringLiteral(value))})`;
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A datetime literal for $filter: Dataverse wants it unquoted (`modifiedon gt
 * 2025-01-01T00:00:00Z`).
 */
export function dateTimeLiteral(value: string, where: string): string {
  if (!ISO_DATETIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw new LeadbridgeError(
      'VALIDATION_FAILED',
      `${where}: "${value}" is not an ISO-8601 date-time with a zone`,
    );
  }
  return value;
}

/** A GUID literal (unquoted in OData 4). */
export function guidLiteral(value: string, where: string): string {
  if (
    !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(value)
  ) {
    throw new LeadbridgeError('VALIDATION_FAILED', `${where}: "${value}" is not a GUID`);
  }
  return value;
}

/** `column eq 'a' or column eq 'b'` for a lookup by several values. */
export function anyOfFilter(column: string, literals: readonly string[]): string {
  return literals.map((literal) => `${column} eq ${literal}`).join(' or ');
}

/**
 * A query string with the option names kept readable ($select, $filter) and values percent-encoded
 * (spaces as %20, never `+`, so that datetime offsets and literals survive every parser).
 */
export function queryString(options: Record<string, string | undefined>): string {
  const pairs = Object.entries(options)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
}

/**
 * The record id from an `OData-EntityId` header (`https://org/api/data/v9.2/leads(00000000-...)`).
 */
export function entityIdFromUrl(entityUrl: string | undefined): string | undefined {
  const match =
    /\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$/.exec(
      entityUrl ?? '',
    );
  return match?.[1];
}

/** Reads `{"error":{"code","message"}}` from a body that may still be JSON text. */
export function parseDataverseError(body: unknown): { code?: string; message?: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() ? { message: body.trim().slice(0, 1024) } : {};
    }
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (!error || typeof error !== 'object') return {};
  return {
    code: typeof error.code === 'string' ? error.code : undefined,
    message: typeof error.message === 'string' ? error.message : undefined,
  };
}
