// Reads the deals and contacts changed since a cursor through the CRM search API, one state per
// referral.
// Each page is its own query from the last (stamp, hs_object_id) seen, sorted by both: offsets
// never shift under
// records that change while we page, and no query comes near the 10,000-result cap.
import type { CrmChangePage, CrmRecordState } from '../adapter.js';
import { takeInChangeOrder, type PeekableRows } from '../merge.js';
import type { HubSpotCalls, HubSpotRow, SearchRequest } from './calls.js';
import {
  BATCH_MAX,
  MODIFIED_PROPERTY,
  OBJECT_PREFIXES,
  READ_PROPERTIES,
  type HubSpotObject,
} from './facts.js';

/** A row with the object it came from. */
interface TaggedRow {
  object: HubSpotObject;
  row: HubSpotRow;
}

export interface ChangeContext {
  calls: HubSpotCalls;
  referralIdProperty: string;
  pageSize: number;
}

export function readProperties(object: HubSpotObject, referralIdProperty: string): string[] {
  return [
    ...READ_PROPERTIES[object],
    referralIdProperty,
    MODIFIED_PROPERTY[object],
    'hs_object_id',
  ];
}

/** The rows of one object changed after `since`, in (stamp, id) order, fetched a page at a time. */
class ChangedRows implements PeekableRows<TaggedRow> {
  private rows: HubSpotRow[] = [];
  private position = 0;
  private done = false;
  private last: { stamp: number; id: string } | null = null;

  constructor(
    private readonly context: ChangeContext,
    private readonly object: HubSpotObject,
    private readonly since: number | null,
  ) {}

  async peek(): Promise<TaggedRow | undefined> {
    if (this.position >= this.rows.length && !this.done) await this.fetch();
    const row = this.rows[this.position];
    return row ? { object: this.object, row } : undefined;
  }

  take(): void {
    const row = this.rows[this.position++];
    if (row) this.last = { stamp: stampOf(this.object, row), id: row.id };
  }

  private async fetch(): Promise<void> {
    const { results } = await this.context.calls.search(this.object, this.request());
    this.rows = results;
    this.position = 0;
    if (results.length < this.context.pageSize) this.done = true;
  }

  private request(): SearchRequest {
    const stamp = MODIFIED_PROPERTY[this.object];
    const has = { propertyName: this.context.referralIdProperty, operator: 'HAS_PROPERTY' };
    const after = (ms: number) => ({ propertyName: stamp, operator: 'GT', value: String(ms) });
    const filterGroups = this.last
      ? [
          {
            filters: [
              has,
              { propertyName: stamp, operator: 'EQ', value: String(this.last.stamp) },
              { propertyName: 'hs_object_id', operator: 'GT', value: this.last.id },
            ],
          },
          { filters: [has, after(this.last.stamp)] },
        ]
      : [{ filters: this.since === null ? [has] : [has, after(this.since)] }];
    return {
      filterGroups,
      sorts: [
        { propertyName: stamp, direction: 'ASCENDING' },
        { propertyName: 'hs_object_id', direction: 'ASCENDING' },
      ],
      properties: readProperties(this.object, this.context.referralIdProperty),
      limit: this.context.pageSize,
    };
  }
}

/** Pages of referral states whose deal or contact changed after `since`, oldest change first. */
export async function* readChangePages(
  context: ChangeContext,
  since: string | null,
): AsyncGenerator<CrmChangePage> {
  const sinceMs = since === null ? null : Date.parse(since);
  if (sinceMs !== null && Number.isNaN(sinceMs))
    throw new Error(`readChanges(since): not an ISO-8601 time: ${since}`);
  const contacts = new ChangedRows(context, 'contacts', sinceMs);
  const deals = new ChangedRows(context, 'deals', sinceMs);
  for (;;) {
    const changed = await takeInChangeOrder(
      { timeOf: ({ object, row }: TaggedRow) => stampOf(object, row) },
      contacts,
      deals,
      context.pageSize,
    );
    if (changed.length === 0) return;
    const rows = changed.map((c) => c.row);
    const states = await referralStates(context, rows);
    const highest = Math.max(...rows.map(({ object, row }) => stampOf(object, row)));
    yield {
      records: states,
      cursor: Number.isFinite(highest) ? new Date(highest).toISOString() : since,
    };
  }
}

/**
 * One state per referral of `changed` (first-change order), its other records read by referral id.
 */
async function referralStates(
  context: ChangeContext,
  changed: readonly TaggedRow[],
): Promise<CrmRecordState[]> {
  const order: string[] = [];
  const byReferral = new Map<string, Partial<Record<HubSpotObject, HubSpotRow>>>();
  for (const { object, row } of changed) {
    const referralId = row.properties[context.referralIdProperty];
    if (typeof referralId !== 'string' || referralId === '') continue;
    if (!byReferral.has(referralId)) {
      byReferral.set(referralId, {});
      order.push(referralId);
    }
    (byReferral.get(referralId) as Partial<Record<HubSpotObject, HubSpotRow>>)[object] = row;
  }
  for (const { object } of OBJECT_PREFIXES) {
    const missing = order.filter((id) => !byReferral.get(id)?.[object]);
    for (let i = 0; i < missing.length; i += BATCH_MAX) {
      const rows = await context.calls.readByReferralIds(
        object,
        missing.slice(i, i + BATCH_MAX),
        readProperties(object, context.referralIdProperty),
      );
      for (const row of rows) {
        const referralId = row.properties[context.referralIdProperty];
        const entry = typeof referralId === 'string' ? byReferral.get(referralId) : undefined;
        if (entry) entry[object] = row;
      }
    }
  }
  return order.map((id) =>
    stateOf(id, byReferral.get(id) as Partial<Record<HubSpotObject, HubSpotRow>>),
  );
}

/**
 * A referral's deal, contact and company as one record: fields prefixed like the mapping's
 * (deal__dealstage).
 */
export function stateOf(
  referralId: string,
  rows: Partial<Record<HubSpotObject, HubSpotRow>>,
): CrmRecordState {
  const fields: Record<string, unknown> = {};
  let latest = Number.NEGATIVE_INFINITY;
  for (const { object, prefix } of OBJECT_PREFIXES) {
    const row = rows[object];
    if (!row) continue;
    for (const [name, value] of Object.entries(row.properties)) fields[`${prefix}${name}`] = value;
    if (object !== 'companies') latest = Math.max(latest, stampOf(object, row));
  }
  const main = rows.deals ?? rows.contacts ?? rows.companies;
  return {
    referralId,
    recordId: main?.id ?? '',
    entity: 'lead',
    modifiedAt: Number.isFinite(latest) ? new Date(latest).toISOString() : '',
    fields,
    opportunity: null,
  };
}

/**
 * A row's change stamp in epoch ms (HubSpot returns ISO-8601 with milliseconds); unreadable ones
 * sort first.
 */
function stampOf(object: HubSpotObject, row: HubSpotRow): number {
  const value = row.properties[MODIFIED_PROPERTY[object]];
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
}
