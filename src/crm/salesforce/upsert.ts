// Collection upserts by external id as pure pieces: the records to send, the calls to split them
// into, results read back.
import type { CrmItemError, MappedRecord, UpsertItemResult } from '../adapter.js';
import { CONVERTED_LEAD_CODE, ITEM_RETRY_ROUNDS, RETRYABLE_ITEM_CODES, SOBJECTS } from './facts.js';

export interface PendingRecord {
  record: MappedRecord;
  /** Position in the caller's input, where its result goes. */
  index: number;
}

/**
 * The record as sent: its mapped fields, with the external id field always set from the referral
 * id.
 */
export function collectionRecord(
  record: MappedRecord,
  externalIdField: string,
): Record<string, unknown> {
  return { ...record.fields, [externalIdField]: record.referralId };
}

export interface CollectionCall {
  sobject: (typeof SOBJECTS)[keyof typeof SOBJECTS];
  items: PendingRecord[];
}

/**
 * Splits records into calls of at most `batchSize`, one sObject type per call (the upsert URL names
 * the type).
 */
export function collectionCalls(
  pending: readonly PendingRecord[],
  batchSize: number,
): CollectionCall[] {
  const calls: CollectionCall[] = [];
  for (const entity of ['lead', 'opportunity'] as const) {
    const items = pending.filter((item) => (item.record.entity ?? 'lead') === entity);
    for (let i = 0; i < items.length; i += batchSize)
      calls.push({ sobject: SOBJECTS[entity], items: items.slice(i, i + batchSize) });
  }
  return calls;
}

interface SaveErrorShape {
  statusCode?: unknown;
  errorCode?: unknown;
  message?: unknown;
  fields?: unknown;
}

/**
 * One entry of a collection response (`{id, success, errors[{statusCode, message, fields}],
 * created}`) as a result.
 */
export function upsertItemResult(referralId: string, saved: unknown): UpsertItemResult {
  if (typeof saved !== 'object' || saved === null) {
    // Nothing says the record was written; an upsert by external id may be sent again safely.
    return failed(referralId, {
      code: 'MISSING_SAVE_RESULT',
      message: 'the collection response has no result for this record',
      retryable: true,
    });
  }
  const { id, success, created, errors } = saved as {
    id?: unknown;
    success?: unknown;
    created?: unknown;
    errors?: unknown;
  };
  if (success === true && typeof id === 'string' && id !== '')
    return { referralId, ok: true, recordId: id, created: created === true };
  if (success === true) {
    return failed(referralId, {
      code: 'MISSING_RECORD_ID',
      message: 'the save result reports success without a record id',
      retryable: false,
    });
  }
  return failed(referralId, itemError(Array.isArray(errors) ? (errors as SaveErrorShape[]) : []));
}

/**
 * Salesforce's own code (collections say `statusCode`, single-record APIs `errorCode`) and message,
 * verbatim.
 */
function itemError(errors: readonly SaveErrorShape[]): CrmItemError {
  const first = errors[0];
  if (!first)
    return {
      code: 'UNKNOWN_ERROR',
      message: 'the save result reports failure without an error',
      retryable: false,
    };
  const code =
    typeof first.statusCode === 'string'
      ? first.statusCode
      : typeof first.errorCode === 'string'
        ? first.errorCode
        : 'UNKNOWN_ERROR';
  // More than one error on a record is rare; the others are kept after the first one's text.
  const message = errors
    .map((e) => (typeof e.message === 'string' ? e.message : ''))
    .filter((m) => m !== '')
    .join('; ');
  const fields = [
    ...new Set(
      errors.flatMap((e) =>
        Array.isArray(e.fields) ? e.fields.filter((f): f is string => typeof f === 'string') : [],
      ),
    ),
  ];
  return {
    code,
    message,
    retryable: RETRYABLE_ITEM_CODES.has(code),
    ...(fields.length > 0 ? { fields } : {}),
    // The save result does not name the opportunity the lead became; the change read names it
    // later.
    ...(code === CONVERTED_LEAD_CODE ? { convertedInto: null } : {}),
  };
}

function failed(referralId: string, error: CrmItemError): UpsertItemResult {
  return { referralId, ok: false, error };
}

export interface ItemRetryOptions {
  /** Sends one round: a result per pending record, in the order given. */
  sendRound: (pending: PendingRecord[]) => Promise<UpsertItemResult[]>;
  /** Waits before retry round `round` (1, 2...). */
  waitBeforeRound: (round: number, retrying: number) => Promise<void>;
  rounds?: number;
}

/**
 * Sends every record, then again only the ones that failed retryably, up to `rounds` more times;
 * results in input order.
 */
export async function upsertWithItemRetries(
  records: readonly MappedRecord[],
  options: ItemRetryOptions,
): Promise<UpsertItemResult[]> {
  const results = new Array<UpsertItemResult>(records.length);
  let pending: PendingRecord[] = [];
  records.forEach((record, index) => {
    if (record.referralId.trim() === '') results[index] = blankReferralId(record);
    else pending.push({ record, index });
  });
  const rounds = options.rounds ?? ITEM_RETRY_ROUNDS;
  for (let round = 0; pending.length > 0; round++) {
    const outcomes = await options.sendRound(pending);
    const retry = pending.filter((item, i) => {
      const outcome = outcomes[i] ?? upsertItemResult(item.record.referralId, undefined);
      results[item.index] = outcome;
      return !outcome.ok && outcome.error.retryable;
    });
    if (retry.length === 0 || round >= rounds) break;
    await options.waitBeforeRound(round + 1, retry.length);
    pending = retry;
  }
  return results;
}

function blankReferralId(record: MappedRecord): UpsertItemResult {
  return failed(record.referralId, {
    code: 'INVALID_REFERRAL_ID',
    message: 'the referral id is blank, so the record has no external id to upsert by',
    retryable: false,
  });
}
