// The referrals list: OData query options, keyset paging that stays stable under concurrent writes,
// and @odata.count.
import {
  FilterError,
  compileFilter,
  parseFilter,
  splitKeyRange,
  type FilterExpr,
  type KeyRange,
  type ReferralPredicate,
} from './filter.js';
import { TOP_LEVEL_FIELDS } from './schema.js';
import { queryFingerprint, type SkipToken, type SkipTokenCodec } from './skiptoken.js';
import type { SortedIndex } from './sorted-index.js';
import type { IndexedField, ReferralSlot, ReferralStore } from './store.js';

/** At most this many referrals on one page (api-facts.md §1). */
const MAX_PAGE_SIZE = 100;
/** How far past a full page the lister looks for one more match before promising a next page. */
const LOOKAHEAD_LIMIT = 2_000;

/** A list request the service would refuse (400); the message names the option and the problem. */
export class QueryError extends Error {
  override name = 'QueryError';
}

export interface ListQuery {
  /** The options as given, in the order a nextLink repeats them. */
  options: Array<[name: string, value: string]>;
  fingerprint: string;
  filterText: string | null;
  filter: FilterExpr | null;
  orderField: IndexedField;
  descending: boolean;
  select: string[] | null;
  top: number | null;
  cursor: SkipToken | null;
}

export interface ListPage {
  slots: ReferralSlot[];
  /** Referrals matching $filter over all pages ($top aside). */
  count: number;
  next: SkipToken | null;
}

const SUPPORTED_OPTIONS = ['$filter', '$orderby', '$select', '$top', '$count', '$skiptoken'];
const REFUSED_OPTIONS: Readonly<Record<string, string>> = {
  $skip: 'page by following @odata.nextLink',
  $expand: 'referrals have no expandable properties',
  $search: 'use $filter',
  $format: 'responses are always JSON',
  $apply: 'aggregation is not offered',
};
const ORDER_BY = /^\s*(createdDateTime|updatedDateTime)(?:\s+(asc|desc))?\s*$/;

/**
 * Parses and checks the list options; a $skiptoken must come from a nextLink of this very query.
 */
export function parseListQuery(request: URLSearchParams, tokens: SkipTokenCodec): ListQuery {
  const params = withTokenOptions(request, tokens);
  checkOptionNames(params);
  const [filterText, orderText, selectText, topText, countText, tokenText] = SUPPORTED_OPTIONS.map(
    (name) => singleValue(params, name),
  );
  if (countText !== null && countText !== 'true' && countText !== 'false')
    throw new QueryError(`$count must be true or false (got '${countText}')`);
  const order = parseOrderBy(orderText ?? null);
  const given: Array<[string, string | null]> = [
    ['$filter', filterText ?? null],
    ['$orderby', orderText ?? null],
    ['$select', selectText ?? null],
    ['$top', topText ?? null],
    ['$count', countText ?? null],
  ];
  const fingerprint = queryFingerprint(given.map(([, value]) => value));
  return {
    options: given.filter((option): option is [string, string] => option[1] !== null),
    fingerprint,
    filterText: filterText ?? null,
    filter: filterText == null ? null : parseFilterOption(filterText),
    orderField: order.field,
    descending: order.descending,
    select: selectText == null ? null : parseSelect(selectText),
    top: topText == null ? null : parseTop(topText),
    cursor: tokenText == null ? null : decodeCursor(tokenText, tokens, fingerprint),
  };
}

/**
 * A request that carries only `$skiptoken` (the documented nextLink form) continues the query the
 * token was issued
 * for: its options are restored from the token. With other options given, they must match it (see
 * decodeCursor).
 */
function withTokenOptions(params: URLSearchParams, tokens: SkipTokenCodec): URLSearchParams {
  const names = [...params.keys()];
  const tokenText = params.get('$skiptoken');
  if (tokenText === null || names.some((name) => name !== '$skiptoken') || names.length !== 1)
    return params;
  const token = tokens.decode(tokenText);
  if (!token || token.options.length === 0) return params;
  return new URLSearchParams([...token.options, ['$skiptoken', tokenText]]);
}

