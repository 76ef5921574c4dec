// Reads leads and opportunities changed since a cursor, merged per referral into complete CRM
// record states.
import PQueue from 'p-queue';
import type { CrmChangePage, CrmRecordState } from '../adapter.js';
import {
  mergeChangedRecords,
  missingHalvesOf,
  takeInChangeOrder,
  type RecordShape,
} from '../merge.js';
import {
  CHANGE_PAGE_SIZE,
  ENTITY_SETS,
  LEAD_STATE_COLUMNS,
  LOOKUP_CHUNK_SIZE,
  OPPORTUNITY_STATE_COLUMNS,
  PRIMARY_KEYS,
  QUALIFIED_LEAD_STATE,
} from './facts.js';
import { anyOfFilter, dateTimeLiteral, guidLiteral, queryString, stringLiteral } from './odata.js';

export type Row = Record<string, unknown>;

export interface RowPage {
  rows: Row[];
  /** The absolute URL of the next page (`@odata.nextLink`), opaque. */
  nextLink?: string;
}

export interface ChangeReaderContext {
  /** The alternate-key column holding the referral id. */
  keyColumn: string;
  /** GETs one page of rows (a URL relative to the API root, or a nextLink). */
  fetchPage: (url: string) => Promise<RowPage>;
  /** Lookups in flight at once. */
  concurrency: number;
  pageSize?: number;
}

export function leadColumns(keyColumn: string): string {
  return [...LEAD_STATE_COLUMNS, keyColumn].join(',');
}

export function opportunityColumns(keyColumn: string): string {
  return [...OPPORTUNITY_STATE_COLUMNS, keyColumn].join(',');
}

/**
 * `<entitySet>?$select&$filter=<key> ne null [and modifiedon gt <since>]&$orderby=modifiedon
 * asc,<primary key> asc`.
 * modifiedon holds whole seconds, so many rows share one; the primary key makes the order unique.
 * Without it Dataverse
 * gives tied rows no order and its paging cookie (the last row's order values) can repeat or skip
 * them at a page
 * boundary (MicrosoftDocs/powerapps-docs
 * powerapps-docs/developer/data-platform/includes/cc-ordering-paging.md,
 * "Deterministic ordering is important"). With both columns in the order, the nextLink's cookie
 * pages on both.
 */
export function changedRowsUrl(
  entity: 'lead' | 'opportunity',
  keyColumn: string,
  since: string | null,
): string {
  const clauses = [`${keyColumn} ne null`];
  if (since !== null) clauses.push(`modifiedon gt ${dateTimeLiteral(since, 'readChanges(since)')}`);
  const select = entity === 'lead' ? leadColumns(keyColumn) : opportunityColumns(keyColumn);
  const orderBy = `modifiedon asc,${PRIMARY_KEYS[entity]} asc`;
  return (
    `${ENTITY_SETS[entity]}` +
    `${queryString({ $select: select, $filter: clauses.join(' and '), $orderby: orderBy })}`
  );
}

/**
 * Pages through the changes of leads and opportunities in one modifiedon order, `pageSize` records
 * at a time.
 */
export async function* readChangePages(
  context: ChangeReaderContext,
  since: string | null,
): AsyncGenerator<CrmChangePage> {
  const leads = new RowStream(context.fetchPage, changedRowsUrl('lead', context.keyColumn, since));
  const opportunities = new RowStream(
    context.fetchPage,
    changedRowsUrl('opportunity', context.keyColumn, since),
  );
  for (;;) {
    const changed = await takeChangedRows(
      leads,
      opportunities,
      context.pageSize ?? CHANGE_PAGE_SIZE,
    );
    if (changed.length === 0) return;
    const complements = await fetchMissingHalves(context, changed);
    yield {
      records: mergeReferralStates(context.keyColumn, changed, complements),
      cursor: cursorOf(changed) ?? since,
    };
  }
}

export interface ChangedRow {
  entity: 'lead' | 'opportunity';
  row: Row;
}

/** Follows nextLinks lazily so that at most one server page is held per stream. */
class RowStream {
  private rows: Row[] = [];
  private position = 0;
  private next: string | undefined;

  constructor(
    private readonly fetchPage: (url: string) => Promise<RowPage>,
    firstUrl: string,
  ) {
    this.next = firstUrl;
  }

  async peek(): Promise<Row | undefined> {
    while (this.position >= this.rows.length && this.next !== undefined) {
      const page = await this.fetchPage(this.next);
      this.rows = page.rows;
      this.position = 0;
      this.next = page.nextLink;
    }
    return this.rows[this.position];
  }

  take(): void {
    this.position++;
  }
}

function takeChangedRows(
  leads: RowStream,
  opportunities: RowStream,
  pageSize: number,
): Promise<ChangedRow[]> {
  return takeInChangeOrder({ timeOf }, leads, opportunities, pageSize);
}

interface Complements {
  /** Leads of referrals whose opportunity alone changed. */
  leads: Row[];
  /** Qualifying opportunities of changed leads whose opportunity did not change. */
  opportunities: Row[];
}

