// Claiming alerts once per channel in the ledger (and releasing a failed delivery's claims).
import { forgetAlert, recordAlertOnce, type Ledger } from '../ledger/index.js';
import type { AlertContent, AlertKind } from './alerts-content.js';

export type Channel = 'mail' | 'teams';

/**
 * One ledger key per referral an alert is about; the message is composed from the keys this run
 * claimed.
 */
export interface AlertEntry {
  key: string;
  referralId: string;
  target: string | null;
}

export interface PendingAlert<E extends AlertEntry> {
  kind: AlertKind;
  entries: E[];
  compose: (claimed: E[]) => AlertContent;
}

/**
 * The mail and the Teams post are separate deliveries, so one failing does not repeat the other.
 * One transaction: a digest claims a key per quarantined row, and SQLite would otherwise commit
 * (fsync) each one.
 */
export async function claimAlert<E extends AlertEntry>(
  ledger: Ledger,
  alert: PendingAlert<E>,
  channel: Channel,
): Promise<E[]> {
  if (alert.entries.length === 0) return [];
  return ledger.transaction(async (trx) => {
    const claimed: E[] = [];
    for (const entry of alert.entries) {
      const key = channelKey(entry.key, channel);
      if (
        await recordAlertOnce(trx, {
          key,
          kind: alert.kind,
          ...(entry.referralId ? { referralId: entry.referralId } : {}),
        })
      )
        claimed.push(entry);
    }
    return claimed;
  });
}

/** Gives back claimed keys whose delivery failed, so that the next cycle tries them again. */
export async function releaseAlert(
  ledger: Ledger,
  claimed: AlertEntry[],
  channel: Channel,
): Promise<void> {
  for (const entry of claimed) await forgetAlert(ledger.db, channelKey(entry.key, channel));
}

function channelKey(key: string, channel: Channel): string {
  return channel === 'mail' ? key : `${key}:teams`;
}
