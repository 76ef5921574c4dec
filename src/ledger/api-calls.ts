// API calls per API in 5-minute buckets (calls, 429s, errors): the console's chart of recent hours.
import type { Knex } from 'knex';
import { ledgerOperation, toNumber } from './dialect.js';
import { TABLE } from './migrations.js';

const API_CALL_BUCKET_MINUTES = 5;

export interface ApiCallCount {
  /** The bucket's start, ISO-8601 UTC. */
  bucket: string;
  api: string;
  calls: number;
  throttled: number;
  errors: number;
}

/** The bucket an instant falls in: its start, rounded down to the bucket size. */
export function apiCallBucket(at: Date): string {
  const size = API_CALL_BUCKET_MINUTES * 60_000;
  return new Date(Math.floor(at.getTime() / size) * size).toISOString();
}

/** Adds counts to their buckets (one row per bucket and API, summed). */
export async function addApiCallCounts(db: Knex, counts: readonly ApiCallCount[]): Promise<void> {
  if (counts.length === 0) return;
  await ledgerOperation('addApiCallCounts', async () => {
    await db.transaction(async (trx) => {
      for (const count of counts) {
        await trx(TABLE.apiCalls)
          .insert(count)
          .onConflict(['bucket', 'api'])
          .merge({
            calls: trx.raw('?? + ?', [`${TABLE.apiCalls}.calls`, count.calls]),
            throttled: trx.raw('?? + ?', [`${TABLE.apiCalls}.throttled`, count.throttled]),
            errors: trx.raw('?? + ?', [`${TABLE.apiCalls}.errors`, count.errors]),
          });
      }
    });
  });
}

/** Buckets from `since` on, oldest first. */
export async function apiCallCountsSince(db: Knex, since: string): Promise<ApiCallCount[]> {
  return ledgerOperation('apiCallCountsSince', async () => {
    const rows = (await db(TABLE.apiCalls)
      .where('bucket', '>=', since)
      .orderBy([{ column: 'bucket' }, { column: 'api' }])) as Array<Record<string, unknown>>;
    return rows.map((row) => ({
      bucket: String(row.bucket),
      api: String(row.api),
      calls: toNumber(row.calls),
      throttled: toNumber(row.throttled),
      errors: toNumber(row.errors),
    }));
  });
}
