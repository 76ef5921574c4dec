// One sync cycle, recorded as a run: abandoned claims taken back, then inbound, outbound, the
// outbox drain, the alerts.
import type { LeadbridgeConfig } from '../config/index.js';
import type { TokenCredential } from '../core/auth.js';
import { isLeadbridgeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Notifier } from '../alerts/notifier.js';
import {
  countByState,
  countOutboxByState,
  finishRun,
  OUTBOX_WAITING_STATES,
  setApiBudgetNote,
  startRun,
  type Ledger,
  type NextDue,
} from '../ledger/index.js';
import type { PartnerCenterClient } from '../source/partner-center/index.js';
import { UserSignIn } from '../source/partner-center/sign-in.js';
import { drainOutboxActions } from './actions/index.js';
import { collectSharedDeals, type DealWriter } from './actions/create-referral.js';
import { SET_EXTERNAL_REFERENCE } from './actions/set-external-reference.js';
import type { CycleOptions, InboundSync } from './inbound.js';
import { emptyDrainStats, type DrainStats } from './outbox.js';
import type { OutboundSync } from './outbound.js';
import { noteReferrals } from './referral-facts.js';
import {
  claimSettings,
  leaseFrom,
  recoverAbandoned,
  renewWhileRunning,
  type ClaimSettings,
} from './recovery.js';
import {
  emptyOutboundStats,
  type InboundStats,
  type OutboundStats,
  type SyncTarget,
  type TargetFailure,
} from './types.js';

export interface Runtime {
  readonly config: LeadbridgeConfig;
  readonly ledger: Ledger;
  readonly source: PartnerCenterClient;
  readonly targets: SyncTarget[];
  readonly inbound: InboundSync;
  readonly outbound: OutboundSync;
  readonly logger: Logger;
  /** The alerts of this runtime (the worker sends the webhooks-silent alert through it). */
  readonly notifier: Notifier;
  /** One inbound cycle followed by the outbox drain (external references). */
  syncOnce(options: CycleOptions): Promise<CycleResult>;
  /**
   * When work left by the cycles so far becomes due (a retry, a lease to reclaim), so the worker
   * wakes then rather than a whole interval later.
   */
  nextDue?(): Promise<NextDue | null>;
  /** Whether a claim's lease has run out (its worker stopped renewing it). */
  claimsExpired?(): Promise<boolean>;
  close(): Promise<void>;
}

export interface CycleResult {
  inbound: InboundStats;
  /** CRM outcomes read and sent back to Partner Center. */
  outbound: OutboundStats;
  /** Everything the outbox drain did (CRM id write-backs and outcomes). */
  outbox: DrainStats;
  /**
   * Targets that failed as a whole this cycle, inbound or outbound (a target may appear once per
   * stage).
   */
  targetsDown: TargetFailure[];
}

/** The distinct names of the targets that failed as a whole. */
export function downTargetNames(result: Pick<CycleResult, 'targetsDown'>): string[] {
  return [...new Set(result.targetsDown.map((failure) => failure.target))];
}

/** "salesforce (reading outcomes): INVALID_SESSION_ID: Session expired or invalid; ..." */
export function describeTargetFailure(failure: TargetFailure): string {
  const code = failure.message.includes(failure.code) ? '' : ` [${failure.code}]`;
  return `${failure.target} (${failure.stage}): ${failure.message}${code}`;
}

/**
 * What a cycle records (the worker's Prometheus metrics have these; sync never imports the worker).
 */
interface CycleMetrics {
  recordSyncCounts(
    target: string,
    counts: {
      created: number;
      updated: number;
      unchanged: number;
      failed: number;
      quarantined: number;
    },
  ): void;
  recordOutcomes(target: string, counts: Readonly<Record<string, number>>): void;
  setApiBudget(target: string, budget: { used: number; max: number; holdingBack: boolean }): void;
  setBacklog(rows: ReadonlyArray<{ target: string; state: string; count: number }>): void;
  setOutboxBacklog(rows: ReadonlyArray<{ target: string; state: string; count: number }>): void;
}

/** The running parts a cycle needs; the composition at the edge builds them. */
export interface CycleParts {
  config: LeadbridgeConfig;
  ledger: Ledger;
  logger: Logger;
  metrics: CycleMetrics | undefined;
  targets: SyncTarget[];
  inbound: InboundSync;
  outbound: OutboundSync;
  /** The lead source the outbox actions write to (the Partner Center client). */
  source: PartnerCenterClient;
  /** Creates partner-originated referrals (the create-referral action); absent: none are sent. */
  deals?: DealWriter;
  /** When flagged co-sell deals were last looked for (worker.coSellScanSeconds apart). */
  dealScan?: { lastAt: number };
  notifier: Notifier;
  credential: TokenCredential;
  /**
   * Who this worker is in the ledger's claims, and their lease (default: this process, from the
   * interval).
   */
  claims?: ClaimSettings;
}

