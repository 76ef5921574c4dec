// The HubSpot calls the adapter makes, as one small port (the official client behind it, a fake in
// unit tests).
import type { CrmItemError } from '../adapter.js';
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

/** One input's outcome in a batch answer: its record, or HubSpot's refusal of it (a 207 entry). */
export type ItemOutcome = UpsertedRow | { error: CrmItemError };

export function isRefused(outcome: ItemOutcome | undefined): outcome is { error: CrmItemError } {
  return outcome !== undefined && 'error' in outcome;
}

/** A record to create, with the records it is associated with at once (default types). */
interface CreateInput {
  id: string;
  properties: Record<string, string>;
  associations: Array<{ to: HubSpotObject; id: string }>;
}

export interface HubSpotCalls {
  /**
   * One batch upsert by the referral id property, outcomes in input order (undefined: HubSpot
   * returned nothing for it); throws when HubSpot refuses the whole call.
   */
  upsert(
    object: HubSpotObject,
    inputs: Array<{ id: string; properties: Record<string, string> }>,
  ): Promise<Array<ItemOutcome | undefined>>;
  /**
   * One batch create with inline associations and a trace id per input, so that HubSpot answers
   * each input (207); outcomes in input order; throws when HubSpot refuses the whole call.
   */
  create(object: HubSpotObject, inputs: CreateInput[]): Promise<Array<ItemOutcome | undefined>>;
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
  /**
   * Default associations between pairs of records (one batch call); the pairs HubSpot refused
   * (207), keyed by `from` id.
   */
  associate(
    from: HubSpotObject,
    to: HubSpotObject,
    pairs: Array<{ from: string; to: string }>,
  ): Promise<Map<string, CrmItemError>>;
  /** The records of type `to` associated with each record of `from` (one batch call). */
  associated(from: HubSpotObject, to: HubSpotObject, ids: string[]): Promise<Map<string, string[]>>;
}
