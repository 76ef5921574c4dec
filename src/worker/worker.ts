// The long-running loop: poll on an interval with jitter, never overlapping itself, stopping
// cleanly on request.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { normaliseError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { sleep } from '../core/retry.js';
import type { HealthSnapshot } from './health.js';
import { HealthProblems } from './problems.js';
import {
  describeTargetFailure,
  downTargetNames,
  type CycleResult,
  type Runtime,
} from '../sync/cycle.js';

/** The problem name of a target that failed as a whole. */
const TARGET_DOWN = 'target:';
/** The problem name of a lost Partner Center sign-in (auth.kind: user). */
const SIGN_IN = 'partner-center-sign-in';
const CYCLE_FAILED = 'cycle-failed';
/** The first pause after a cycle that failed or had a target down; doubled each time after. */
const UNSETTLED_RETRY_MS = 5_000;
/** The shortest pause before due work, so a clock skewed against the ledger's cannot spin. */
const MIN_WAKE_MS = 1_000;

export interface WorkerOptions {
  /** Returns the runtime for the next cycle (the same one, or a new one after a config change). */
  runtime: () => Promise<Runtime>;
  /** Read before every pause, so a reloaded config applies. */
  intervalMs: () => number;
  jitterMs: () => number;
  /**
   * Pages per cycle: a cycle stays short (and a stop prompt); more pages mean an immediate re-poll.
   */
  maxPagesPerCycle?: number;
  logger?: Logger;
  random?: () => number;
  /** Called after every cycle, successful or not (metrics, alerts, tests). */
  onCycle?: (outcome: CycleOutcome) => Promise<void> | void;
  /** The ids of the referrals each cycle's poll found changed (the silent-webhook watch). */
  onReferralsSeen?: (referralIds: string[]) => void;
}

type CycleOutcome =
  | { ok: true; runId: string; result: CycleResult; durationMs: number }
  | { ok: false; runId: string; error: Error; durationMs: number };

export class Worker {
  private stopping = false;
  private readonly hardStop = new AbortController();
  private readonly wake = new AbortController();
  /**
   * Set by requestEarlyCycle: the next pause is skipped (or cut short when the coalescing timer
   * fires).
   */
  private earlyRequested = false;
  private earlyTimer: NodeJS.Timeout | null = null;
  private nudge: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private readonly logger: Logger;
  lastSuccessAt: Date | null = null;
  readonly startedAt = new Date();
  /** What /healthz reports beyond staleness: a target down (here), other causes from elsewhere. */
  readonly problems = new HealthProblems();
  cycles = 0;
  /** Cycles in a row that failed or had a target down (the backoff before the next one). */
  private unsettledCycles = 0;
  private lastCycleEndedAt = 0;
  /** The runtime of the last cycle: asked when its ledger's work next becomes due. */
  private lastRuntime: Runtime | null = null;

  constructor(private readonly options: WorkerOptions) {
    this.logger = options.logger ?? silentLogger;
    // Every request in flight listens to the hard-stop signal; hundreds at once are expected.
    setMaxListeners(0, this.hardStop.signal);
  }

  /** Starts the loop; the promise resolves once the worker has stopped. */
  run(): Promise<void> {
    this.loop ??= this.loopUntilStopped();
    return this.loop;
  }

  /** Soft stop: the cycle in flight writes and records what it has read, then the loop ends. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.earlyTimer) clearTimeout(this.earlyTimer);
    this.wake.abort();
    await this.loop;
  }

  /**
   * Hard stop: in-flight requests are aborted; whatever was not recorded is redone by the next run.
   */
  abort(): void {
    this.stopping = true;
    if (this.earlyTimer) clearTimeout(this.earlyTimer);
    this.wake.abort();
    this.hardStop.abort();
  }

