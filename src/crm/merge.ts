// Merges a CRM's changed leads and opportunities into one state per referral (each adapter names its own columns).
import type { CrmRecordState } from './adapter.js';

/** How one CRM's rows are read: which column holds what, and how a state is built from them. */
export interface RecordShape<Row> {
  referralIdOf(row: Row): string;
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
 * One state per referral, in the order the referrals first changed: the lead with its linked opportunity (or an
 * opportunity carrying the same referral id); an opportunity whose lead does not exist stands alone. `complements`
 * are the unchanged halves fetched to complete a state (the lead of a changed opportunity, and the reverse).
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
  for (const row of complements.opportunities) opportunitiesById.set(shape.opportunityIdOf(row), row);
  return [...referralOrder].map((referralId) => {
    const lead = leadsByReferral.get(referralId);
    const linked = lead === undefined ? undefined : shape.linkedOpportunityOf(lead);
    const opportunity = (typeof linked === 'string' ? opportunitiesById.get(linked) : undefined) ?? opportunitiesByReferral.get(referralId);
    return lead ? shape.leadState(referralId, lead, opportunity) : shape.opportunityState(referralId, opportunity as Row);
  });
}
