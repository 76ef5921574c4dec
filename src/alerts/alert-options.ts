// What an AlertSender is given and what it answers: its options, metrics port, and sent / failed
// counts.
import type { TokenCredential } from '../core/auth.js';
import type { Logger } from '../core/log.js';
import type { RetryPolicy } from '../core/retry.js';
import type { AlertsConfig } from '../config/alerts.js';
import type { Ledger } from '../ledger/index.js';

export interface AlertCounts {
  /** Messages delivered (a mail, a Teams post). */
  sent: number;
  /** Messages that failed; their ledger keys were released so the next cycle tries again. */
  failed: number;
  /** Why each failed message failed (what was sent where, and Graph's answer). */
  errors: string[];
}

/** What alerts count (the worker's metrics have these; alerts never import the worker). */
export interface AlertMetrics {
  recordApiCall(info: {
    api: string;
    method: string;
    status: number | null;
    durationMs: number;
  }): void;
  recordAlertSent(kind: string, count?: number): void;
}

export interface AlertSenderOptions {
  config: AlertsConfig;
  /** Defaults to the credential that config.graph.auth describes. */
  credential?: TokenCredential;
  ledger: Ledger;
  logger?: Logger;
  now?: () => Date;
  metrics?: AlertMetrics;
  /** The referral's page in the Partner Center portal. */
  referralLink?: (referralId: string) => string;
  retryPolicy?: RetryPolicy;
  /** How many quarantined rows one digest looks at (oldest first). */
  digestScanLimit?: number;
}

export interface SendOptions {
  /**
   * Stops waiting on a Retry-After (and aborts the request) when the worker shuts down; the alert
   * is tried again later.
   */
  signal?: AbortSignal;
}

export function zeroCounts(): AlertCounts {
  return { sent: 0, failed: 0, errors: [] };
}

export function addCounts(total: AlertCounts, more: AlertCounts): void {
  total.sent += more.sent;
  total.failed += more.failed;
  total.errors.push(...more.errors);
}
