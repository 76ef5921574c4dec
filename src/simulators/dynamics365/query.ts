// Query options of a read ($select, $filter, $orderby, $top, $count, $skiptoken) and keyset paging
// with an opaque cookie.
import { odataError, unknownQueryProperty } from './errors.js';
import { comparable, compareValues, compileFilter, type RowPredicate } from './filter.js';
import type { TableSpec } from './schema.js';
import type { Row, RowValue } from './values.js';

export const DEFAULT_PAGE_SIZE = 5000;

interface OrderTerm {
  property: string;
  descending: boolean;
}

export interface CollectionQuery {
  select: string[] | undefined;
  filter: RowPredicate | undefined;
  orderBy: OrderTerm[];
  top: number | undefined;
  count: boolean;
  /** Sort values and id of the last row already sent. */
  after: PageCursor | undefined;
}

interface PageCursor {
  values: RowValue[];
  id: string;
  page: number;
  /** The $orderby the cursor was made for, so a cookie cannot be replayed against another order. */
  order: string;
}

const SUPPORTED_OPTIONS = new Set([
  '$select',
  '$filter',
  '$orderby',
  '$top',
  '$count',
  '$skiptoken',
]);
const UNSUPPORTED_OPTIONS = new Set([
  '$expand',
  '$apply',
  '$search',
  '$format',
  '$compute',
  '$levels',
]);

/**
 * $select alone (single-record reads accept only that, plus $expand which the simulator does not
 * offer).
 */
export function parseSelect(table: TableSpec, query: URLSearchParams): string[] | undefined {
  for (const name of query.keys()) {
    if (name === '$select') continue;
    rejectOption(name, ['$select']);
  }
  return readSelect(table, query.get('$select'));
}

export function parseCollectionQuery(table: TableSpec, query: URLSearchParams): CollectionQuery {
  for (const name of query.keys()) {
    if (!SUPPORTED_OPTIONS.has(name)) rejectOption(name, [...SUPPORTED_OPTIONS]);
  }
  const filterText = query.get('$filter');
  const orderBy = readOrderBy(table, query.get('$orderby'));
  return {
    select: readSelect(table, query.get('$select')),
    filter: filterText === null ? undefined : compileFilter(table, filterText),
    orderBy,
    top: readTop(query.get('$top')),
    count: readCount(query.get('$count')),
    after: readCursor(query.get('$skiptoken'), orderSignature(orderBy)),
  };
}

function rejectOption(name: string, supported: string[]): void {
  if (!name.startsWith('$')) return; // custom query options are ignored, as OData allows
  if (UNSUPPORTED_OPTIONS.has(name) || name === '$skip') {
    throw odataError(
      `The query parameter ${name} is not supported by the Dataverse simulator (supported ` +
        `here: ${supported.join(', ')}).`,
    );
  }
  throw odataError(`The query parameter ${name} is not supported.`);
}

function readSelect(table: TableSpec, text: string | null): string[] | undefined {
  if (text === null) return undefined;
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) {
    if (name === '') throw odataError(`Syntax error: empty name in $select '${text}'.`);
    if (!table.columns[name]) throw unknownQueryProperty(table, name);
  }
  return names;
}

function readOrderBy(table: TableSpec, text: string | null): OrderTerm[] {
  if (text === null) return [];
  return text.split(',').map((term) => {
    const [property = '', direction = 'asc', ...extra] = term.trim().split(/\s+/);
    if (!table.columns[property]) throw unknownQueryProperty(table, property);
    if (extra.length > 0 || !/^(asc|desc)$/i.test(direction))
      throw odataError(`Syntax error in $orderby '${text}': '${term.trim()}'.`);
    return { property, descending: direction.toLowerCase() === 'desc' };
  });
}

function readTop(text: string | null): number | undefined {
  if (text === null) return undefined;
  if (!/^\d+$/.test(text))
    throw odataError(
      `Invalid value '${text}' for $top query option found. The $top query option requires a ` +
        `non-negative integer value.`,
    );
  return Number(text);
}

function readCount(text: string | null): boolean {
  if (text === null) return false;
  if (text !== 'true' && text !== 'false')
    throw odataError(`'${text}' is not a valid value for $count; use true or false.`);
  return text === 'true';
}

function orderSignature(orderBy: OrderTerm[]): string {
  return orderBy.map((term) => `${term.property} ${term.descending ? 'desc' : 'asc'}`).join(',');
}

/**
 * The first `limit` rows a query selects (after the cursor), in order, whether more follow, and the
 * total before paging.
 * Only the best `limit + 1` rows are kept while scanning, so paging through 100,000 rows never
 * sorts them all.
 * `tieSeed` orders rows that the $orderby leaves tied; pass a new one per request, so such rows
 * move between pages.
 */
