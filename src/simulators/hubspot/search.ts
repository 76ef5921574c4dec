// POST /crm/v3/objects/{objectType}/search: filterGroups (OR of ANDs), sorts, properties,
// limit/after paging.
// Source: developers.hubspot.com/docs/api-reference/2026-03/crm/search-the-crm ("Limitations": at
// most 200
// results a page, 10,000 results per query, five filterGroups of up to six filters and 18 filters
// in all) and the
// changelog "Expanded filtering capabilities" (2024-08-26). Ties in the sort order come back in no
// fixed order.
import type { Random } from '../common/random.js';
import { validationError } from './errors.js';
import { MODIFIED_PROPERTY, type ObjectType } from './schema.js';
import { stampMs, type HubSpotStore, type StoredObject } from './store.js';
import { objectJson } from './values.js';

const SEARCH_PAGE_MAX = 200;
const SEARCH_RESULT_CAP = 10_000;
const MAX_GROUPS = 5;
const MAX_FILTERS_PER_GROUP = 6;
const MAX_FILTERS = 18;

interface Filter {
  propertyName: string;
  operator: string;
  value?: unknown;
  values?: unknown[];
}

interface SearchBody {
  filterGroups?: Array<{ filters?: Filter[] }>;
  sorts?: Array<{ propertyName: string; direction?: string } | string>;
  properties?: string[];
  limit?: number;
  after?: string | number;
}

export function search(
  store: HubSpotStore,
  type: ObjectType,
  body: unknown,
  random: Random,
): Record<string, unknown> {
  const request = (body ?? {}) as SearchBody;
  const groups = checkGroups(store, type, request.filterGroups ?? []);
  const limit = request.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_PAGE_MAX)
    throw validationError(`limit must be between 1 and ${SEARCH_PAGE_MAX}, got ${String(limit)}`);
  const after = request.after === undefined ? 0 : offsetOf(String(request.after));
  if (after + limit > SEARCH_RESULT_CAP) {
    throw validationError(
      `The search query cannot page past ${SEARCH_RESULT_CAP} results (after ${after} + limit ` +
        `${limit})`,
    );
  }
  const matching = store
    .list(type)
    .filter(
      (record) => groups.length === 0 || groups.some((g) => g.every((f) => matches(record, f))),
    )
    .map((record) => ({ record, tie: random.next() }));
  const sorts = (request.sorts ?? []).map((s) =>
    typeof s === 'string' ? { propertyName: s, direction: 'ASCENDING' } : s,
  );
  matching.sort((a, b) => compareBySorts(a.record, b.record, sorts) || a.tie - b.tie);
  const page = matching
    .slice(after, after + limit)
    .map(({ record }) => objectJson(record, selected(type, request.properties)));
  const next = after + limit;
  return {
    total: matching.length,
    results: page,
    ...(next < matching.length && next < SEARCH_RESULT_CAP
      ? { paging: { next: { after: afterToken(next), link: `?after=${afterToken(next)}` } } }
      : {}),
  };
}

/**
 * `after` is opaque: the documented example is "NTI1Cg%3D%3D" (base64 of the offset and a newline,
 * URL-encoded).
 * Source:
 * developers.hubspot.com/docs/api-reference/crm-contracts-v3/search/post-crm-v3-objects-contracts-search.
 */
function afterToken(offset: number): string {
  return encodeURIComponent(Buffer.from(`${offset}\n`).toString('base64'));
}

function offsetOf(token: string): number {
  const text = Buffer.from(decodeURIComponent(token), 'base64').toString('utf8');
  const offset = /^\d+\n$/.test(text) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(offset)) throw validationError(`after is not a paging cursor: ${token}`);
  return offset;
}

/** Search returns a few default properties unless `properties` names others. */
function selected(type: ObjectType, properties: string[] | undefined): string[] {
  const defaults = ['hs_object_id', 'createdate', MODIFIED_PROPERTY[type]];
  return [...new Set([...defaults, ...(properties ?? [])])];
}

function checkGroups(
  store: HubSpotStore,
  type: ObjectType,
  groups: Array<{ filters?: Filter[] }>,
): Filter[][] {
  if (groups.length > MAX_GROUPS)
    throw validationError(`at most ${MAX_GROUPS} filterGroups are allowed, got ${groups.length}`);
  const all = groups.flatMap((g) => g.filters ?? []);
  if (all.length > MAX_FILTERS)
    throw validationError(`at most ${MAX_FILTERS} filters are allowed, got ${all.length}`);
  for (const group of groups) {
    if ((group.filters ?? []).length > MAX_FILTERS_PER_GROUP)
      throw validationError(`at most ${MAX_FILTERS_PER_GROUP} filters are allowed in a group`);
  }
  for (const filter of all) {
    if (!store.definition(type, filter.propertyName))
      throw validationError(
        `There was a problem with the request: unknown property ${filter.propertyName}`,
      );
    if (!OPERATORS.has(filter.operator))
      throw validationError(`Unsupported operator ${String(filter.operator)}`);
  }
  return groups.map((g) => g.filters ?? []);
}

const OPERATORS = new Set([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
]);

function matches(record: StoredObject, filter: Filter): boolean {
  const actual = record.properties[filter.propertyName];
  const present = actual !== undefined && actual !== '';
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return present;
    case 'NOT_HAS_PROPERTY':
      return !present;
    case 'IN':
      return present && (filter.values ?? []).map(String).includes(actual);
    case 'NOT_IN':
      return !present || !(filter.values ?? []).map(String).includes(actual);
    case 'EQ':
      return present && compare(actual, filter.value) === 0;
    case 'NEQ':
      return !present || compare(actual, filter.value) !== 0;
    default: {
      if (!present) return false;
      const order = compare(actual, filter.value);
      if (filter.operator === 'LT') return order < 0;
      if (filter.operator === 'LTE') return order <= 0;
      if (filter.operator === 'GT') return order > 0;
      return order >= 0;
    }
  }
}

/** Numbers and stamps (epoch ms or ISO-8601) compare as numbers, everything else as text. */
function compare(actual: string, wanted: unknown): number {
  const a = numeric(actual);
  const b = numeric(String(wanted));
  if (a !== null && b !== null) return a - b;
  return actual.localeCompare(String(wanted));
}

function numeric(text: string): number | null {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) return stampMs(text);
  return null;
}

function compareBySorts(
  a: StoredObject,
  b: StoredObject,
  sorts: Array<{ propertyName: string; direction?: string }>,
): number {
  for (const sort of sorts) {
    const left = a.properties[sort.propertyName] ?? '';
    const right = b.properties[sort.propertyName] ?? '';
    const order = compare(left, right);
    if (order !== 0) return sort.direction === 'DESCENDING' ? -order : order;
  }
  return 0;
}
