// A cluster worker: takes tenant cycles from the job engine, one bounded cycle per job, and
// requeues them.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type PgBoss from 'pg-boss';
import type { ClusterConfig } from '../config/index.js';
import { normaliseError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Runtime } from '../sync/cycle.js';
import { CYCLE_QUEUE, sendCycle, startEngine, TenantLock, type CycleJob } from './engine.js';
import { ClusterMetrics } from './metrics.js';
import { tenantsWithoutWork } from './schedule.js';
import { beat, getTenant, noteCycleEnd, noteCycleStart, type TenantRow } from './store.js';
import { TenantRuntimes, type Lease } from './tenant-runtimes.js';

export interface ClusterWorkerOptions {
  /** The control schema's handle (tenants, workers, cycles tables). */
  db: Knex;
  connection: string;
  config: ClusterConfig;
  logger: Logger;
  /** Builds a tenant's runtime (its config, its ledger schema, its CRM clients). */
  openTenant: (tenant: TenantRow) => Promise<Runtime>;
  metrics?: ClusterMetrics;
}

/** A waiting job for a tenant whose cycle runs elsewhere is tried again this soon. */
const BUSY_RETRY_SECONDS = 2;

export class ClusterWorker {
  readonly id: string;
  readonly startedAt = new Date();
  readonly metrics: ClusterMetrics;
  lastBeatAt: Date | null = null;
  private boss: PgBoss | null = null;
  private running = 0;
  private stopping = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly hardStop = new AbortController();
  /** Wakes idle slots at stop. */
  private readonly stopSignal = new AbortController();
  private readonly slots: Array<Promise<void>> = [];
  private readonly runtimes: TenantRuntimes;

