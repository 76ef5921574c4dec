// The composition at the edge: the only module that builds the concrete parts from a config.
// (ledger, Partner Center client, CRM adapters through their modules, limiters, mappings).
import PQueue from 'p-queue';
import type { ApiLimits, LeadbridgeConfig, TargetConfig } from '../config/index.js';
import { ValidationError } from '../core/errors.js';
import type { TokenCredential } from '../core/auth.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { CrmAdapter, CrmAdapterOptions } from '../crm/adapter.js';
import { crmModuleOf, type CrmModule } from '../crm/module.js';
import { CRM_MODULES } from '../crm/modules.js';
import { expiredClaims, nextDueAt, openLedger, type Ledger } from '../ledger/index.js';
import { Notifier } from '../alerts/notifier.js';
import type { WorkerMetrics } from '../worker/metrics.js';
import { describeLedger, ledgerConfigFor } from './ledger-config.js';
import { assertLedgerExists } from './ledger-file.js';
import { partnerCenterCredential } from './partner-center-sign-in.js';
import { loadMapping, type CompiledMapping } from '../mapping/index.js';
import { PartnerCenterClient } from '../source/partner-center/index.js';
import { portalLink } from '../source/partner-center/facts.js';
import { PartnerDealClient } from '../source/partner-center/deals.js';
import { WebhookRegistrationClient } from '../source/partner-center/webhooks.js';
import { runRecordedCycle, type CycleParts, type Runtime } from '../sync/cycle.js';
import { InboundSync } from '../sync/inbound.js';
import { OutboundSync } from '../sync/outbound.js';
import type { SyncTarget } from '../sync/types.js';

export { portalLink };
export { userSignInFor } from './partner-center-sign-in.js';

export interface RuntimeOptions {
  logger?: Logger;
  /** Prometheus metrics of the long-running worker (API calls, cycles, backlog, alerts). */
  metrics?: WorkerMetrics;
  now?: () => Date;
  /** PostgreSQL connections the ledger may hold (a cluster worker keeps many tenants open). */
  ledgerPoolMax?: number;
  /** A cluster tenant: its ledger rows are stamped with its id. */
  tenant?: string;
  /**
   * The CRM kinds the config's targets may use: src/crm/modules.ts's list unless a test adds its
   * own.
   */
  modules?: readonly CrmModule[];
  /** Test hook: runs after a co-sell referral was created, before anything is recorded. */
  afterDealCreated?: (referral: { id: string }) => Promise<void> | void;
}

export async function createRuntime(
  config: LeadbridgeConfig,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const enabled = config.targets.filter((t) => t.enabled);
  const mappings = await loadMappings(enabled);
  const ledgerConfig = ledgerConfigFor(config);
  const ledger = await openLedger(
    ledgerConfig.client === 'pg'
      ? {
          ...ledgerConfig,
          ...(options.ledgerPoolMax ? { poolMax: options.ledgerPoolMax } : {}),
          ...(options.tenant ? { tenant: options.tenant } : {}),
        }
      : ledgerConfig,
    { logger },
  );
  const credential = partnerCenterCredential(config, logger);
  const source = createSource(config, logger, options.metrics, credential);
  const targets = await createTargets(config, enabled, mappings, { ...options, logger });
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
    source,
    deals: createDealClient(config, logger, credential, options),
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
    notifier: parts.notifier,
    syncOnce: (cycle) => runRecordedCycle(parts, cycle),
    nextDue: () => nextDueAt(ledger.db, new Date().toISOString()),
    claimsExpired: async () => (await expiredClaims(ledger.db, new Date().toISOString())) > 0,
    async close() {
      await Promise.allSettled(targets.map((t) => t.adapter.close?.()));
      await ledger.close();
    },
  };
}

/** The client that creates partner-originated referrals (the create-referral action). */
function createDealClient(
  config: LeadbridgeConfig,
  logger: Logger,
  credential: TokenCredential,
  options: RuntimeOptions,
): PartnerDealClient {
  const client = new PartnerDealClient({
    baseUrl: config.source.partnerCenter.baseUrl,
    credential,
    logger,
    ...(options.metrics ? { onCall: (info) => options.metrics!.recordApiCall(info) } : {}),
  });
  if (options.afterDealCreated) client.afterCreate = options.afterDealCreated;
  return client;
}

