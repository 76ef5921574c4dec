// `status` in cluster mode: workers alive, jobs waiting and running, each tenant's lag and last
// result.
import type { LeadbridgeConfig } from '../config/index.js';
import { jobCounts, runningTenants } from '../cluster/schedule.js';
import { listTenantCycles, listTenants, listWorkers } from '../cluster/store.js';
import { openControl } from './cluster.js';

interface ClusterStatus {
  workers: Array<{ id: string; alive: boolean; running: number; beatAt: string }>;
  workersAlive: number;
  jobs: { waiting: number; running: number };
  tenants: Array<{
    id: string;
    enabled: boolean;
    running: boolean;
    /**
     * Age of the oldest change that may not be synced yet: now minus the last caught-up cycle's
     * start.
     */
    lagSeconds: number | null;
    lastResult: string | null;
    lastError: string | null;
    lastFinishedAt: string | null;
    lastWorker: string | null;
  }>;
}

export async function collectClusterStatus(
  config: LeadbridgeConfig,
  now: Date,
): Promise<ClusterStatus> {
  const db = await openControl(config, 'status');
  try {
    const aliveAfter = now.getTime() - 3 * config.cluster.heartbeatSeconds * 1000;
    const workers = (await listWorkers(db)).map((w) => ({
      id: w.id,
      alive: w.stoppedAt === null && Date.parse(w.beatAt) >= aliveAfter,
      running: w.running,
      beatAt: w.beatAt,
    }));
    const jobs = await jobCounts(db, config.cluster.bossSchema).catch(() => ({
      waiting: 0,
      running: 0,
    }));
    const running = await runningTenants(db);
    const cycles = new Map((await listTenantCycles(db)).map((c) => [c.tenant, c]));
    const tenants = (await listTenants(db)).map((t) => {
      const c = cycles.get(t.id);
      const since = c?.caughtUpAt ? Date.parse(c.caughtUpAt) : null;
      return {
        id: t.id,
        enabled: t.enabled,
        running: running.has(t.id),
        lagSeconds: since === null ? null : Math.max(0, Math.round((now.getTime() - since) / 1000)),
        lastResult: c?.lastResult ?? null,
        lastError: c?.lastError ?? null,
        lastFinishedAt: c?.lastFinishedAt ?? null,
        lastWorker: c?.lastWorker ?? null,
      };
    });
    return { workers, workersAlive: workers.filter((w) => w.alive).length, jobs, tenants };
  } finally {
    await db.destroy();
  }
}

export function formatClusterStatus(status: ClusterStatus): string {
  const lines = [
    `cluster: ${status.workersAlive} worker(s) alive, jobs waiting ${status.jobs.waiting}, ` +
      `running ${status.jobs.running}`,
    ...status.workers.map(
      (w) =>
        `  worker ${w.id}: ${w.alive ? 'alive' : 'gone'}, ${w.running} running, beat ${w.beatAt}`,
    ),
    `tenants: ${status.tenants.length}`,
    ...status.tenants.map(
      (t) =>
        `  ${t.id}: ${t.enabled ? '' : 'disabled, '}${t.running ? 'running, ' : ''}lag ` +
        `${t.lagSeconds === null ? 'never caught up' : `${t.lagSeconds} s`}, last ` +
        `${t.lastResult ?? 'none'}${t.lastFinishedAt ? ` at ${t.lastFinishedAt}` : ''}` +
        `${t.lastWorker ? ` on ${t.lastWorker}` : ''}${t.lastError ? ` (${t.lastError})` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
