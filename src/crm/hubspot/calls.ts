// The HubSpot calls the adapter makes, as one small port (the official client behind it, a fake in
// unit tests).
import type { HubSpotObject } from './facts.js';

/** A record as the objects API returns it; property values are texts (null when unset). */
export interface HubSpotRow {
  id: string;
  properties: Record<string, string | null>;
}

export interface UpsertedRow extends HubSpotRow {
  created: boolean;
}

export interface SearchRequest {
  filterGroups: Array<{
    filters: Array<{ propertyName: string; operator: string; value?: string }>;
  }>;
  sorts: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>;
  properties: string[];
  limit: number;
  after?: string;
}

export interface HubSpotCalls {
  /**
   * One batch upsert by the referral id property, results in input order; throws when HubSpot
   * refuses the call.
   */
  upsert(
    object: HubSpotObject,
    inputs: Array<{ id: string; properties: Record<string, string> }>,
  ): Promise<Array<UpsertedRow | undefined>>;
  /** One batch read by the referral id property; ids HubSpot does not have are left out. */
  readByReferralIds(
    object: HubSpotObject,
    referralIds: string[],
    properties: readonly string[],
  ): Promise<HubSpotRow[]>;
  /** One page of a search. */
  search(
    object: HubSpotObject,
    request: SearchRequest,
  ): Promise<{ results: HubSpotRow[]; after: string | null }>;
  /** Default associations between pairs of records (one batch call). */
  associate(
    from: HubSpotObject,
    to: HubSpotObject,
    pairs: Array<{ from: string; to: string }>,
  ): Promise<void>;
  /** The records of type `to` associated with each record of `from` (one batch call). */
  associated(from: HubSpotObject, to: HubSpotObject, ids: string[]): Promise<Map<string, string[]>>;
}