/** One cycle, recorded as a run in the ledger (ok, failed or aborted, with its counts). */
export async function runRecordedCycle(
  parts: CycleParts,
  cycle: CycleOptions,
): Promise<CycleResult> {
  const { ledger } = parts;
  const claims = parts.claims ?? claimSettings(parts.config.worker.intervalSeconds);
  await recoverAbandoned(ledger, { runId: cycle.runId, logger: parts.logger, now: new Date() });
  await startRun(ledger.db, {
    runId: cycle.runId,
    kind: 'sync',
    lease: leaseFrom(claims, new Date()),
  });
  const stopRenewing = renewWhileRunning(ledger, claims, parts.logger);
  try {
    const result = await runCycle(parts, cycle, claims);
    const { byTarget: _byTarget, more: _more, failedTargets: _failed, ...totals } = result.inbound;
    const down = downTargetNames(result);
    await finishRun(ledger.db, cycle.runId, {
      status: down.length > 0 ? 'failed' : 'ok',
      stats: {
        ...totals,
        targetsDown: down.length,
        outcomesEnqueued: result.outbound.enqueued,
        outcomesSent: result.outbound.sent,
        outcomesQuarantined: result.outbound.quarantined,
        outboxFailed: result.outbox.failed,
      },
      ...(down.length > 0
        ? { error: result.targetsDown.map(describeTargetFailure).join('; ') }
        : {}),
    });
    return result;
  } catch (error) {
    const status = cycle.signal?.aborted ? 'aborted' : 'failed';
    const signInLost = isLeadbridgeError(error) && error.code === 'SIGN_IN_REQUIRED';
    if (signInLost) await alertSignInLost(parts, error.message, cycle);
    // `signInRequired` in the run's stats is what `leadbridge status` reads to say "sign in again".
    await finishRun(ledger.db, cycle.runId, {
      status,
      stats: signInLost ? { signInRequired: 1 } : {},
      error: (error as Error).message,
    }).catch(() => {});
    throw error;
  } finally {
    stopRenewing();
  }
}

/**
 * Nothing else in the cycle can work without Partner Center; the alert names the lost sign-in so it
 * goes out once.
 */
async function alertSignInLost(
  parts: CycleParts,
  cause: string,
  cycle: CycleOptions,
): Promise<void> {
  const signedIn =
    parts.credential instanceof UserSignIn
      ? await parts.credential.signedIn().catch(() => null)
      : null;
  const signIn = {
    id: signedIn?.signedInAt ?? signedIn?.homeAccountId ?? 'no-sign-in',
    account: signedIn?.username ?? null,
  };
  await parts.notifier.signInRequired(cause, signIn, cycle.runId, cycle.signal);
}

/**
 * Inbound (with hot-lead alerts as pages arrive), outbound, the outbox drain, then the other
 * alerts.
 */
async function runCycle(
  parts: CycleParts,
  cycle: CycleOptions,
  claims: ClaimSettings,
): Promise<CycleResult> {
  const { config, ledger, logger, inbound, outbound, notifier } = parts;
  const { runId, signal } = cycle;
  const stats = await inbound.runCycle({
    ...cycle,
    onReferrals: async (items) => {
      await noteReferrals(ledger.db, items);
      await notifier.hotLeads(items, runId, signal);
      await cycle.onReferrals?.(items);
    },
  });
  // On a soft stop, outcomes wait for the next run: the outbox keeps them, nothing is lost.
  if (cycle.shouldStop?.() === true) {
    return {
      inbound: stats,
      outbound: emptyOutboundStats(),
      outbox: emptyDrainStats(),
      targetsDown: stats.failedTargets,
    };
  }
  const outboundStats = await outbound.collect({ runId, signal });
  // Partner-originated deals: flagged CRM opportunities become create-referral rows (drained
  // below).
  if (dealScanDue(parts)) {
    const deals = await collectSharedDeals(ledger, parts.targets, runId, logger, signal);
    if (deals.dealsRead > 0) logger.info('co-sell deals read', { ...deals, runId });
  }
  const outbox = await drainOutboxActions(
    {
      ledger,
      source: parts.source,
      ...(parts.deals ? { deals: parts.deals } : {}),
      targets: parts.targets,
      logger,
      runId,
      concurrency: config.limits.partnerCenter.concurrency,
      signal,
      lease: () => leaseFrom(claims, new Date()),
    },
    outboundStats,
  );
  stats.externalReferencesWritten = outbox.byKind[SET_EXTERNAL_REFERENCE]?.sent ?? 0;
  await notifier.afterCycle(runId, signal);
  recordMetrics(parts.metrics, stats, outboundStats);
  await recordApiBudgets(parts);
  if (parts.metrics) {
    parts.metrics.setBacklog(await countByState(ledger.db));
    parts.metrics.setOutboxBacklog(await countOutboxByState(ledger.db, OUTBOX_WAITING_STATES));
  }
  return {
    inbound: stats,
    outbound: outboundStats,
    outbox,
    targetsDown: [...stats.failedTargets, ...outboundStats.failedTargets],
  };
}

/** Co-sell deals are looked for every worker.coSellScanSeconds (one CRM query per target). */
function dealScanDue(parts: CycleParts): boolean {
  const scan = (parts.dealScan ??= { lastAt: 0 });
  const now = Date.now();
  if (now - scan.lastAt < parts.config.worker.coSellScanSeconds * 1000) return false;
  scan.lastAt = now;
  return true;
}

/**
 * Each target's API budget as last seen, into the metrics and the ledger (where `status` reads it).
 */
async function recordApiBudgets(parts: CycleParts): Promise<void> {
  for (const target of parts.targets) {
    const budget = target.adapter.apiBudget?.();
    if (!budget) continue;
    parts.metrics?.setApiBudget(target.name, budget);
    await setApiBudgetNote(parts.ledger.db, target.name, {
      ...budget,
      seenAt: new Date().toISOString(),
    });
  }
}

function recordMetrics(
  metrics: CycleMetrics | undefined,
  stats: InboundStats,
  outbound: OutboundStats,
): void {
  if (!metrics) return;
  for (const [target, counts] of Object.entries(stats.byTarget))
    metrics.recordSyncCounts(target, counts);
  metrics.recordOutcomes('all', {
    sent: outbound.sent,
    quarantined: outbound.quarantined,
    superseded: outbound.superseded,
    failed: outbound.failed,
  });
}
