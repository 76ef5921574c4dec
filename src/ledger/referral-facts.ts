// Per referral what a person asks first: customer, hot or not, when it came, when it was answered.
import type { Knex } from 'knex';
import { chunk, distinct, idsPerQuery, ledgerOperation, nowIso, rowsPerInsert } from './dialect.js';
import { TABLE } from './migrations.js';

export interface ReferralFacts {
  referralId: string;
  customerName: string | null;
  leadKind: string | null;
  hot: boolean;
  status: string | null;
  substatus: string | null;
  /** When Partner Center created it (createdDateTime), else when leadbridge first read it. */
  receivedAt: string;
  /**
   * When it was first seen accepted or declined (its updatedDateTime then); null while unanswered.
   */
  answeredAt: string | null;
  referralUpdatedAt: string | null;
}

interface FactsRow {
  referral_id: string;
  customer_name: string | null;
  lead_kind: string | null;
  hot: number | boolean;
  status: string | null;
  substatus: string | null;
  received_at: string;
  answered_at: string | null;
  referral_updated_at: string | null;
  seen_at: string;
}

const COLUMNS_PER_ROW = 10;

function fromFactsRow(row: FactsRow): ReferralFacts {
  return {
    referralId: row.referral_id,
    customerName: row.customer_name,
    leadKind: row.lead_kind,
    hot: row.hot === true || Number(row.hot) === 1,
    status: row.status,
    substatus: row.substatus,
    receivedAt: row.received_at,
    answeredAt: row.answered_at,
    referralUpdatedAt: row.referral_updated_at,
  };
}

/**
 * The facts as read now; `answeredAt` of a referral answered earlier is kept (the first answer
 * counts).
 */
export type ReferralSighting = Omit<ReferralFacts, 'answeredAt'> & { answered: boolean };

/** Records what a page of referrals says; one row per referral, later sightings updating it. */
export async function recordReferralFacts(
  db: Knex,
  sightings: readonly ReferralSighting[],
): Promise<void> {
  if (sightings.length === 0) return;
  await ledgerOperation('recordReferralFacts', async () => {
    const ids = distinct(sightings.map((s) => s.referralId));
    const known = new Map<string, FactsRow>();
    for (const batch of chunk(ids, idsPerQuery(db)))
      for (const row of (await db<FactsRow>(TABLE.referralFacts).whereIn(
        'referral_id',
        batch,
      )) as FactsRow[])
        known.set(row.referral_id, row);
    const now = nowIso();
    const rows = new Map<string, FactsRow>();
    for (const s of sightings) {
      const before = known.get(s.referralId);
      rows.set(s.referralId, {
        referral_id: s.referralId,
        customer_name: s.customerName,
        lead_kind: s.leadKind,
        hot: s.hot ? 1 : 0,
        status: s.status,
        substatus: s.substatus,
        received_at: before?.received_at ?? s.receivedAt,
        answered_at:
          before?.answered_at ?? (s.answered ? (s.referralUpdatedAt ?? s.receivedAt) : null),
        referral_updated_at: s.referralUpdatedAt,
        seen_at: now,
      });
    }
    for (const batch of chunk([...rows.values()], rowsPerInsert(db, COLUMNS_PER_ROW)))
      await db(TABLE.referralFacts)
        .insert(batch)
        .onConflict('referral_id')
        .merge([
          'customer_name',
          'lead_kind',
          'hot',
          'status',
          'substatus',
          'received_at',
          'answered_at',
          'referral_updated_at',
          'seen_at',
        ]);
  });
}

/**
 * Referrals still New (no answer yet), the oldest first: the nearest to Partner Center's 14-day
 * expiry.
 */
export async function listUnansweredReferrals(db: Knex, limit: number): Promise<ReferralFacts[]> {
  return ledgerOperation('listUnansweredReferrals', async () => {
    const rows = (await db<FactsRow>(TABLE.referralFacts)
      .where({ status: 'New' })
      .orderBy([{ column: 'received_at' }, { column: 'referral_id' }])
      .limit(limit)) as FactsRow[];
    return rows.map(fromFactsRow);
  });
}

/** Answered referrals received since `since`, for the response-time chart. */
export async function listAnsweredSince(db: Knex, since: string): Promise<ReferralFacts[]> {
  return ledgerOperation('listAnsweredSince', async () => {
    const rows = (await db<FactsRow>(TABLE.referralFacts)
      .whereNotNull('answered_at')
      .andWhere('received_at', '>=', since)
      .orderBy('received_at')) as FactsRow[];
    return rows.map(fromFactsRow);
  });
}

export async function getReferralFacts(
  db: Knex,
  referralId: string,
): Promise<ReferralFacts | null> {
  return ledgerOperation(`getReferralFacts("${referralId}")`, async () => {
    const row = (await db<FactsRow>(TABLE.referralFacts)
      .where({ referral_id: referralId })
      .first()) as FactsRow | undefined;
    return row ? fromFactsRow(row) : null;
  });
}

/** Referrals whose customer name contains `text` (case-insensitive), the newest first. */
export async function findReferralsByCustomer(
  db: Knex,
  text: string,
  limit: number,
): Promise<ReferralFacts[]> {
  return ledgerOperation('findReferralsByCustomer', async () => {
    const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const rows = (await db<FactsRow>(TABLE.referralFacts)
      .whereRaw("lower(customer_name) like ? escape '\\'", [pattern])
      .orderBy([{ column: 'received_at', order: 'desc' }])
      .limit(limit)) as FactsRow[];
    return rows.map(fromFactsRow);
  });
}