function checkOptionNames(params: URLSearchParams): void {
  for (const name of new Set(params.keys())) {
    if (name.startsWith('$')) {
      if (SUPPORTED_OPTIONS.includes(name)) continue;
      const caseOnly = SUPPORTED_OPTIONS.find(
        (option) => option.toLowerCase() === name.toLowerCase(),
      );
      const hint = caseOnly
        ? ` (query options are case-sensitive: ${caseOnly})`
        : REFUSED_OPTIONS[name]
          ? `: ${REFUSED_OPTIONS[name]}`
          : '; supported: $filter, $orderby, $select, $top, $count';
      throw new QueryError(`unsupported query option ${name}${hint}`);
    }
    if ([...SUPPORTED_OPTIONS, '$skip'].includes(`$${name.toLowerCase()}`)) {
      throw new QueryError(`query option '${name}' needs its $ prefix ($${name})`);
    }
  }
}

function singleValue(params: URLSearchParams, name: string): string | null {
  const values = params.getAll(name);
  if (values.length > 1)
    throw new QueryError(`${name} is given ${values.length} times; give it once`);
  return values[0] ?? null;
}

function parseFilterOption(text: string): FilterExpr {
  try {
    return parseFilter(text);
  } catch (error) {
    if (error instanceof FilterError) throw new QueryError(`invalid $filter: ${error.message}`);
    throw error;
  }
}

/**
 * Without $orderby the newest referrals come first, as in the portal (the service documents no
 * default).
 */
function parseOrderBy(text: string | null): { field: IndexedField; descending: boolean } {
  if (text === null) return { field: 'createdDateTime', descending: true };
  const match = ORDER_BY.exec(text);
  if (!match) {
    const several = text.includes(',') ? ' (one sort key only)' : '';
    throw new QueryError(
      `$orderby supports createdDateTime or updatedDateTime, optionally followed by asc or desc` +
        `${several}; got '${text}'`,
    );
  }
  return { field: match[1] as IndexedField, descending: match[2] === 'desc' };
}

function parseSelect(text: string): string[] | null {
  const fields = text.split(',').map((field) => field.trim());
  if (fields.some((field) => field === ''))
    throw new QueryError(`$select has an empty entry ('${text}')`);
  if (fields.includes('*')) return null;
  const unknown = fields.filter((field) => !TOP_LEVEL_FIELDS.includes(field));
  if (unknown.length > 0) {
    const nested = unknown.some((field) => field.includes('/'))
      ? ' (only top-level properties can be selected)'
      : '';
    throw new QueryError(`$select names unknown properties: ${unknown.join(', ')}${nested}`);
  }
  return [...new Set(fields)];
}

function parseTop(text: string): number {
  const top = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(top <= 2_147_483_647))
    throw new QueryError(`$top must be a positive integer (got '${text}')`);
  return top;
}

function decodeCursor(text: string, tokens: SkipTokenCodec, fingerprint: string): SkipToken {
  const token = tokens.decode(text);
  if (!token)
    throw new QueryError('$skiptoken is not valid: follow @odata.nextLink exactly as given');
  if (token.query !== fingerprint) {
    throw new QueryError(
      '$skiptoken belongs to a different query: keep $filter, $orderby, $select, $top and ' +
        '$count as in the @odata.nextLink',
    );
  }
  return token;
}

/**
 * Serves pages from the store's sorted indexes. Bounds on the sort field in the top-level `and`
 * of $filter become a binary-searched range, so the incremental query (updatedDateTime ge X,
 * $orderby=updatedDateTime asc) costs O(log n + page); other terms are evaluated per item.
 */
export class ReferralLister {
  private countCache: { key: string; version: number; count: number } | null = null;

  constructor(private readonly store: ReferralStore) {}

