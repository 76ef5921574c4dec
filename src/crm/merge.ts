// Reading a CRM's changed leads and opportunities as one stream, and merging them into one state
// per referral.
import type { CrmRecordState } from './adapter.js';

/** How one CRM's rows are read: which column holds what, and how a state is built from them. */
export interface RecordShape<Row> {
  referralIdOf(row: Row): string;
  /** The record's change stamp (modifiedon, SystemModstamp) in ms; rows without one sort first. */
  timeOf(row: Row): number;
  opportunityIdOf(opportunity: Row): string;
  /** The opportunity the lead was qualified or converted into, when it names one. */
  linkedOpportunityOf(lead: Row): unknown;
  leadState(referralId: string, lead: Row, opportunity: Row | undefined): CrmRecordState;
  opportunityState(referralId: string, opportunity: Row): CrmRecordState;
}

export interface ChangedRecord<Row> {
  entity: 'lead' | 'opportunity';
  row: Row;
}

/**
 * One state per referral, in the order the referrals first changed: the lead with its linked
 * opportunity (or an
 * opportunity carrying the same referral id); an opportunity whose lead does not exist stands
 * alone. `complements`
 * are the unchanged halves fetched to complete a state (the lead of a changed opportunity, and the
 * reverse).
 */
export function mergeChangedRecords<Row>(
  shape: RecordShape<Row>,
  changed: ReadonlyArray<ChangedRecord<Row>>,
  complements: { leads: readonly Row[]; opportunities: readonly Row[] },
): CrmRecordState[] {
  const leadsByReferral = new Map<string, Row>();
  const opportunitiesById = new Map<string, Row>();
  const opportunitiesByReferral = new Map<string, Row>();
  const referralOrder = new Set<string>();
  for (const { entity, row } of changed) {
    const referralId = shape.referralIdOf(row);
    referralOrder.add(referralId);
    if (entity === 'lead') leadsByReferral.set(referralId, row);
    else {
      opportunitiesById.set(shape.opportunityIdOf(row), row);
      opportunitiesByReferral.set(referralId, row);
    }
  }
  for (const row of complements.leads) {
    const referralId = shape.referralIdOf(row);
    if (!leadsByReferral.has(referralId)) leadsByReferral.set(referralId, row);
  }
  for (const row of complements.opportunities)
    opportunitiesById.set(shape.opportunityIdOf(row), row);
  return [...referralOrder].map((referralId) => {
    const lead = leadsByReferral.get(referralId);
    const linked = lead === undefined ? undefined : shape.linkedOpportunityOf(lead);
    const opportunity =
      (typeof linked === 'string' ? opportunitiesById.get(linked) : undefined) ??
      opportunitiesByReferral.get(referralId);
    return lead
      ? shape.leadState(referralId, lead, opportunity)
      : shape.opportunityState(referralId, opportunity as Row);
  });
}

/** A stream of rows in change order that can be looked at before it is consumed. */
export interface PeekableRows<Row> {
  peek(): Promise<Row | undefined>;
  take(): void;
}

/**
 * Takes the oldest rows of both streams, in one change order. A page closes only between two
 * different
 * change stamps, so that resuming with `stamp > <cursor>` skips nothing.
 */
export async function takeInChangeOrder<Row>(
  shape: Pick<RecordShape<Row>, 'timeOf'>,
  leads: PeekableRows<Row>,
  opportunities: PeekableRows<Row>,
  pageSize: number,
): Promise<Array<ChangedRecord<Row>>> {
  const changed: Array<ChangedRecord<Row>> = [];
  let lastTime: number | undefined;
  for (;;) {
    const lead = await leads.peek();
    const opportunity = await opportunities.peek();
    if (lead === undefined && opportunity === undefined) return changed;
    const takeLead =
      lead !== undefined &&
      (opportunity === undefined || shape.timeOf(lead) <= shape.timeOf(opportunity));
    const row = (takeLead ? lead : opportunity) as Row;
    if (changed.length >= pageSize && shape.timeOf(row) !== lastTime) return changed;
    (takeLead ? leads : opportunities).take();
    changed.push({ entity: takeLead ? 'lead' : 'opportunity', row });
    lastTime = shape.timeOf(row);
  }
}

/**
 * The halves that did not change but complete a changed referral's state: the leads of referrals
 * whose
 * opportunity alone changed, and the linked opportunities of changed leads whose opportunity did
 * not change.
 */
export function missingHalvesOf<Row>(
  shape: Pick<RecordShape<Row>, 'referralIdOf' | 'opportunityIdOf' | 'linkedOpportunityOf'>,
  changed: ReadonlyArray<ChangedRecord<Row>>,
): { referralIds: string[]; opportunityIds: string[] } {
  const leadReferrals = new Set<string>();
  const changedOpportunities = new Set<string>();
  for (const { entity, row } of changed) {
    if (entity === 'lead') leadReferrals.add(shape.referralIdOf(row));
    else changedOpportunities.add(shape.opportunityIdOf(row));
  }
  const referralIds = new Set<string>();
  const opportunityIds = new Set<string>();
  for (const { entity, row } of changed) {
    const referralId = shape.referralIdOf(row);
    const linked = entity === 'lead' ? shape.linkedOpportunityOf(row) : undefined;
    if (entity === 'opportunity' && !leadReferrals.has(referralId)) referralIds.add(referralId);
    if (typeof linked === 'string' && !changedOpportunities.has(linked)) opportunityIds.add(linked);
  }
  return { referralIds: [...referralIds], opportunityIds: [...opportunityIds] };
}
