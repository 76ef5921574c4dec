// What the ledger's repositories share: which database a handle talks to, batch sizes, timestamps,
// error wrapping.
import type { Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';

export type LedgerClient = 'sqlite' | 'pg';

/**
 * Which database a knex instance or transaction talks to (transactions carry their client's
 * dialect).
 */
export function clientOf(db: Knex): LedgerClient {
  const dialect = (db.client as { dialect?: string }).dialect;
  return dialect === 'postgresql' ? 'pg' : 'sqlite';
}

/**
 * Bound parameters one statement may carry. 999 is the smallest limit any SQLite build has ever
 * had,
 * PostgreSQL allows 65535; staying well under both keeps statements cheap to parse.
 */
const PARAMETER_BUDGET: Record<LedgerClient, number> = { sqlite: 999, pg: 10_000 };
/**
 * knex builds SQLite multi-row inserts from `UNION ALL` selects, and SQLite caps compound selects
 * at 500 terms.
 */
const SQLITE_MAX_ROWS_PER_INSERT = 400;

/** How many rows of `columnsPerRow` columns fit in one insert. */
export function rowsPerInsert(db: Knex, columnsPerRow: number): number {
  const client = clientOf(db);
  const byBudget = Math.max(1, Math.floor(PARAMETER_BUDGET[client] / Math.max(1, columnsPerRow)));
  return client === 'sqlite' ? Math.min(byBudget, SQLITE_MAX_ROWS_PER_INSERT) : byBudget;
}

/** How many values fit in one `IN (...)` list next to `otherParameters` other bindings. */
export function idsPerQuery(db: Knex, otherParameters = 4): number {
  return PARAMETER_BUDGET[clientOf(db)] - otherParameters;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size)
    chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Distinct values in first-seen order. */
export function distinct<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** The ledger's own bookkeeping time (updated_at, created_at) as ISO-8601 text. */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Normalises a timestamp the ledger compares (next_retry_at, since, now) to the one ISO-8601 form
 * `YYYY-MM-DDTHH:mm:ss.sssZ`, so that text comparison orders them the same on SQLite and
 * PostgreSQL.
 */
export function toIsoTimestamp(value: string, what: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new LeadbridgeError('LEDGER_ERROR', `${what}: "${value}" is not an ISO-8601 timestamp`);
  }
  return new Date(time).toISOString();
}

export function toJsonText(value: Record<string, unknown> | null | undefined): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function fromJsonText(text: unknown, what: string): Record<string, unknown> | null {
  if (text === null || text === undefined) return null;
  if (typeof text === 'object') return text as Record<string, unknown>;
  try {
    return JSON.parse(String(text)) as Record<string, unknown>;
  } catch (error) {
    throw new LeadbridgeError('LEDGER_ERROR', `${what}: stored JSON cannot be parsed`, {
      cause: error,
    });
  }
}

/**
 * `column IN (claim subquery)` evaluated exactly once. PostgreSQL may re-run an `IN (… LIMIT n FOR
 * UPDATE SKIP LOCKED)`
 * subquery per row and so claim more than n rows; `= ANY(ARRAY(…))` makes it a one-off init plan.
 * SQLite runs a non-correlated IN subquery once anyway.
 */
export function whereInClaimed(
  db: Knex,
  query: Knex.QueryBuilder,
  column: string,
  claim: Knex.QueryBuilder,
): Knex.QueryBuilder {
  if (clientOf(db) === 'pg') return query.whereRaw('?? = any(array(?))', [column, claim]);
  return query.whereIn(column, claim);
}

/** PostgreSQL returns counts and bigint ids as strings. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * Driver errors that a later attempt may get past (busy file, lost connection, serialisation
 * failure).
 */
const RETRYABLE_DRIVER_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  '40001',
  '40P01',
  '57P01',
  'ECONNRESET',
  'ECONNREFUSED',
]);

/**
 * Runs one repository operation, turning driver errors into LEDGER_ERROR that name the operation.
 */
export async function ledgerOperation<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof LeadbridgeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    throw new LeadbridgeError('LEDGER_ERROR', `ledger ${operation} failed: ${message}`, {
      cause: error,
      retryable: typeof code === 'string' && RETRYABLE_DRIVER_CODES.has(code),
      providerCode: typeof code === 'string' ? code : undefined,
    });
  }
}

/** Rows per (target, state) of a query on a table with those columns, ordered by both. */
export async function countPerTargetAndState<S extends string>(
  query: Knex.QueryBuilder,
): Promise<Array<{ target: string; state: S; count: number }>> {
  const rows = (await query
    .select('target', 'state')
    .count({ count: '*' })
    .groupBy('target', 'state')
    .orderBy([{ column: 'target' }, { column: 'state' }])) as Array<{
    target: string;
    state: S;
    count: number | string;
  }>;
  return rows.map((row) => ({ target: row.target, state: row.state, count: toNumber(row.count) }));
}