  page(query: ListQuery): ListPage {
    const index = this.store.index(query.orderField);
    const { range, residual } = splitKeyRange(query.filter, query.orderField);
    const matches = residual ? compileFilter(residual) : null;
    const [start, end] = rangePositions(index, range);
    const count = this.count(query, index, [start, end], matches);
    const returned = query.cursor?.returned ?? 0;
    const limit = Math.min(
      MAX_PAGE_SIZE,
      query.top === null ? MAX_PAGE_SIZE : query.top - returned,
    );
    const window = query.descending
      ? descendingWindow(index, start, end, query.cursor)
      : ascendingWindow(index, start, end, query.cursor);
    const { slots, more } = collect(index, window, matches, limit);
    const last = slots[slots.length - 1];
    const capped = query.top !== null && returned + slots.length >= query.top;
    const next =
      more && !capped && last
        ? {
            query: query.fingerprint,
            key: query.orderField === 'updatedDateTime' ? last.updatedKey : last.createdKey,
            id: last.id,
            returned: returned + slots.length,
            options: query.options,
          }
        : null;
    return { slots, count, next };
  }

  /**
   * Matches over the whole range; remembered while the store has not changed (paging re-asks it on
   * every page).
   */
  private count(
    query: ListQuery,
    index: SortedIndex,
    [start, end]: [number, number],
    matches: ReferralPredicate | null,
  ): number {
    if (!matches) return end - start;
    const key = `${query.orderField}\u0000${query.filterText}`;
    const cached = this.countCache;
    if (cached && cached.key === key && cached.version === this.store.version) return cached.count;
    let count = 0;
    for (let i = start; i < end; i++) if (matches(index.at(i).slot.referral)) count++;
    this.countCache = { key, version: this.store.version, count };
    return count;
  }
}

interface ScanWindow {
  from: number;
  /** Exclusive when ascending, inclusive when descending. */
  to: number;
  step: 1 | -1;
}

/**
 * [start, end) of the entries inside the range; entries with no readable date-time never satisfy a
 * bound.
 */
function rangePositions(index: SortedIndex, range: KeyRange): [number, number] {
  const bounded = range.lower !== null || range.upper !== null;
  const floor = bounded ? index.firstWithKey('', false) : 0;
  const start = Math.max(
    floor,
    range.lower ? index.firstWithKey(range.lower.key, range.lower.inclusive) : 0,
  );
  const end = range.upper
    ? index.firstWithKey(range.upper.key, !range.upper.inclusive)
    : index.length;
  return [start, Math.max(start, end)];
}

function ascendingWindow(
  index: SortedIndex,
  start: number,
  end: number,
  cursor: SkipToken | null,
): ScanWindow {
  if (!cursor) return { from: start, to: end, step: 1 };
  let after = index.firstNotBefore(cursor.key, cursor.id);
  if (
    after < index.length &&
    index.at(after).key === cursor.key &&
    index.at(after).slot.id === cursor.id
  )
    after++;
  return { from: Math.max(start, after), to: end, step: 1 };
}

function descendingWindow(
  index: SortedIndex,
  start: number,
  end: number,
  cursor: SkipToken | null,
): ScanWindow {
  const before = cursor ? Math.min(end, index.firstNotBefore(cursor.key, cursor.id)) : end;
  return { from: before - 1, to: start, step: -1 };
}

/** Up to `limit` matches from the window, and whether another match (probably) follows them. */
function collect(
  index: SortedIndex,
  window: ScanWindow,
  matches: ReferralPredicate | null,
  limit: number,
): { slots: ReferralSlot[]; more: boolean } {
  const inside = (i: number) => (window.step > 0 ? i < window.to : i >= window.to);
  const slots: ReferralSlot[] = [];
  let i = window.from;
  for (; inside(i) && slots.length < limit; i += window.step) {
    const { slot } = index.at(i);
    if (!matches || matches(slot.referral)) slots.push(slot);
  }
  // A bounded look-ahead: past it a next page is promised even if it may turn out empty.
  for (let scanned = 0; inside(i); i += window.step, scanned++) {
    if (scanned >= LOOKAHEAD_LIMIT || !matches || matches(index.at(i).slot.referral))
      return { slots, more: true };
  }
  return { slots, more: false };
}
