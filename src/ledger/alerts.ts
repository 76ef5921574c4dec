// Alerts already sent (hot lead, nearing expiry, quarantine), so that each one goes out once.
import type { Knex } from 'knex';
import { ledgerOperation, nowIso } from './dialect.js';
import { TABLE } from './migrations.js';

interface AlertRow {
  key: string;
  kind: string;
  referral_id: string | null;
  created_at: string;
}

function toAlertRow(
  alert: { key: string; kind: string; referralId?: string },
  now: string,
): AlertRow {
  return {
    key: alert.key,
    kind: alert.kind,
    referral_id: alert.referralId ?? null,
    created_at: now,
  };
}

/** True when `key` was not recorded before (the caller then sends the alert); false when it was. */
export async function recordAlertOnce(
  db: Knex,
  alert: { key: string; kind: string; referralId?: string },
): Promise<boolean> {
  return ledgerOperation(`recordAlertOnce("${alert.key}")`, async () => {
    const inserted = (await db(TABLE.alerts)
      .insert(toAlertRow(alert, nowIso()))
      .onConflict('key')
      .ignore()
      .returning('key')) as unknown[];
    return inserted.length === 1;
  });
}

/** Undoes recordAlertOnce when sending the alert failed, so that a later run tries again. */
export async function forgetAlert(db: Knex, key: string): Promise<void> {
  await ledgerOperation(`forgetAlert("${key}")`, async () => {
    await db(TABLE.alerts).where({ key }).delete();
  });
}
