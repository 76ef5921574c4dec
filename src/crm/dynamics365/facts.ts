// Dataverse Web API facts the adapter relies on, kept as data: limits, page sizes, entity sets,
// columns, state codes.

/** A $batch carries at most this many operations; the 1001st is refused. */
export const MAX_BATCH_OPERATIONS = 1000;

/**
 * Rows per page asked for with `Prefer: odata.maxpagesize`, and records per change page handed to
 * the engine.
 */
export const CHANGE_PAGE_SIZE = 500;

/**
 * Key values per `$filter=... or ...` lookup, so the query string stays far below URL length
 * limits.
 */
export const LOOKUP_CHUNK_SIZE = 50;

/** Extra rounds for the retryable items of a $batch, after the first attempt. */
export const ITEM_RETRY_ROUNDS = 2;

export const ODATA_HEADERS: Readonly<Record<string, string>> = {
  'OData-Version': '4.0',
  'OData-MaxVersion': '4.0',
  Accept: 'application/json',
};

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export const ENTITY_SETS = { lead: 'leads', opportunity: 'opportunities' } as const;
export const PRIMARY_KEYS = { lead: 'leadid', opportunity: 'opportunityid' } as const;

/** Lead columns read back for outcomes (the alternate-key column is added at run time). */
export const LEAD_STATE_COLUMNS = [
  'leadid',
  'statecode',
  'statuscode',
  'modifiedon',
  'subject',
  'estimatedvalue',
  'estimatedclosedate',
  'description',
  '_qualifyingopportunityid_value',
  'companyname',
] as const;

/** Opportunity columns read back for outcomes (the alternate-key column is added at run time). */
export const OPPORTUNITY_STATE_COLUMNS = [
  'opportunityid',
  'statecode',
  'statuscode',
  'modifiedon',
  'estimatedvalue',
  'estimatedclosedate',
  'actualvalue',
  'actualclosedate',
  'name',
  // The accept notes of the default mapping read opportunity.description first.
  'description',
  '_originatingleadid_value',
] as const;

/**
 * LeadState.Qualified: QualifyLead turned the lead into an opportunity (qualifyingopportunityid).
 */
export const QUALIFIED_LEAD_STATE = 1;