  constructor(private readonly options: ClusterWorkerOptions) {
    this.id =
      options.config.workerName ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`;
    this.metrics = options.metrics ?? new ClusterMetrics(options.config.metricTenants);
    this.runtimes = new TenantRuntimes(options.openTenant, options.config.openTenants);
    setMaxListeners(0, this.hardStop.signal);
  }

  async start(): Promise<void> {
    const { config, logger } = this.options;
    await this.heartbeat();
    this.boss = await startEngine(this.options.connection, config, logger);
    for (let i = 0; i < config.concurrency; i++) this.slots.push(this.slot(this.boss));
    this.every(config.heartbeatSeconds, () => this.heartbeat());
    this.every(Math.max(1, Math.min(5, config.heartbeatSeconds)), () => this.schedule());
    // Every worker's scheduler asks again within seconds: a failed first round only waits for it.
    await this.schedule().catch((error: unknown) =>
      logger.warn('cluster scheduling failed', { error: (error as Error).message }),
    );
    logger.info('cluster worker started', { worker: this.id, concurrency: config.concurrency });
  }

  /**
   * Stops taking jobs, lets the cycles in flight end (aborted after `timeoutMs`), and says goodbye.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.stopSignal.abort();
    const abort = setTimeout(() => this.hardStop.abort(), timeoutMs);
    await Promise.allSettled(this.slots);
    clearTimeout(abort);
    await this.boss?.stop({ graceful: true, wait: true, timeout: 5_000 });
    await this.runtimes.closeAll();
    await this.heartbeat(true).catch(() => undefined);
    this.options.logger.info('cluster worker stopped', { worker: this.id });
  }

  /**
   * One of `concurrency` slots: takes the next job as soon as it is free, and waits `pollSeconds`
   * only when the queue had none. (pg-boss's own work loop waits a whole polling interval after
   * every job, which held a worker to `concurrency` short cycles per `pollSeconds`.) A job whose
   * cycle failed is still completed: the failure is the cycle's, recorded in the cycles table, and
   * the tenant's next job is already sent.
   */
  private async slot(boss: PgBoss): Promise<void> {
    const { config, logger } = this.options;
    while (!this.stopping) {
      const [job] = await boss.fetch<CycleJob>(CYCLE_QUEUE, { batchSize: 1 });
      if (!job) {
        await sleep(config.pollSeconds * 1000, undefined, { signal: this.stopSignal.signal }).catch(
          () => undefined,
        );
        continue;
      }
      try {
        await this.runJob(job.data.tenant);
        await boss.complete(CYCLE_QUEUE, job.id);
      } catch (error) {
        logger.warn('cluster job failed', {
          tenant: job.data.tenant,
          error: (error as Error).message,
        });
        await boss
          .fail(CYCLE_QUEUE, job.id, { message: (error as Error).message })
          .catch(() => undefined);
      }
    }
  }

  private every(seconds: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((error: unknown) =>
        this.options.logger.warn('cluster housekeeping failed', {
          error: (error as Error).message,
        }),
      );
    }, seconds * 1000);
    timer.unref();
    this.timers.push(timer);
  }

  private async heartbeat(stopped = false): Promise<void> {
    const at = new Date();
    await beat(
      this.options.db,
      {
        id: this.id,
        host: os.hostname(),
        pid: process.pid,
        startedAt: this.startedAt.toISOString(),
        running: this.running,
      },
      at,
      stopped,
    );
    this.lastBeatAt = at;
  }

  /**
   * Sends a job to every enabled tenant that has none waiting and no cycle running (a dead worker's
   * too).
   */
  private async schedule(): Promise<void> {
    if (this.stopping || !this.boss) return;
    const due = await tenantsWithoutWork(
      this.options.db,
      this.options.config.bossSchema,
      new Date(),
    );
    for (const tenant of due) await sendCycle(this.boss, tenant.id, tenant.delaySeconds);
  }

  /** One job: the tenant's lock, one bounded cycle, its result, the next job. */
  private async runJob(tenantId: string): Promise<void> {
    const boss = this.boss;
    if (!boss || this.stopping) return;
    const lock = await TenantLock.tryTake(this.options.connection, tenantId);
    if (!lock) {
      await sendCycle(boss, tenantId, BUSY_RETRY_SECONDS);
      return;
    }
    let next: number | null = null;
    try {
      const tenant = await getTenant(this.options.db, tenantId);
      if (!tenant?.enabled) return;
      next = (await this.cycle(tenant)) ? 0 : tenant.intervalSeconds;
    } finally {
      await lock.release();
      if (next !== null && !this.stopping) await sendCycle(boss, tenantId, next);
    }
  }

  /** Runs one cycle for the tenant and records it; true when more is waiting to be read. */
  private async cycle(tenant: TenantRow): Promise<boolean> {
    const { db, config, logger } = this.options;
    const startedAt = new Date();
    const runId = `run-${startedAt.toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 8)}`;
    const log = logger.child({ tenant: tenant.id, runId });
    this.running++;
    await noteCycleStart(db, tenant.id, this.id, startedAt);
    // A cycle stops reading at half the job's lease and is aborted at 90 %, so it never outlives
    // the lease.
    const leaseMs = config.jobExpireSeconds * 1000;
    const soft = Date.now() + leaseMs / 2;
    const abort = AbortSignal.any([this.hardStop.signal, AbortSignal.timeout(leaseMs * 0.9)]);
    // Every request in flight listens to it; hundreds at once are expected.
    setMaxListeners(0, abort);
    let lease: Lease | undefined;
    try {
      const t0 = Date.now();
      lease = await this.runtimes.lease(tenant);
      const openMs = Date.now() - t0;
      const result = await lease.runtime.syncOnce({
        runId,
        signal: abort,
        shouldStop: () => this.stopping || Date.now() > soft,
        maxPages: config.maxPagesPerCycle,
      });
      const down = [...new Set(result.targetsDown.map((failure) => failure.target))];
      const more = result.inbound.more;
      const ok = down.length === 0;
      const finishedAt = new Date();
      await noteCycleEnd(db, tenant.id, {
        startedAt,
        finishedAt,
        ok,
        error: ok ? null : `targets down: ${down.join(', ')}`,
        caughtUp: !more,
      });
      this.metrics.recordCycle(tenant.id, ok, finishedAt.getTime() - startedAt.getTime());
      log.info('tenant cycle done', {
        read: result.inbound.referralsSeen,
        openMs,
        syncMs: Date.now() - t0 - openMs,
        more,
        ok,
        ...(ok ? {} : { targetsDown: down }),
      });
      return more;
    } catch (thrown) {
      const error = normaliseError(thrown);
      const finishedAt = new Date();
      await noteCycleEnd(db, tenant.id, {
        startedAt,
        finishedAt,
        ok: false,
        error: error.message,
        caughtUp: false,
      }).catch(() => undefined);
      this.metrics.recordCycle(tenant.id, false, finishedAt.getTime() - startedAt.getTime());
      if (error.code !== 'ABORTED')
        log.error('tenant cycle failed; it runs again on its interval', { error: error.message });
      this.runtimes.drop(tenant.id);
      return false;
    } finally {
      lease?.release();
      this.running--;
    }
  }
}
