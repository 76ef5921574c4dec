// Reads leads and opportunities changed since a cursor through SOQL, merged per referral into
// complete CRM record states.
import type { CrmChangePage, CrmRecordState } from '../adapter.js';
import {
  mergeChangedRecords,
  missingHalvesOf,
  takeInChangeOrder,
  type RecordShape,
} from '../merge.js';
import {
  CHANGE_PAGE_SIZE,
  LEAD_STATE_FIELDS,
  LOOKUP_CHUNK_SIZE,
  OPPORTUNITY_STATE_FIELDS,
  SOBJECTS,
} from './facts.js';
import { soqlDateTime, soqlFieldName, soqlId, soqlList, soqlSelect, soqlString } from './soql.js';

/** One record as the REST API returns it (`attributes` already removed). */
export type SalesforceRow = Record<string, unknown>;

/** One page of a query result. */
export interface QueryPage {
  records: SalesforceRow[];
  /** Where the next page is (`/services/data/vXX.X/query/01g...-2000`), absent on the last page. */
  nextRecordsUrl?: string;
}

/** Runs one SOQL statement (first page) or follows a nextRecordsUrl. */
export interface QueryRunner {
  query(soql: string): Promise<QueryPage>;
  queryMore(nextRecordsUrl: string): Promise<QueryPage>;
}

function leadFields(externalIdField: string): string[] {
  return [...LEAD_STATE_FIELDS, soqlFieldName(externalIdField)];
}

function opportunityFields(externalIdField: string): string[] {
  return [...OPPORTUNITY_STATE_FIELDS, soqlFieldName(externalIdField)];
}

/** Leads or opportunities carrying a referral id, changed after `since`, oldest change first. */
export function changedRecordsSoql(
  entity: 'lead' | 'opportunity',
  externalIdField: string,
  since: string | null,
): string {
  const key = soqlFieldName(externalIdField);
  const where = [`${key} != null`];
  if (since !== null) where.push(`SystemModstamp > ${soqlDateTime(since, 'readChanges(since)')}`);
  return soqlSelect({
    fields: entity === 'lead' ? leadFields(key) : opportunityFields(key),
    from: SOBJECTS[entity],
    where,
    orderBy: 'SystemModstamp ASC',
  });
}

export function leadsByReferralSoql(
  externalIdField: string,
  referralIds: readonly string[],
): string {
  const key = soqlFieldName(externalIdField);
  return soqlSelect({
    fields: leadFields(key),
    from: SOBJECTS.lead,
    where: [`${key} IN ${soqlList(referralIds.map(soqlString))}`],
  });
}

export function opportunitiesByIdSoql(
  externalIdField: string,
  opportunityIds: readonly string[],
): string {
  const ids = opportunityIds.map((id) => soqlId(id, 'ConvertedOpportunityId'));
  return soqlSelect({
    fields: opportunityFields(externalIdField),
    from: SOBJECTS.opportunity,
    where: [`Id IN ${soqlList(ids)}`],
  });
}

/** The most recently changed opportunity carrying one referral id. */
export function latestOpportunitySoql(externalIdField: string, referralId: string): string {
  const key = soqlFieldName(externalIdField);
  return `${soqlSelect({
    fields: opportunityFields(key),
    from: SOBJECTS.opportunity,
    where: [`${key} = ${soqlString(referralId)}`],
    orderBy: 'SystemModstamp DESC',
  })} LIMIT 1`;
}

/**
 * Follows nextRecordsUrl lazily, so that at most one server page (up to 2000 records) is held per
 * stream.
 */
class RecordStream {
  private records: SalesforceRow[] = [];
  private position = 0;
  private next: (() => Promise<QueryPage>) | undefined;

  constructor(
    private readonly runner: QueryRunner,
    soql: string,
  ) {
    this.next = () => runner.query(soql);
  }

  async peek(): Promise<SalesforceRow | undefined> {
    while (this.position >= this.records.length && this.next !== undefined) {
      const page = await this.next();
      this.records = page.records;
      this.position = 0;
      const { nextRecordsUrl } = page;
      this.next = nextRecordsUrl ? () => this.runner.queryMore(nextRecordsUrl) : undefined;
    }
    return this.records[this.position];
  }

  take(): void {
    this.position++;
  }
}

export interface ChangedRecord {
  entity: 'lead' | 'opportunity';
  record: SalesforceRow;
}

export interface ChangeReaderContext {
  externalIdField: string;
  runner: QueryRunner;
  pageSize?: number;
}

/**
 * Pages through the changes of leads and opportunities in one SystemModstamp order, `pageSize`
 * records at a time.
 */
export async function* readChangePages(
  context: ChangeReaderContext,
  since: string | null,
): AsyncGenerator<CrmChangePage> {
  const { externalIdField, runner } = context;
  const leads = new RecordStream(runner, changedRecordsSoql('lead', externalIdField, since));
  const opportunities = new RecordStream(
    runner,
    changedRecordsSoql('opportunity', externalIdField, since),
  );
  for (;;) {
    const changed = await takeChangedRecords(
      leads,
      opportunities,
      context.pageSize ?? CHANGE_PAGE_SIZE,
    );
    if (changed.length === 0) return;
    const complements = await fetchMissingHalves(context, changed);
    yield {
      records: mergeReferralStates(externalIdField, changed, complements),
      cursor: cursorOf(changed) ?? since,
    };
  }
}

