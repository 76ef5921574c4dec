// Running planned SOQL against the store and paging results through query locators
// (nextRecordsUrl).
import type { SimClock } from '../common/clock.js';
import { SalesforceApiError } from './errors.js';
import { makeRecordId } from './ids.js';
import { projectRow, type QueryPlan, type RowLookup } from './soql-plan.js';
import type { SalesforceStore } from './store.js';
import type { SObjectRow } from './values.js';

export interface QueryPage {
  totalSize: number;
  done: boolean;
  records: Array<Record<string, unknown>>;
  nextRecordsUrl?: string;
}

const DEFAULT_BATCH_SIZE = 2000;
const MIN_BATCH_SIZE = 200;
/** Open cursors kept at once; the least recently used one is dropped first. */
const MAX_CURSORS = 50;
/** A cursor not touched for this long is gone, as on the platform. */
const CURSOR_IDLE_MS = 15 * 60_000;

function lookupIn(store: SalesforceStore): RowLookup {
  return { get: (object, id) => store.get(object, id) };
}

/** The rows a plan selects, ordered and cut by OFFSET / LIMIT; deleted rows only for queryAll. */
export function findMatches(
  store: SalesforceStore,
  plan: QueryPlan,
  includeDeleted: boolean,
): SObjectRow[] {
  const lookup = lookupIn(store);
  const rows: SObjectRow[] = [];
  for (const row of candidatesFor(store, plan, includeDeleted))
    if (plan.matches(row, lookup)) rows.push(row);
  const { order } = plan;
  if (order) rows.sort((a, b) => order(a, b, lookup));
  const start = plan.offset ?? 0;
  return rows.slice(start, plan.limit === undefined ? undefined : start + plan.limit);
}

/**
 * Rows worth testing: straight from an index when the filter pins Id or a unique field, else every
 * row.
 */
function candidatesFor(
  store: SalesforceStore,
  plan: QueryPlan,
  includeDeleted: boolean,
): Iterable<SObjectRow> {
  const hint = plan.indexHint;
  if (!hint || (hint.field.type !== 'id' && includeDeleted))
    return store.rows(plan.object, includeDeleted);
  const found = new Map<string, SObjectRow>();
  for (const value of hint.values) {
    const rows =
      hint.field.type === 'id'
        ? [
            includeDeleted
              ? store.getIncludingDeleted(plan.object, value)
              : store.get(plan.object, value),
          ]
        : store.findByExternalId(plan.object, hint.field, value);
    for (const row of rows) if (row) found.set(String(row.Id), row);
  }
  // Ids grow with creation order, so sorting them keeps the order of a full scan.
  return [...found.values()].sort((a, b) => (String(a.Id) < String(b.Id) ? -1 : 1));
}

/** `Sforce-Query-Options: batchSize=N`, kept within 200..2000; absent or unreadable gives 2000. */
export function batchSizeFrom(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  const m = /batchSize\s*=\s*(\d+)/i.exec(text);
  if (!m) return DEFAULT_BATCH_SIZE;
  return Math.min(DEFAULT_BATCH_SIZE, Math.max(MIN_BATCH_SIZE, Number(m[1])));
}

interface Cursor {
  plan: QueryPlan;
  rows: SObjectRow[];
  batchSize: number;
  touchedMs: number;
}

/**
 * Query results larger than a batch, kept as snapshots and served page by page through locators.
 */
export class QueryCursors {
  private cursors = new Map<string, Cursor>();
  private seq = 0;

  constructor(
    private readonly store: SalesforceStore,
    private readonly clock: SimClock,
  ) {}

  /** The first page of a query; a cursor is opened only when more pages follow. */
  firstPage(plan: QueryPlan, rows: SObjectRow[], version: string, batchSize: number): QueryPage {
    if (plan.count) return { totalSize: rows.length, done: true, records: [] };
    if (rows.length <= batchSize) return this.render(plan, rows, 0, rows.length, version, null);
    this.seq += 1;
    const cursorId = makeRecordId('01g', this.seq);
    this.cursors.set(cursorId, { plan, rows, batchSize, touchedMs: this.clock.nowMs() });
    this.evict();
    return this.render(plan, rows, 0, batchSize, version, cursorId);
  }

  /** The page a locator (`01g...-2000`) names. */
  page(locator: string, version: string): QueryPage {
    const m = /^(01g[A-Za-z0-9]{15})-(\d+)$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1] as string) : undefined;
    const start = Number(m?.[2] ?? -1);
    if (
      !m ||
      !cursor ||
      start > cursor.rows.length ||
      this.clock.nowMs() - cursor.touchedMs > CURSOR_IDLE_MS
    ) {
      throw new SalesforceApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    cursor.touchedMs = this.clock.nowMs();
    // Re-insert so that Map order is least-recently-used first.
    this.cursors.delete(m[1] as string);
    this.cursors.set(m[1] as string, cursor);
    return this.render(cursor.plan, cursor.rows, start, cursor.batchSize, version, m[1] as string);
  }

  clear(): void {
    this.cursors.clear();
  }

  private render(
    plan: QueryPlan,
    rows: SObjectRow[],
    start: number,
    size: number,
    version: string,
    cursorId: string | null,
  ): QueryPage {
    const lookup = lookupIn(this.store);
    const end = Math.min(rows.length, start + size);
    const records = rows.slice(start, end).map((row) => projectRow(plan, row, lookup, version));
    const done = end >= rows.length;
    const page: QueryPage = { totalSize: rows.length, done, records };
    if (!done && cursorId)
      page.nextRecordsUrl = `/services/data/v${version}/query/${cursorId}-${end}`;
    return page;
  }

  private evict(): void {
    while (this.cursors.size > MAX_CURSORS) {
      const oldest = this.cursors.keys().next().value;
      if (oldest === undefined) break;
      this.cursors.delete(oldest);
    }
  }
}
