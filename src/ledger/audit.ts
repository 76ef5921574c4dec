// The append-only audit trail: one row per decision the sync made about a referral (created,
// skipped, failed, ...).
import type { Knex } from 'knex';
import {
  chunk,
  fromJsonText,
  ledgerOperation,
  nowIso,
  rowsPerInsert,
  toJsonText,
  toNumber,
} from './dialect.js';
import { TABLE } from './migrations.js';

type AuditAction =
  | 'created'
  | 'updated'
  | 'skipped-unchanged'
  | 'failed'
  | 'quarantined'
  | 'skipped-kind'
  | 'invalid'
  | 'outcome-sent'
  | 'outcome-failed'
  | 'conflict'
  | 'retried'
  | 'alert-sent'
  | (string & {});

export interface AuditEntry {
  id?: number;
  at?: string;
  runId: string;
  referralId: string | null;
  target: string | null;
  action: AuditAction;
  crmRecordId?: string | null;
  detail?: Record<string, unknown> | null;
}

interface AuditRow {
  id?: number | string;
  at: string;
  run_id: string;
  referral_id: string | null;
  target: string | null;
  action: string;
  crm_record_id: string | null;
  detail: string | null;
}

const COLUMNS_PER_ROW = 7;

function toAuditRow(entry: AuditEntry, now: string): AuditRow {
  return {
    at: entry.at ?? now,
    run_id: entry.runId,
    referral_id: entry.referralId,
    target: entry.target,
    action: entry.action,
    crm_record_id: entry.crmRecordId ?? null,
    detail: toJsonText(entry.detail),
  };
}

function fromAuditRow(row: AuditRow): AuditEntry {
  return {
    id: toNumber(row.id),
    at: row.at,
    runId: row.run_id,
    referralId: row.referral_id,
    target: row.target,
    action: row.action,
    crmRecordId: row.crm_record_id,
    detail: fromJsonText(row.detail, `audit entry ${String(row.id)} detail`),
  };
}

/** Appends entries in order (ids grow in the order given); `detail` is stored as JSON text. */
export async function appendAudit(db: Knex, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await ledgerOperation('appendAudit', async () => {
    const now = nowIso();
    for (const batch of chunk(
      entries.map((entry) => toAuditRow(entry, now)),
      rowsPerInsert(db, COLUMNS_PER_ROW),
    )) {
      await db(TABLE.audit).insert(batch);
    }
  });
}

/**
 * A referral's trail, oldest first; with `limit`, its most recent `limit` entries (still oldest
 * first).
 */
export async function auditTrail(
  db: Knex,
  referralId: string,
  options: { limit?: number } = {},
): Promise<AuditEntry[]> {
  return ledgerOperation(`auditTrail("${referralId}")`, async () => {
    const query = db<AuditRow>(TABLE.audit).where({ referral_id: referralId });
    if (options.limit === undefined)
      return ((await query.orderBy('id', 'asc')) as AuditRow[]).map(fromAuditRow);
    const newest = (await query.orderBy('id', 'desc').limit(options.limit)) as AuditRow[];
    return newest.reverse().map(fromAuditRow);
  });
}

/** Everything one run decided, in order. */
export async function auditForRun(
  db: Knex,
  runId: string,
  options: { limit?: number } = {},
): Promise<AuditEntry[]> {
  return ledgerOperation(`auditForRun("${runId}")`, async () => {
    const query = db<AuditRow>(TABLE.audit).where({ run_id: runId }).orderBy('id', 'asc');
    if (options.limit !== undefined) query.limit(options.limit);
    return ((await query) as AuditRow[]).map(fromAuditRow);
  });
}
