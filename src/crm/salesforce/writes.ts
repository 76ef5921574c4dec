// Salesforce writes: collection upserts (with the org's address codes), expired referrals on leads.
import type { CrmRecordState, MappedRecord, UpsertItemResult } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';
import { backoffDelay, sleep, type RetryPolicy } from '../../core/retry.js';
import { addressPicklistsOf, withAddressCodes, type AddressPicklists } from './address.js';
import type { SalesforceContext, Signal } from './session.js';
import {
  collectionCalls,
  collectionRecord,
  upsertItemResult,
  upsertWithItemRetries,
  type PendingRecord,
} from './upsert.js';

/** What the upserts need besides the shared context. */
export interface WriteContext extends SalesforceContext {
  maxBatchSize: number;
  policy: RetryPolicy;
  /**
   * The org's State and Country/Territory Picklists (null: off), read once from the Lead describe.
   */
  picklists: { current?: Promise<AddressPicklists | null> };
}

export async function upsertLeads(
  ctx: WriteContext,
  records: MappedRecord[],
  signal: Signal,
): Promise<UpsertItemResult[]> {
  const results = await upsertWithItemRetries(records, {
    sendRound: (pending) => upsertRound(ctx, pending, signal),
    waitBeforeRound: async (round, retrying) => {
      const delayMs = backoffDelay(round, ctx.policy);
      ctx.logger.warn('retrying failed collection records', {
        records: retrying,
        round,
        delayMs,
      });
      await sleep(delayMs, signal);
    },
  });
  logFailures(ctx, results);
  return results;
}

/**
 * One collection call per batchSize records of one sObject type, one call at a time; results in
 * `pending` order.
 */
async function upsertRound(
  ctx: WriteContext,
  pending: PendingRecord[],
  signal: Signal,
): Promise<UpsertItemResult[]> {
  const field = ctx.settings.externalIdField;
  const results = new Map<PendingRecord, UpsertItemResult>();
  // The describe is asked for once, and only when a lead carries an address country or state.
  const picklists = pending.some((item) => hasAddressText(item.record))
    ? await orgAddressPicklists(ctx, signal)
    : null;
  for (const call of collectionCalls(pending, ctx.maxBatchSize)) {
    const records = call.items.map((item) =>
      addressed(
        ctx,
        collectionRecord(item.record, field),
        call.sobject,
        picklists,
        item.record.referralId,
      ),
    );
    // Upserts by external id may be repeated: a whole call is retried on 429 / 5xx / network
    // failures.
    const saved: unknown[] = await ctx.session.call(
      `upsert of ${records.length} ${call.sobject} records by ${field}`,
      () => ctx.conn.sobject(call.sobject).upsert(records, field, { allOrNone: false }),
      signal,
    );
    call.items.forEach((item, i) =>
      results.set(item, upsertItemResult(item.record.referralId, saved[i])),
    );
    ctx.logger.debug('collection upsert sent', {
      sobject: call.sobject,
      records: records.length,
    });
  }
  return pending.map((item) => results.get(item) as UpsertItemResult);
}

/**
 * Whether the org has State and Country/Territory Picklists on: it then has a CountryCode field on
 * Lead.
 */
function orgAddressPicklists(ctx: WriteContext, signal: Signal): Promise<AddressPicklists | null> {
  const cache = ctx.picklists;
  cache.current ??= ctx.session
    .call('describe Lead', () => ctx.conn.sobject('Lead').describe(), signal)
    .then(addressPicklistsOf);
  // A failed describe is asked again on the next round rather than remembered.
  cache.current.catch(() => (cache.current = undefined));
  return cache.current;
}

/**
 * A lead's country and state as the org takes them (codes into the code fields); unknown values
 * are left out, said in the log.
 */
function addressed(
  ctx: WriteContext,
  record: Record<string, unknown>,
  sobject: string,
  picklists: AddressPicklists | null,
  referralId: string,
): Record<string, unknown> {
  if (picklists === null || sobject !== 'Lead') return record;
  const { fields, dropped } = withAddressCodes(record, picklists);
  for (const { field, value } of dropped) {
    ctx.logger.warn(
      "address value not in the org's State and Country/Territory picklists; " +
        'left out of the write',
      { referralId, field, value },
    );
  }
  return fields;
}

function logFailures(ctx: WriteContext, results: UpsertItemResult[]): void {
  const failures = results.filter((r): r is Extract<UpsertItemResult, { ok: false }> => !r.ok);
  if (failures.length === 0) return;
  const codes = [...new Set(failures.map((f) => f.error.code))].slice(0, 5);
  ctx.logger.warn('some records were not written', {
    failed: failures.length,
    of: results.length,
    codes,
  });
}

function hasAddressText(record: MappedRecord): boolean {
  return (
    (record.entity ?? 'lead') === 'lead' &&
    (record.fields.Country !== undefined || record.fields.State !== undefined)
  );
}

/**
 * Marks the lead of a referral that expired unanswered with the mapping's
 * `status.expiredReflection`, while the lead is still open (not converted, not closed); false when
 * it was left alone. Writing the same fields twice changes nothing, so a repeat after a lost
 * response is harmless.
 */
export async function reflectExpired(
  ctx: SalesforceContext,
  record: CrmRecordState,
  fields: Record<string, unknown>,
  signal: Signal,
): Promise<boolean> {
  const status = String(record.fields.Status ?? '');
  if (record.entity !== 'lead' || record.fields.IsConverted === true || status.startsWith('Closed'))
    return false;
  await ctx.session.call(
    `update Lead ${record.recordId}`,
    async () => {
      const result = await ctx.conn.sobject('Lead').update({ Id: record.recordId, ...fields });
      if (!result.success) {
        const reasons = (result as { errors?: Array<{ message?: string }> }).errors
          ?.map((e) => e.message)
          .join('; ');
        throw new LeadbridgeError(
          'HTTP_ERROR',
          `salesforce: updating Lead ${record.recordId} failed: ${reasons || 'no reason given'}`,
          { api: 'salesforce' },
        );
      }
    },
    signal,
  );
  ctx.logger.info('expired referral reflected on its lead', {
    referralId: record.referralId,
    crmRecordId: record.recordId,
  });
  return true;
}