  /**
   * Asks for a cycle before the interval ends (a webhook callback). Requests within `coalesceMs` of
   * the first make
   * one cycle; a request during a cycle makes one more cycle right after it.
   */
  requestEarlyCycle(coalesceMs = 0): void {
    if (this.stopping) return;
    this.earlyRequested = true;
    if (this.earlyTimer) return;
    this.earlyTimer = setTimeout(() => {
      this.earlyTimer = null;
      this.nudge?.abort();
    }, coalesceMs);
    this.earlyTimer.unref();
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  private async loopUntilStopped(): Promise<void> {
    while (!this.stopping) {
      this.earlyRequested = false;
      const more = await this.cycle();
      if (this.stopping) break;
      if (!more) await this.pause();
    }
    this.logger.info('worker stopped', { cycles: this.cycles });
  }

  /**
   * One cycle; failures are logged and the worker goes on. Resolves true when the stream had more
   * to read.
   */
  private async cycle(): Promise<boolean> {
    const runId =
      `run-${new Date().toISOString().replace(/[:.]/g, '')}-` + `${randomUUID().slice(0, 8)}`;
    const started = Date.now();
    this.cycles++;
    try {
      const runtime = await this.options.runtime();
      this.lastRuntime = runtime;
      const result = await runtime.syncOnce({
        runId,
        signal: this.hardStop.signal,
        shouldStop: () => this.stopping,
        ...(this.options.onReferralsSeen
          ? {
              onReferrals: (items: Array<{ referral: { id: string } }>) =>
                this.options.onReferralsSeen?.(items.map((item) => item.referral.id)),
            }
          : {}),
        ...(this.options.maxPagesPerCycle ? { maxPages: this.options.maxPagesPerCycle } : {}),
      });
      const durationMs = Date.now() - started;
      this.noteTargets(result);
      this.noteSettled(result.targetsDown.length === 0);
      this.logCycle(runId, result, durationMs);
      await this.options.onCycle?.({ ok: true, runId, result, durationMs });
      return result.inbound.more;
    } catch (thrown) {
      const error = normaliseError(thrown);
      const durationMs = Date.now() - started;
      if (error.code !== 'ABORTED') this.noteSettled(false);
      // Only a person can fix a lost sign-in: /healthz fails at once (threshold 0), and a good
      // cycle clears it.
      if (error.code === 'SIGN_IN_REQUIRED')
        this.problems.raise(SIGN_IN, error.message, new Date(), 0);
      // Any other cycle that could not finish is listed at once; a refused credential fails
      // /healthz at once too (waiting does not heal it), anything else after maxAgeSeconds.
      else if (error.code !== 'ABORTED')
        this.problems.raise(
          CYCLE_FAILED,
          `the last cycle failed: ${error.message} [${error.code}]`,
          new Date(),
          error.code === 'AUTH_FAILED' ? 0 : undefined,
        );
      if (error.code !== 'ABORTED')
        this.logger.error('cycle failed; the worker keeps running and tries again next cycle', {
          runId,
          error: error.message,
          code: error.code,
        });
      await this.options.onCycle?.({ ok: false, runId, error, durationMs });
      return false;
    }
  }

  /**
   * A cycle that completed moves lastSuccessAt; each target that failed as a whole in it is a named
   * problem (its
   * `since` the first cycle it failed) until a cycle where it works again, so /healthz says which
   * target and why.
   */
  private noteTargets(result: CycleResult): void {
    const now = new Date();
    // A target whose outcome read failed for want of a Partner Center sign-in is not down: the
    // sign-in is the problem.
    const signInLost = result.targetsDown.find((failure) => failure.code === 'SIGN_IN_REQUIRED');
    const failures = result.targetsDown.filter((failure) => failure.code !== 'SIGN_IN_REQUIRED');
    const down = [...new Set(failures.map((failure) => failure.target))];
    this.lastSuccessAt = now;
    this.problems.clear(CYCLE_FAILED);
    if (signInLost) this.problems.raise(SIGN_IN, signInLost.message, now, 0);
    else this.problems.clear(SIGN_IN);
    this.problems.clearOthers(
      TARGET_DOWN,
      down.map((name) => `${TARGET_DOWN}${name}`),
    );
    for (const name of down) {
      const reason = failures
        .filter((f) => f.target === name)
        .map(describeTargetFailure)
        .join('; ');
      this.problems.raise(
        `${TARGET_DOWN}${name}`,
        `target "${name}" failed as a whole: ${reason}`,
        now,
      );
    }
  }

  private noteSettled(settled: boolean): void {
    this.lastCycleEndedAt = Date.now();
    this.unsettledCycles = settled ? 0 : this.unsettledCycles + 1;
  }

  /** What /healthz reads. */
  healthSnapshot(maxAgeSeconds: number): HealthSnapshot {
    return {
      lastSuccessAt: this.lastSuccessAt,
      startedAt: this.startedAt,
      maxAgeSeconds,
      problems: this.problems.list(),
    };
  }

  private logCycle(runId: string, result: CycleResult, durationMs: number): void {
    const s = result.inbound;
    const down = downTargetNames(result);
    const quarantined = s.quarantined + result.outbound.quarantined;
    const level = down.length > 0 || s.failed > 0 || quarantined > 0 ? 'warn' : 'info';
    this.logger[level]('cycle done', {
      runId,
      durationMs,
      read: s.referralsSeen,
      created: s.created,
      updated: s.updated,
      unchanged: s.unchanged,
      failed: s.failed,
      quarantined,
      outcomesQuarantined: result.outbound.quarantined,
      invalid: s.invalid,
      targetsDown: down.length,
      ...(down.length > 0 ? { targetsFailed: result.targetsDown.map(describeTargetFailure) } : {}),
      more: s.more,
      writtenBack: result.outbox.sent,
    });
  }

  /**
   * Waits one interval (± jitter), or until stopped or an early cycle is due, or until work the
   * ledger holds becomes due (a retry, a killed worker's lease), or, after a cycle that failed or
   * had a target down, a backoff that grows towards the interval.
   */
  private async pause(): Promise<void> {
    // An early cycle asked for during the last cycle whose coalescing window has passed: no pause
    // at all.
    if (this.earlyRequested && !this.earlyTimer) return;
    const jitter = (this.options.random ?? Math.random)() * 2 - 1;
    const intervalEnd =
      Date.now() + Math.max(0, this.options.intervalMs() + jitter * this.options.jitterMs());
    this.nudge = new AbortController();
    const signal = AbortSignal.any([this.wake.signal, this.nudge.signal]);
    try {
      for (;;) {
        const due = await this.nextDue();
        const wakeAt = Math.min(intervalEnd, due.at);
        await sleep(Math.max(0, wakeAt - Date.now()), signal);
        if (wakeAt >= intervalEnd || !due.leaseOnly) return;
        // A lease a live worker renewed meanwhile is not work: sleep on.
        if (await this.claimsExpired()) return;
      }
    } catch {
      // woken up by stop() or by an early cycle
    } finally {
      this.nudge = null;
    }
  }

  /** When the next cycle is due before the interval ends (Infinity: not before). */
  private async nextDue(): Promise<{ at: number; leaseOnly: boolean }> {
    const retryAt =
      this.unsettledCycles > 0
        ? this.lastCycleEndedAt +
          Math.min(this.options.intervalMs(), UNSETTLED_RETRY_MS * 2 ** (this.unsettledCycles - 1))
        : Infinity;
    let ledger: { at: number; leaseOnly: boolean } = { at: Infinity, leaseOnly: false };
    try {
      const next = await this.lastRuntime?.nextDue?.();
      if (next)
        ledger = {
          at: Math.max(Date.parse(next.at), Date.now() + MIN_WAKE_MS),
          leaseOnly: next.leaseOnly,
        };
    } catch (thrown) {
      this.logger.warn('could not read when the ledger next holds due work', {
        error: normaliseError(thrown).message,
      });
    }
    return ledger.at < retryAt ? ledger : { at: retryAt, leaseOnly: false };
  }

  private async claimsExpired(): Promise<boolean> {
    try {
      return (await this.lastRuntime?.claimsExpired?.()) ?? true;
    } catch {
      return true;
    }
  }
}
