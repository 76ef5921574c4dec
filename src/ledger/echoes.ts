// Values leadbridge wrote into a referral (an accept's deal name, notes, ...), with what the
// referral held before, so the inbound side does not take them for news.
import type { Knex } from 'knex';
import { chunk, distinct, idsPerQuery, ledgerOperation, nowIso, rowsPerInsert } from './dialect.js';
import { TABLE } from './migrations.js';

export interface ReferralEcho {
  referralId: string;
  /** The referral field, as a dotted path (`name`, `details.notes`). */
  path: string;
  /** What leadbridge wrote there. */
  written: unknown;
  /** What the referral held before leadbridge's first write to that field (null: nothing). */
  original: unknown;
}

interface EchoRow {
  referral_id: string;
  path: string;
  written: string;
  original: string;
  recorded_at: string;
}

const COLUMNS_PER_ROW = 5;

// Values are kept as JSON text: a deal value is a number, a name a text, a missing one null.
function toEchoRow(echo: ReferralEcho, now: string): EchoRow {
  return {
    referral_id: echo.referralId,
    path: echo.path,
    written: JSON.stringify(echo.written ?? null),
    original: JSON.stringify(echo.original ?? null),
    recorded_at: now,
  };
}

function fromEchoRow(row: EchoRow): ReferralEcho {
  return {
    referralId: row.referral_id,
    path: row.path,
    written: JSON.parse(row.written) as unknown,
    original: JSON.parse(row.original) as unknown,
  };
}

/**
 * The echoes recorded for these referrals (one query per few hundred ids); referrals without any
 * are absent.
 */
export async function getEchoes(
  db: Knex,
  referralIds: readonly string[],
): Promise<Map<string, ReferralEcho[]>> {
  return ledgerOperation('getEchoes', async () => {
    const echoes = new Map<string, ReferralEcho[]>();
    for (const ids of chunk(distinct(referralIds), idsPerQuery(db))) {
      const rows = (await db<EchoRow>(TABLE.echoes).whereIn('referral_id', ids)) as EchoRow[];
      for (const row of rows) {
        const list = echoes.get(row.referral_id) ?? [];
        list.push(fromEchoRow(row));
        echoes.set(row.referral_id, list);
      }
    }
    return echoes;
  });
}

/** Records echoes; one per referral and field, a later one replacing an earlier one. */
export async function upsertEchoes(db: Knex, echoes: readonly ReferralEcho[]): Promise<void> {
  if (echoes.length === 0) return;
  await ledgerOperation('upsertEchoes', async () => {
    const now = nowIso();
    const rows = [
      ...new Map(
        echoes.map((e) => [JSON.stringify([e.referralId, e.path]), toEchoRow(e, now)]),
      ).values(),
    ];
    for (const batch of chunk(rows, rowsPerInsert(db, COLUMNS_PER_ROW))) {
      await db(TABLE.echoes)
        .insert(batch)
        .onConflict(['referral_id', 'path'])
        .merge(['written', 'original', 'recorded_at']);
    }
  });
}
