// Upserts by alternate key in a $batch: the operations to send and the per-record results read back
// (pure).
import type { CrmItemError, MappedRecord, UpsertItemResult } from '../adapter.js';
import { parseRetryAfter } from '../../core/http.js';
import type { RetryPolicy } from '../../core/retry.js';
import type { BatchOperation, BatchResponsePart } from './batch.js';
import { ENTITY_SETS, PRIMARY_KEYS } from './facts.js';
import { alternateKeyPath, entityIdFromUrl, parseDataverseError, queryString } from './odata.js';

/**
 * The PATCH that creates or updates the record addressed by its referral id. Without a
 * representation Dataverse
 * answers 204 either way, so it is asked for (trimmed to the primary key): 201 means created, 200
 * updated.
 */
export function upsertOperation(
  record: MappedRecord,
  contentId: string,
  apiRoot: string,
  keyColumn: string,
): BatchOperation {
  const entity = record.entity ?? 'lead';
  return {
    contentId,
    method: 'PATCH',
    url:
      `${apiRoot}${alternateKeyPath(ENTITY_SETS[entity], keyColumn, record.referralId)}` +
      `${queryString({ $select: PRIMARY_KEYS[entity] })}`,
    headers: { Prefer: 'return=representation' },
    body: record.fields,
  };
}

export interface ItemOutcome {
  result: UpsertItemResult;
  /** Seconds the server asked us to wait before retrying this item. */
  retryAfterSeconds?: number;
}

/** Turns the response part for one record (or its absence) into that record's result. */
export function upsertOutcome(
  record: MappedRecord,
  response: BatchResponsePart | undefined,
  policy: RetryPolicy,
): ItemOutcome {
  const { referralId } = record;
  if (!response) {
    // The server stopped before this operation: nothing was written, so sending it again is safe.
    return failed(referralId, {
      code: 'BATCH_ITEM_MISSING',
      message: 'the $batch response has no part for this operation',
      retryable: true,
    });
  }
  if (response.status >= 200 && response.status < 300) return succeeded(referralId, response);
  const { code, message } = parseDataverseError(response.body);
  const fields = fieldsNamedIn(message);
  return {
    ...failed(referralId, {
      code: code ?? `HTTP_${response.status}`,
      message: message ?? (response.body.trim() || `HTTP ${response.status}`),
      retryable: policy.retryableStatuses.includes(response.status),
      status: response.status,
      ...(fields ? { fields } : {}),
    }),
    retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
  };
}

function succeeded(referralId: string, response: BatchResponsePart): ItemOutcome {
  const recordId = entityIdFromUrl(response.headers['odata-entityid']) ?? idFromBody(response.body);
  if (!recordId) {
    return failed(referralId, {
      code: 'MISSING_ENTITY_ID',
      message: `HTTP ${response.status} without an OData-EntityId header naming the record`,
      retryable: false,
      status: response.status,
    });
  }
  // 201: created; 200 (representation) or 204 (a server ignoring the preference): updated.
  return { result: { referralId, ok: true, recordId, created: response.status === 201 } };
}

function failed(referralId: string, error: CrmItemError): ItemOutcome {
  return { result: { referralId, ok: false, error } };
}

/** The representation carries the primary key, for a server that sends no OData-EntityId. */
function idFromBody(body: string): string | undefined {
  if (!body.trim().startsWith('{')) return undefined;
  try {
    const row = JSON.parse(body) as Record<string, unknown>;
    const id = row.leadid ?? row.opportunityid;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Dataverse names the offending column in quotes: `Invalid property 'lb_x' was found ...`, `The
 * length of the
 * 'subject' attribute ... exceeded`, `The value 9 of 'leadsourcecode' on record of type 'lead' is
 * outside the
 * valid range` (the validation messages of the Web API).
 */
const COLUMN_PATTERNS = [
  /property '([^']+)'/i,
  /the '([^']+)' attribute/i,
  /of '([^']+)' on record of type/i,
];

function fieldsNamedIn(message: string | undefined): string[] | undefined {
  for (const pattern of COLUMN_PATTERNS) {
    const match = pattern.exec(message ?? '');
    if (match?.[1]) return [match[1]];
  }
  return undefined;
}

/** A record without a referral id has no alternate key: it fails alone, without a request. */
export function blankReferralId(record: MappedRecord): UpsertItemResult {
  return {
    referralId: record.referralId,
    ok: false,
    error: {
      code: 'INVALID_REFERRAL_ID',
      message: 'the referral id is blank, so the record has no alternate key',
      retryable: false,
    },
  };
}