export function runQuery(
  table: TableSpec,
  rows: Iterable<Row>,
  query: CollectionQuery,
  limit: number,
  tieSeed: number,
): { page: Row[]; hasMore: boolean; total: number } {
  const compare = rowComparator(table, query.orderBy, tieSeed);
  const cursorRow = query.after ? cursorAsRow(table, query.orderBy, query.after) : undefined;
  const best: Row[] = [];
  const keep = limit + 1;
  let total = 0;
  for (const row of rows) {
    if (query.filter && !query.filter(row)) continue;
    total++;
    if (cursorRow && compare(row, cursorRow) <= 0) continue;
    if (best.length === keep && compare(row, best[keep - 1] as Row) >= 0) continue;
    best.splice(insertionIndex(best, row, compare), 0, row);
    if (best.length > keep) best.pop();
  }
  return { page: best.slice(0, limit), hasMore: best.length > limit, total };
}

/** Where `row` goes in the sorted `rows` (binary search). */
function insertionIndex(rows: Row[], row: Row, compare: (a: Row, b: Row) => number): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compare(rows[middle] as Row, row) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Sorts by the $orderby terms (by primary key without any, as Dataverse adds that order itself).
 * Rows the terms leave
 * tied are ordered by a hash of their id and `tieSeed`: Dataverse gives no order among them, and
 * its paging cookie
 * (the last row's values) can then repeat or skip tied rows on the next page. Ordering on a unique
 * column is the cure.
 * Source: MicrosoftDocs/powerapps-docs
 * powerapps-docs/developer/data-platform/includes/cc-ordering-paging.md
 * ("Deterministic ordering is important"; "If you don't add any order elements ... adds an order
 * based on the primary key").
 */
function rowComparator(
  table: TableSpec,
  orderBy: OrderTerm[],
  tieSeed: number,
): (a: Row, b: Row) => number {
  const terms = orderBy.length > 0 ? orderBy : [{ property: table.primaryKey, descending: false }];
  const unique = terms.some((term) => term.property === table.primaryKey);
  return (a, b) => {
    for (const term of terms) {
      const column = table.columns[term.property];
      if (!column) continue;
      const order = compareValues(
        comparable(column, a[term.property]),
        comparable(column, b[term.property]),
      );
      if (order !== 0) return term.descending ? -order : order;
    }
    if (unique) return 0;
    const [idA, idB] = [String(a[table.primaryKey]), String(b[table.primaryKey])];
    return compareValues(tieHash(tieSeed, idA), tieHash(tieSeed, idB)) || compareValues(idA, idB);
  };
}

/** FNV-1a of seed and id: an arbitrary but repeatable order for tied rows. */
function tieHash(seed: number, id: string): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

function cursorAsRow(table: TableSpec, orderBy: OrderTerm[], cursor: PageCursor): Row {
  const row: Record<string, RowValue> = { [table.primaryKey]: cursor.id };
  orderBy.forEach((term, index) => {
    row[term.property] = cursor.values[index] ?? null;
  });
  return row;
}

/**
 * The `$skiptoken` for the page after `lastRow`: an XML paging cookie, as Dataverse writes them.
 */
export function nextSkipToken(table: TableSpec, query: CollectionQuery, lastRow: Row): string {
  const cursor: PageCursor = {
    values: query.orderBy.map((term) => lastRow[term.property] ?? null),
    id: String(lastRow[table.primaryKey]),
    page: (query.after?.page ?? 1) + 1,
    order: orderSignature(query.orderBy),
  };
  const cookie = Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
  return `<cookie pagenumber="${cursor.page}" pagingcookie="${cookie}" istracking="False" />`;
}

function readCursor(token: string | null, order: string): PageCursor | undefined {
  if (token === null) return undefined;
  const match = /pagingcookie="([A-Za-z0-9_-]+)"/.exec(token);
  try {
    const cursor = JSON.parse(
      Buffer.from(match?.[1] ?? '', 'base64url').toString('utf8'),
    ) as PageCursor;
    if (typeof cursor.id !== 'string' || !Array.isArray(cursor.values) || cursor.order !== order)
      throw new Error('mismatch');
    return cursor;
  } catch {
    throw odataError(
      'The $skiptoken is not valid for this query: follow @odata.nextLink as it was returned.',
    );
  }
}

/**
 * A row as the Web API shows it: `@odata.etag` first, then the selected columns (all of them
 * without $select).
 */
export function projectRow(
  table: TableSpec,
  row: Row,
  select: string[] | undefined,
): Record<string, unknown> {
  const shown: Record<string, unknown> = { '@odata.etag': etagOf(row) };
  const names = select ?? Object.keys(table.columns);
  for (const name of names) shown[name] = row[name] ?? null;
  shown[table.primaryKey] = row[table.primaryKey];
  return shown;
}

export function etagOf(row: Row): string {
  return `W/"${String(row.versionnumber)}"`;
}
