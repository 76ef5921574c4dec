// `leadbridge run`: the long-running worker, with a clean stop on SIGTERM / SIGINT and an optional
// health endpoint.
import type { Logger } from '../core/log.js';
import type http from 'node:http';
import { DEFAULT_RETENTION_DAYS, addApiCallCounts, pruneIfDue } from '../ledger/index.js';
import type { Runtime } from '../sync/cycle.js';
import { assertAccessIsSafe } from '../console/security.js';
import { healthReport, startHealthServer } from '../worker/health.js';
import { consoleAccess, consoleListener } from './console.js';
import { WorkerMetrics } from '../worker/metrics.js';
import { RuntimeHolder } from './runtime-holder.js';
import { Worker } from '../worker/worker.js';
import { WebhookTrigger } from './webhook-trigger.js';
import { createWebhookRegistrationClient } from './compose.js';
import type { CliContext } from './context.js';

export interface RunOptions {
  context: CliContext;
  configFile: string;
  logger: Logger;
}

export async function runWorker({ context, configFile, logger }: RunOptions): Promise<number> {
  const metrics = new WorkerMetrics();
  const runtimes = new RuntimeHolder({
    configFile,
    env: context.env,
    cwd: context.cwd,
    logger,
    metrics,
  });
  // an invalid config or mapping, or an unusable ledger, stops here with the reason
  await runtimes.start();
  await refuseInvalidMappings(runtimes, context, logger);
  const settings = () => runtimes.config!.worker;
  let webhooks: WebhookTrigger | null = null;
  const worker = new Worker({
    runtime: async () => {
      const runtime = await runtimes.forNextCycle();
      await pruneLedgerIfDue(runtime, logger);
      return runtime;
    },
    intervalMs: () => settings().intervalSeconds * 1000,
    jitterMs: () => settings().jitterSeconds * 1000,
    maxPagesPerCycle: settings().maxPagesPerCycle,
    logger,
    onCycle: async (outcome) => {
      if (outcome.ok)
        metrics.recordCycle(outcome.result.inbound, outcome.durationMs, {
          succeeded: outcome.result.targetsDown.length === 0,
        });
      await keepApiCallCounts(runtimes, metrics, logger);
      await webhooks?.afterCycle();
    },
    onReferralsSeen: (ids) => webhooks?.watch.polled(ids),
  });
  webhooks = await startWebhooks(runtimes, worker, context, logger);
  const healthSettings = settings().health;
  const health = healthSettings.enabled
    ? await startHealthServer({
        host: healthSettings.host,
        port: healthSettings.port,
        metrics,
        logger,
        health: () => worker.healthSnapshot(settings().health.maxAgeSeconds),
        mounts: consoleMount(runtimes, worker, { context, logger, host: healthSettings.host }),
      })
    : null;
  if (health)
    logger.info('health endpoint listening', {
      healthz: `${health.url}/healthz`,
      metrics: `${health.url}/metrics`,
      console: `${health.url}/console`,
    });
  void context.waitForShutdown().then((signal) => {
    const bound = settings().stopTimeoutSeconds;
    logger.info(`${signal}: finishing the cycle in flight, then stopping (again to stop at once)`, {
      withinSeconds: bound,
    });
    const timer = setTimeout(() => {
      logger.warn(
        'the cycle in flight did not finish in time; aborting it (the next run redoes what was ' +
          'not recorded)',
      );
      worker.abort();
    }, bound * 1000);
    timer.unref();
    void worker.stop().finally(() => clearTimeout(timer));
  });
  logger.info('worker started', {
    config: configFile,
    intervalSeconds: settings().intervalSeconds,
    targets: runtimes.config!.targets.filter((t) => t.enabled).map((t) => t.name),
  });
  await worker.run();
  await webhooks?.close();
  await health?.close();
  await runtimes.close();
  return 0;
}

/**
 * Retention (ledger.retention.days), at most once a day; a failed prune is logged, tried next
 * cycle.
 */