/** The webhook registration client (`leadbridge webhooks`, and the worker's re-registration). */
export function createWebhookRegistrationClient(
  config: LeadbridgeConfig,
  logger: Logger,
  credential?: TokenCredential,
): WebhookRegistrationClient {
  return new WebhookRegistrationClient({
    baseUrl: config.webhooks.registrationBaseUrl,
    credential: credential ?? partnerCenterCredential(config, logger),
    logger,
  });
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

/** The adapter of one target, made by its kind's module (its CRM client loaded on first use). */
export async function createCrmAdapter(
  target: TargetConfig,
  options: Omit<CrmAdapterOptions, 'target' | 'settings'>,
  modules: readonly CrmModule[] = CRM_MODULES,
): Promise<CrmAdapter> {
  const module = crmModuleOf(modules, target.kind);
  return module.createAdapter({ ...options, target: target.name, settings: target.settings });
}

/** Where a target's CRM is, for messages about reaching it. */
export function endpointOf(
  target: TargetConfig,
  modules: readonly CrmModule[] = CRM_MODULES,
): string {
  return crmModuleOf(modules, target.kind).endpoint(target.settings);
}

/** One adapter per enabled target, each behind its own limiter, with the target's mapping. */
async function createTargets(
  config: LeadbridgeConfig,
  enabled: TargetConfig[],
  mappings: CompiledMapping[],
  options: RuntimeOptions & { logger: Logger },
): Promise<SyncTarget[]> {
  const { logger, metrics } = options;
  const modules = options.modules ?? CRM_MODULES;
  const adapters = await Promise.all(
    enabled.map((t) =>
      createCrmAdapter(
        t,
        {
          logger: logger.child({ target: t.name }),
          ...(metrics ? { onCall: (info) => metrics.recordApiCall(info) } : {}),
          limiter: limiterFor(t.limits),
        },
        modules,
      ),
    ),
  );
  return enabled.map((t, i) => ({
    name: t.name,
    adapter: adapters[i] as CrmAdapter,
    mapping: mappings[i] as CompiledMapping,
    leadKinds: config.source.partnerCenter.leadKinds,
    syncClosed: false,
    changeStampPrecisionMs: crmModuleOf(modules, t.kind).changeStampPrecisionMs,
  }));
}

/** Loads every target's mapping; all problems of all files are reported together. */
export async function loadMappings(targets: TargetConfig[]): Promise<CompiledMapping[]> {
  const results = await Promise.allSettled(targets.map((t) => loadMapping(t.mapping)));
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
          message:
            `${r.value.file ?? 'mapping'} is for ${r.value.target}, but target "` +
            `${target.name}" is ${target.kind}`,
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
function limiterFor(limit: ApiLimits): PQueue {
  return new PQueue({
    concurrency: limit.concurrency,
    ...(limit.requestsPerMinute > 0
      ? { intervalCap: limit.requestsPerMinute, interval: 60_000 }
      : {}),
  });
}

/**
 * Opens the existing ledger for an operator command (never creates one; see assertLedgerExists).
 * With
 * `whenMissing: 'empty'` (the dry run) a missing SQLite file is read as an empty ledger in memory
 * instead: the plan
 * of a first backfill, and still nothing created on disk.
 */
export async function withLedger<T>(
  config: LeadbridgeConfig,
  cwd: string,
  use: (ledger: Ledger, description: string) => Promise<T>,
  options: { whenMissing?: 'refuse' | 'empty'; onEmpty?: (description: string) => void } = {},
): Promise<T> {
  let ledgerConfig = ledgerConfigFor(config);
  try {
    await assertLedgerExists(ledgerConfig, cwd);
  } catch (error) {
    if (options.whenMissing !== 'empty') throw error;
    options.onEmpty?.(describeLedger(ledgerConfig));
    ledgerConfig = { client: 'sqlite', filename: ':memory:' };
  }
  const ledger = await openLedger(ledgerConfig);
  try {
    return await use(ledger, describeLedger(ledgerConfig));
  } finally {
    await ledger.close();
  }
}
