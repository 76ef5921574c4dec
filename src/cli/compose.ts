// The composition at the edge: the only module that builds every concrete part (ledger, Partner Center client, CRM adapters, limiters, mappings) from a validated config.
import path from 'node:path';
import PQueue from 'p-queue';
import type { LeadbridgeConfig, LimitsConfig, TargetConfig } from '../config/index.js';
import { ValidationError } from '../core/errors.js';
import type { TokenCredential } from '../core/auth.js';
import { silentLogger, type Logger } from '../core/log.js';
import { loadCrmAdapter } from '../crm/index.js';
import type { CrmAdapter } from '../crm/adapter.js';
import { openLedger } from '../ledger/index.js';
import { Notifier } from '../alerts/notifier.js';
import type { WorkerMetrics } from '../worker/metrics.js';
import { ledgerConfigFor } from './ledger-config.js';
import { partnerCenterCredential } from './partner-center-sign-in.js';
import { defaultMappingFile, loadMapping, type CompiledMapping } from '../mapping/index.js';
import { PartnerCenterClient } from '../source/partner-center/index.js';
import { portalLink } from '../source/partner-center/facts.js';
import { runRecordedCycle, type CycleParts, type Runtime } from '../sync/cycle.js';
import { externalReferenceHandler } from '../sync/external-reference.js';
import { InboundSync, SET_EXTERNAL_REFERENCE } from '../sync/inbound.js';
import { OutboundSync } from '../sync/outbound.js';
import type { SyncTarget } from '../sync/types.js';

export { portalLink };

export interface RuntimeOptions {
  logger?: Logger;
  /** Prometheus metrics of the long-running worker (API calls, cycles, backlog, alerts). */
  metrics?: WorkerMetrics;
  now?: () => Date;
  /** Relative paths in the config (ledger file, mapping files) resolve against this. */
  cwd?: string;
  /** PostgreSQL connections the ledger may hold (a cluster worker keeps many tenants open). */
  ledgerPoolMax?: number;
}

export async function createRuntime(
  config: LeadbridgeConfig,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const enabled = config.targets.filter((t) => t.enabled);
  const mappings = await loadMappings(enabled, cwd);
  const ledgerConfig = ledgerConfigFor(config, cwd);
  const ledger = await openLedger(
    ledgerConfig.client === 'pg' && options.ledgerPoolMax
      ? { ...ledgerConfig, poolMax: options.ledgerPoolMax }
      : ledgerConfig,
    { logger },
  );
  const credential = partnerCenterCredential(config, logger);
  const source = createSource(config, logger, options.metrics, credential);
  const targets = await createTargets(config, enabled, mappings, logger, options.metrics);
  const parts: CycleParts = {
    config,
    ledger,
    logger,
    metrics: options.metrics,
    targets,
    inbound: new InboundSync({
      ledger,
      source,
      targets,
      logger,
      writeBackTarget: enabled[0]?.name ?? null,
      referralLink: portalLink,
    }),
    outbound: new OutboundSync({ ledger, source, targets, logger }),
    baseHandlers: { [SET_EXTERNAL_REFERENCE]: externalReferenceHandler(source) },
    notifier: new Notifier({
      config,
      ledger,
      source,
      logger,
      metrics: options.metrics,
      now: options.now,
    }),
    credential,
  };
  return {
    config,
    ledger,
    source,
    targets,
    inbound: parts.inbound,
    outbound: parts.outbound,
    logger,
    syncOnce: (cycle) => runRecordedCycle(parts, cycle),
    async close() {
      await Promise.allSettled(targets.map((t) => t.adapter.close?.()));
      await ledger.close();
    },
  };
}

/** The Partner Center client a config describes (credential, overlap, limits, metrics). */
export function createSource(
  config: LeadbridgeConfig,
  logger: Logger,
  metrics?: WorkerMetrics,
  credential?: TokenCredential,
): PartnerCenterClient {
  const pc = config.source.partnerCenter;
  return new PartnerCenterClient({
    baseUrl: pc.baseUrl,
    credential: credential ?? partnerCenterCredential(config, logger),
    logger: logger.child({ api: 'partner-center' }),
    overlapMs: pc.overlapSeconds * 1000,
    ...(metrics ? { onCall: (info) => metrics.recordApiCall(info) } : {}),
    limiter: limiterFor(config.limits.partnerCenter),
  });
}

/** One adapter per enabled target (its CRM client loaded on first use), with the target's mapping. */
async function createTargets(
  config: LeadbridgeConfig,
  enabled: TargetConfig[],
  mappings: CompiledMapping[],
  logger: Logger,
  metrics: WorkerMetrics | undefined,
): Promise<SyncTarget[]> {
  const limiters = {
    dynamics365: limiterFor(config.limits.dynamics365),
    salesforce: limiterFor(config.limits.salesforce),
  };
  const adapters = await Promise.all(
    enabled.map((t) =>
      loadCrmAdapter(t.kind, {
        target: t.name,
        settings: t.settings,
        logger: logger.child({ target: t.name }),
        ...(metrics ? { onCall: (info) => metrics.recordApiCall(info) } : {}),
        limiter: limiters[t.kind],
      }),
    ),
  );
  return enabled.map((t, i) => ({
    name: t.name,
    adapter: adapters[i] as CrmAdapter,
    mapping: mappings[i] as CompiledMapping,
    leadKinds: config.source.partnerCenter.leadKinds,
    syncClosed: false,
  }));
}

/** Loads every target's mapping; all problems of all files are reported together. */
export async function loadMappings(
  targets: TargetConfig[],
  cwd: string,
): Promise<CompiledMapping[]> {
  const results = await Promise.allSettled(
    targets.map((t) =>
      loadMapping(t.mapping ? path.resolve(cwd, t.mapping) : defaultMappingFile(t.kind)),
    ),
  );
  const issues = results.flatMap((r, i) => {
    const target = targets[i] as TargetConfig;
    if (r.status === 'rejected') {
      const error = r.reason;
      if (error instanceof ValidationError) return error.issues;
      return [
        { path: `targets[${i}].mapping`, message: `${target.name}: ${(error as Error).message}` },
      ];
    }
    if (r.value.target !== target.kind) {
      return [
        {
          path: `targets[${i}].mapping`,
          message: `${r.value.file ?? 'mapping'} is for ${r.value.target}, but target "${target.name}" is ${target.kind}`,
        },
      ];
    }
    return [];
  });
  if (issues.length > 0)
    throw new ValidationError('MAPPING_INVALID', 'the field mappings are invalid', issues);
  return results.map((r) => (r as PromiseFulfilledResult<CompiledMapping>).value);
}

/** A p-queue holding one API to its configured concurrency and requests per minute. */
function limiterFor(limit: LimitsConfig['partnerCenter']): PQueue {
  return new PQueue({
    concurrency: limit.concurrency,
    ...(limit.requestsPerMinute > 0
      ? { intervalCap: limit.requestsPerMinute, interval: 60_000 }
      : {}),
  });
}
