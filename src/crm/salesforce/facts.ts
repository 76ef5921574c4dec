// Salesforce REST API facts the adapter relies on, kept as data: limits, error codes, sObjects and
// the fields read back.
import type { ErrorCode } from '../../core/errors.js';

/** An sObject collection call carries at most this many records. */
export const MAX_COLLECTION_RECORDS = 200;

/** Extra rounds for the retryable records of a collection call, after the first attempt. */
export const ITEM_RETRY_ROUNDS = 2;

/**
 * Records per change page handed to the engine (a page closes only between two SystemModstamp
 * values).
 */
export const CHANGE_PAGE_SIZE = 500;

/**
 * Values per `IN (...)` lookup, so that the SOQL in the query string stays far below URL length
 * limits.
 */
export const LOOKUP_CHUNK_SIZE = 100;

/**
 * jsforce waits 30 minutes for a response by default; a stuck call should fail and be retried well
 * before that.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

/** The JWT bearer assertion's lifetime: Salesforce accepts at most a few minutes. */
export const JWT_LIFETIME_SECONDS = 180;

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export const SOBJECTS = { lead: 'Lead', opportunity: 'Opportunity' } as const;

/** Lead fields read back for outcomes (the external id field is added at run time). */
export const LEAD_STATE_FIELDS = [
  'Id',
  'Status',
  'IsConverted',
  'ConvertedOpportunityId',
  'DeclineReason__c',
  'Company',
  'Description',
  'SystemModstamp',
] as const;

/** Opportunity fields read back for outcomes (the external id field is added at run time). */
export const OPPORTUNITY_STATE_FIELDS = [
  'Id',
  'Name',
  'StageName',
  'IsClosed',
  'IsWon',
  'Amount',
  'CloseDate',
  'Description',
  'LossReason__c',
  'SystemModstamp',
] as const;

/** Record-level error codes (save results) that may succeed when the same record is sent again. */
export const RETRYABLE_ITEM_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_LOCK_ROW',
  'SERVER_UNAVAILABLE',
  'REQUEST_RUNNING_TOO_LONG',
]);

/**
 * A save on a lead that convertLead locked (IsConverted): the lead now lives on as an opportunity.
 */
export const CONVERTED_LEAD_CODE = 'CANNOT_UPDATE_CONVERTED_LEAD';

export interface CallErrorFact {
  /**
   * The HTTP status Salesforce answers with this code (jsforce's errors do not carry the status).
   */
  status: number;
  code: ErrorCode;
}

/**
 * Whole-call error codes: the status decides retrying (policy.retryableStatuses), the code the
 * error's class.
 */
export const CALL_ERRORS: Readonly<Record<string, CallErrorFact>> = {
  INVALID_SESSION_ID: { status: 401, code: 'AUTH_FAILED' },
  INVALID_AUTH_HEADER: { status: 401, code: 'AUTH_FAILED' },
  INSUFFICIENT_ACCESS: { status: 403, code: 'AUTH_FAILED' },
  API_DISABLED_FOR_ORG: { status: 403, code: 'AUTH_FAILED' },
  // The org's rolling 24-hour allocation is spent: retrying within a sync cycle only burns more of
  // nothing.
  REQUEST_LIMIT_EXCEEDED: { status: 403, code: 'RATE_LIMITED' },
  TOO_MANY_REQUESTS: { status: 429, code: 'RATE_LIMITED' },
  NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
  UNKNOWN_EXCEPTION: { status: 500, code: 'HTTP_ERROR' },
  SERVER_UNAVAILABLE: { status: 503, code: 'HTTP_ERROR' },
};