/** The lead / opportunity halves that did not change but complete a changed referral's state. */
export function missingHalves(
  keyColumn: string,
  changed: readonly ChangedRow[],
): { referralIds: string[]; opportunityIds: string[] } {
  return missingHalvesOf(dataverseShape(keyColumn), changed);
}

async function fetchMissingHalves(
  context: ChangeReaderContext,
  changed: readonly ChangedRow[],
): Promise<Complements> {
  const { referralIds, opportunityIds } = missingHalves(context.keyColumn, changed);
  const queue = new PQueue({ concurrency: context.concurrency });
  const leadUrls = chunk(referralIds, LOOKUP_CHUNK_SIZE).map((ids) =>
    leadsByReferralUrl(context.keyColumn, ids),
  );
  const opportunityUrls = chunk(opportunityIds, LOOKUP_CHUNK_SIZE).map((ids) =>
    opportunitiesByIdUrl(context.keyColumn, ids),
  );
  const [leads, opportunities] = await Promise.all([
    Promise.all(leadUrls.map((url) => queue.add(() => fetchAllRows(context.fetchPage, url)))),
    Promise.all(
      opportunityUrls.map((url) => queue.add(() => fetchAllRows(context.fetchPage, url))),
    ),
  ]);
  return { leads: leads.flat(), opportunities: opportunities.flat() };
}

export function leadsByReferralUrl(keyColumn: string, referralIds: readonly string[]): string {
  const filter = anyOfFilter(keyColumn, referralIds.map(stringLiteral));
  return `${ENTITY_SETS.lead}${queryString({ $select: leadColumns(keyColumn), $filter: filter })}`;
}

function opportunitiesByIdUrl(keyColumn: string, opportunityIds: readonly string[]): string {
  const filter = anyOfFilter(
    'opportunityid',
    opportunityIds.map((id) => guidLiteral(id, '_qualifyingopportunityid_value')),
  );
  return (
    `${ENTITY_SETS.opportunity}` +
    `${queryString({ $select: opportunityColumns(keyColumn), $filter: filter })}`
  );
}

async function fetchAllRows(
  fetchPage: (url: string) => Promise<RowPage>,
  url: string,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (let next: string | undefined = url; next !== undefined;) {
    const page: RowPage = await fetchPage(next);
    rows.push(...page.rows);
    next = page.nextLink;
  }
  return rows;
}

/** One state per referral (see mergeChangedRecords): the lead with its qualifying opportunity. */
function mergeReferralStates(
  keyColumn: string,
  changed: readonly ChangedRow[],
  complements: Complements,
): CrmRecordState[] {
  return mergeChangedRecords(dataverseShape(keyColumn), changed, complements);
}

/** Where Dataverse rows keep what the merge needs (the key column holds the referral id). */
function dataverseShape(keyColumn: string): RecordShape<Row> {
  return {
    referralIdOf: (row) => String(row[keyColumn]),
    timeOf,
    opportunityIdOf: (row) => String(row.opportunityid),
    linkedOpportunityOf: (lead) => lead._qualifyingopportunityid_value,
    leadState,
    opportunityState,
  };
}

/**
 * The state of one referral's lead and its opportunity (if any); used by getByReferralId as well.
 */
export function leadState(
  referralId: string,
  lead: Row,
  opportunity: Row | undefined,
): CrmRecordState {
  const modifiedAt =
    opportunity && timeOf(opportunity) > timeOf(lead) ? opportunity.modifiedon : lead.modifiedon;
  return {
    referralId,
    recordId: String(lead.leadid),
    entity: 'lead',
    modifiedAt: String(modifiedAt),
    fields: lead,
    opportunity: opportunity
      ? {
          recordId: String(opportunity.opportunityid),
          modifiedAt: String(opportunity.modifiedon),
          fields: opportunity,
        }
      : null,
    ...convertedInto(lead),
  };
}

/**
 * LeadState.Qualified (statecode 1): the lead became its qualifying opportunity and takes no more
 * writes.
 */
function convertedInto(lead: Row): { convertedInto?: string } {
  if (Number(lead.statecode) !== QUALIFIED_LEAD_STATE) return {};
  const opportunityId = lead._qualifyingopportunityid_value;
  return { convertedInto: typeof opportunityId === 'string' ? opportunityId : '' };
}

/** A referral written straight as an opportunity (or whose lead is gone). */
export function opportunityState(referralId: string, opportunity: Row): CrmRecordState {
  return {
    referralId,
    recordId: String(opportunity.opportunityid),
    entity: 'opportunity',
    modifiedAt: String(opportunity.modifiedon),
    fields: opportunity,
    opportunity: null,
  };
}

/**
 * The highest modifiedon among the rows taken (as the server wrote it, to be sent back verbatim).
 */
function cursorOf(changed: readonly ChangedRow[]): string | null {
  let cursor: Row | undefined;
  for (const { row } of changed) {
    if (Number.isFinite(timeOf(row)) && (!cursor || timeOf(row) > timeOf(cursor))) cursor = row;
  }
  return cursor ? String(cursor.modifiedon) : null;
}

/** A row's modifiedon in epoch ms; rows without one sort first and never move the cursor. */
function timeOf(row: Row): number {
  const time = typeof row.modifiedon === 'string' ? Date.parse(row.modifiedon) : Number.NaN;
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
