// `leadbridge run` with cluster.enabled: join the cluster, run tenant cycles until SIGTERM /
// SIGINT.
import type { LeadbridgeConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { ClusterWorker } from '../cluster/worker.js';
import { startHealthServer } from '../worker/health.js';
import { clusterLedger, openControl, tenantConfig } from './cluster.js';
import { createRuntime } from './compose.js';
import type { CliContext } from './context.js';

/**
 * Connections one open tenant's ledger may hold: a worker keeps `openTenants` of them, so a worker
 * holds at most 3 (pg-boss) + 2 (control) + `concurrency` (tenant locks) + 2 × `openTenants`
 * connections, 17 at the defaults (4 was 25: four workers then filled PostgreSQL's default 100).
 */
const TENANT_POOL_MAX = 2;

export async function runClusterWorker(
  context: CliContext,
  config: LeadbridgeConfig,
  logger: Logger,
): Promise<number> {
  const ledger = clusterLedger(config, 'cluster.enabled');
  const db = await openControl(config, 'cluster.enabled');
  const worker = new ClusterWorker({
    db,
    connection: ledger.connection,
    config: config.cluster,
    logger,
    openTenant: (tenant) =>
      createRuntime(tenantConfig(config, tenant, context.env), {
        logger: logger.child({ tenant: tenant.id }),
        ledgerPoolMax: TENANT_POOL_MAX,
        tenant: tenant.id,
      }),
  });
  try {
    await worker.start();
  } catch (error) {
    await worker.stop(1_000).catch(() => undefined);
    await db.destroy();
    throw error;
  }
  const healthSettings = config.worker.health;
  // Per worker: fresh while its heartbeat reaches PostgreSQL (3 missed beats read as stale).
  const health = healthSettings.enabled
    ? await startHealthServer({
        host: healthSettings.host,
        port: healthSettings.port,
        metrics: worker.metrics,
        logger,
        health: () => ({
          lastSuccessAt: worker.lastBeatAt,
          startedAt: worker.startedAt,
          maxAgeSeconds: 3 * config.cluster.heartbeatSeconds,
        }),
      })
    : null;
  if (health) logger.info('health endpoint listening', { healthz: `${health.url}/healthz` });
  const signal = await context.waitForShutdown();
  const bound = config.worker.stopTimeoutSeconds;
  logger.info(`${signal}: finishing the tenant cycles in flight, then stopping`, {
    withinSeconds: bound,
  });
  await worker.stop(bound * 1000);
  await health?.close();
  await db.destroy();
  return 0;
}