async function pruneLedgerIfDue(runtime: Runtime, logger: Logger): Promise<void> {
  try {
    const days = runtime.config.ledger.retention?.days ?? DEFAULT_RETENTION_DAYS;
    const pruned = await pruneIfDue(runtime.ledger.db, { days, now: new Date() });
    if (pruned)
      logger.info('ledger pruned', {
        retentionDays: days,
        before: pruned.cutoff,
        audit: pruned.audit,
        outbox: pruned.outbox,
        runs: pruned.runs,
      });
  } catch (error) {
    logger.warn('ledger prune failed; tried again next cycle', {
      error: (error as Error).message,
    });
  }
}

/** The callback listener when webhooks.enabled: callbacks wake the worker, silence is reported. */
async function startWebhooks(
  runtimes: RuntimeHolder,
  worker: Worker,
  context: CliContext,
  logger: Logger,
): Promise<WebhookTrigger | null> {
  const config = runtimes.config!;
  if (!config.webhooks.enabled) return null;
  const trigger = new WebhookTrigger({
    config: config.webhooks,
    cwd: context.cwd,
    worker,
    logger: logger.child({ component: 'webhooks' }),
    alert: async (report, detail, reregistered) => {
      const runtime = await runtimes.forNextCycle();
      await runtime.notifier.webhooksSilent(report.since, detail, reregistered, 'webhooks');
    },
    reregister: async (url) => {
      await createWebhookRegistrationClient(runtimes.config!, logger).register(url);
    },
  });
  try {
    const url = await trigger.start();
    logger.info('webhook callbacks listening', { url });
  } catch (error) {
    await runtimes.close();
    throw error;
  }
  return trigger;
}

/**
 * The console under /console on the health port; not served (with a warning) on a non-loopback bind
 * without a token.
 */
function consoleMount(
  runtimes: RuntimeHolder,
  worker: Worker,
  options: { context: CliContext; logger: Logger; host: string },
): Array<{ prefix: string; listener: http.RequestListener }> {
  const access = consoleAccess(options.host, options.context.env);
  try {
    assertAccessIsSafe(access);
  } catch (error) {
    options.logger.warn(`the console is not served: ${(error as Error).message}`);
    return [];
  }
  const settings = () => runtimes.config!.worker;
  const listener = consoleListener(
    {
      config: () => runtimes.config!,
      ledger: () => runtimes.current!.ledger,
      logger: options.logger,
      cwd: options.context.cwd,
      health: () =>
        healthReport(worker.healthSnapshot(settings().health.maxAgeSeconds), new Date()),
      nextCycleHint: () => `the next cycle (within ${settings().intervalSeconds} s) tries again`,
    },
    access,
  );
  return [{ prefix: '/console', listener }];
}

/**
 * API calls of the cycle, per API and 5-minute bucket, into the ledger (the console's chart); never
 * fails a cycle.
 */
export async function keepApiCallCounts(
  runtimes: RuntimeHolder,
  metrics: WorkerMetrics,
  logger: Logger,
): Promise<void> {
  const ledger = runtimes.current?.ledger;
  if (!ledger) return;
  await addApiCallCounts(ledger.db, metrics.takeApiCallCounts()).catch((error: unknown) =>
    logger.warn('could not record API call counts', { error: (error as Error).message }),
  );
}

/**
 * The worker does not start on a mapping the CRM's own metadata rejects (an unknown field, a
 * missing picklist
 * value): every issue is listed. A CRM that cannot be reached now is only a warning: the cycles
 * retry it.
 */
async function refuseInvalidMappings(
  runtimes: RuntimeHolder,
  context: CliContext,
  logger: Logger,
): Promise<void> {
  const { refuseMappingsThatDoNotFit } = await import('./mappings.js');
  try {
    await refuseMappingsThatDoNotFit(
      { config: runtimes.config!, logger, cwd: context.cwd, out: context.stderr },
      {
        refusal: 'the worker does not start: the field mappings do not fit the CRM',
        unreachable:
          'could not check the mapping against the CRM now; the worker starts and retries',
      },
    );
  } catch (error) {
    await runtimes.close();
    throw error;
  }
}
