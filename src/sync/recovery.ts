// Crash recovery: the claims and runs a killed worker left behind are taken back, and a live
// worker's are renewed.
//
// An embedded (SQLite) ledger is owned by one process: at its first cycle every row still `sending`
// and every run still `running` was left by a process that died, so they are taken back at once. A
// PostgreSQL ledger may be shared by several workers: each claim names its worker and holds for a
// short lease that the live worker renews while it runs a cycle; any worker takes back a claim or
// run whose lease ran out. A row taken back is claimed again and its handler reads the referral
// fresh before sending, as after a 412: a send that landed is found done.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../core/log.js';
import {
  abortAbandonedRuns,
  appendAudit,
  reclaimOutbox,
  renewClaims,
  type ClaimLease,
  type Ledger,
} from '../ledger/index.js';

/**
 * Who this process is in the ledger's claims: host, pid and a random part (a pid is reused after a
 * restart).
 */
const PROCESS_WORKER_ID = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

export interface ClaimSettings {
  /** The worker id every claim and run of this process carries. */
  owner: string;
  /** How long a claim holds without renewal; renewed every third of it while a cycle runs. */
  leaseMs: number;
}

/**
 * The lease follows the poll interval (half of it, between 5 and 30 s), so a worker restarted after
 * a kill, or a peer, takes back the dead worker's claims within one interval.
 */
export function claimSettings(intervalSeconds: number, owner = PROCESS_WORKER_ID): ClaimSettings {
  return { owner, leaseMs: Math.min(30_000, Math.max(5_000, (intervalSeconds * 1000) / 2)) };
}

export function leaseFrom(claims: ClaimSettings, now: Date): ClaimLease {
  return { owner: claims.owner, until: new Date(now.getTime() + claims.leaseMs).toISOString() };
}

/** Ledgers this process has already recovered at start-up (a reloaded config opens a new one). */
const startedUp = new WeakSet<Ledger>();

/**
 * Takes back abandoned claims and runs before a cycle starts its own; both are audited and logged.
 */
export async function recoverAbandoned(
  ledger: Ledger,
  context: { runId: string; logger: Logger; now: Date },
): Promise<{ reclaimed: number; abortedRuns: string[] }> {
  const startUp = ledger.client === 'sqlite' && !startedUp.has(ledger);
  startedUp.add(ledger);
  const scope = startUp ? ({ all: true } as const) : { expiredBefore: context.now.toISOString() };
  const why = startUp
    ? 'left by a worker that stopped without finishing (found at start-up)'
    : 'its worker stopped renewing its lease (killed or stalled)';
  const rows = await reclaimOutbox(ledger.db, scope);
  const abortedRuns = await abortAbandonedRuns(ledger.db, scope, `aborted: ${why}`);
  if (rows.length > 0) {
    await appendAudit(
      ledger.db,
      rows.map((row) => ({
        at: context.now.toISOString(),
        runId: context.runId,
        referralId: row.referralId,
        target: row.target,
        action: 'outbox-reclaimed',
        detail: { action: row.action, claimedBy: row.claimedBy, reason: why },
      })),
    );
  }
  if (rows.length > 0 || abortedRuns.length > 0)
    context.logger.warn(
      'took back the work of a worker that stopped; it is redone after a re-read',
      {
        runId: context.runId,
        outboxRows: rows.length,
        abortedRuns,
      },
    );
  return { reclaimed: rows.length, abortedRuns };
}

/** Renews this worker's leases every third of the lease until the returned function is called. */
export function renewWhileRunning(
  ledger: Ledger,
  claims: ClaimSettings,
  logger: Logger,
  now: () => Date = () => new Date(),
): () => void {
  const timer = setInterval(() => {
    renewClaims(ledger.db, leaseFrom(claims, now())).catch((error: unknown) =>
      logger.warn('could not renew the lease of this worker’s claims', {
        error: (error as Error).message,
      }),
    );
  }, claims.leaseMs / 3);
  timer.unref();
  return () => clearInterval(timer);
}