async function takeChangedRecords(
  leads: RecordStream,
  opportunities: RecordStream,
  pageSize: number,
): Promise<ChangedRecord[]> {
  const changed = await takeInChangeOrder({ timeOf }, leads, opportunities, pageSize);
  return changed.map(({ entity, row }) => ({ entity, record: row }));
}

export interface Complements {
  /** Leads of referrals whose opportunity alone changed. */
  leads: SalesforceRow[];
  /** Converted opportunities of changed leads whose opportunity did not change. */
  opportunities: SalesforceRow[];
}

/** The lead / opportunity halves that did not change but complete a changed referral's state. */
export function missingHalves(
  externalIdField: string,
  changed: readonly ChangedRecord[],
): { referralIds: string[]; opportunityIds: string[] } {
  return missingHalvesOf(
    salesforceShape(externalIdField),
    changed.map(({ entity, record }) => ({ entity, row: record })),
  );
}

async function fetchMissingHalves(
  context: ChangeReaderContext,
  changed: readonly ChangedRecord[],
): Promise<Complements> {
  const { referralIds, opportunityIds } = missingHalves(context.externalIdField, changed);
  const leads: SalesforceRow[] = [];
  const opportunities: SalesforceRow[] = [];
  for (const ids of chunk(referralIds, LOOKUP_CHUNK_SIZE)) {
    leads.push(
      ...(await fetchAll(context.runner, leadsByReferralSoql(context.externalIdField, ids))),
    );
  }
  for (const ids of chunk(opportunityIds, LOOKUP_CHUNK_SIZE)) {
    opportunities.push(
      ...(await fetchAll(context.runner, opportunitiesByIdSoql(context.externalIdField, ids))),
    );
  }
  return { leads, opportunities };
}

/** Every record of a (small) query, following nextRecordsUrl. */
export async function fetchAll(runner: QueryRunner, soql: string): Promise<SalesforceRow[]> {
  const records: SalesforceRow[] = [];
  let page = await runner.query(soql);
  records.push(...page.records);
  while (page.nextRecordsUrl) {
    page = await runner.queryMore(page.nextRecordsUrl);
    records.push(...page.records);
  }
  return records;
}

/** One state per referral (see mergeChangedRecords): the lead with its converted opportunity. */
export function mergeReferralStates(
  externalIdField: string,
  changed: readonly ChangedRecord[],
  complements: Complements,
): CrmRecordState[] {
  return mergeChangedRecords(
    salesforceShape(externalIdField),
    changed.map(({ entity, record }) => ({ entity, row: record })),
    complements,
  );
}

/**
 * Where Salesforce records keep what the merge needs (the external id field holds the referral id).
 */
function salesforceShape(externalIdField: string): RecordShape<SalesforceRow> {
  return {
    referralIdOf: (row) => String(row[externalIdField]),
    timeOf,
    opportunityIdOf: (row) => String(row.Id),
    linkedOpportunityOf: (lead) => lead.ConvertedOpportunityId,
    leadState,
    opportunityState,
  };
}

/**
 * The state of one referral's lead and its opportunity (if any); used by getByReferralId as well.
 */
export function leadState(
  referralId: string,
  lead: SalesforceRow,
  opportunity: SalesforceRow | undefined,
): CrmRecordState {
  const latest = opportunity && timeOf(opportunity) > timeOf(lead) ? opportunity : lead;
  return {
    referralId,
    recordId: String(lead.Id),
    entity: 'lead',
    modifiedAt: modifiedAtOf(latest),
    fields: lead,
    opportunity: opportunity
      ? {
          recordId: String(opportunity.Id),
          modifiedAt: modifiedAtOf(opportunity),
          fields: opportunity,
        }
      : null,
    // convertLead locks the lead (IsConverted): it became an opportunity and takes no more writes.
    ...(lead.IsConverted === true
      ? {
          convertedInto:
            typeof lead.ConvertedOpportunityId === 'string' ? lead.ConvertedOpportunityId : '',
        }
      : {}),
  };
}

/** A referral written straight as an opportunity (or whose lead is gone). */
export function opportunityState(referralId: string, opportunity: SalesforceRow): CrmRecordState {
  return {
    referralId,
    recordId: String(opportunity.Id),
    entity: 'opportunity',
    modifiedAt: modifiedAtOf(opportunity),
    fields: opportunity,
    opportunity: null,
  };
}

/** The highest SystemModstamp among the records taken, as ISO-8601 UTC with milliseconds. */
function cursorOf(changed: readonly ChangedRecord[]): string | null {
  let highest = Number.NEGATIVE_INFINITY;
  for (const { record } of changed) highest = Math.max(highest, timeOf(record));
  return Number.isFinite(highest) ? new Date(highest).toISOString() : null;
}

/**
 * SystemModstamp (`2025-01-31T08:00:00.000+0000`) as ISO-8601 UTC (`2025-01-31T08:00:00.000Z`), or
 * as given if unreadable.
 */
function modifiedAtOf(record: SalesforceRow): string {
  const time = timeOf(record);
  return Number.isFinite(time) ? new Date(time).toISOString() : String(record.SystemModstamp);
}

/**
 * A record's SystemModstamp in epoch ms; records without one sort first and never move the cursor.
 */
function timeOf(record: SalesforceRow): number {
  const stamp = record.SystemModstamp;
  const time =
    typeof stamp === 'string'
      ? Date.parse(stamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))
      : Number.NaN;
  return Number.isNaN(time) ? Number.NEGATIVE_INFINITY : time;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
