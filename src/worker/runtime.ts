// Builds the running parts from a validated config: ledger, lead source, CRM adapters, mappings, sync engine.
import path from 'node:path';
import PQueue from 'p-queue';
import type { LeadbridgeConfig, LimitsConfig, TargetConfig } from '../config/index.js';
import { isLeadbridgeError, ValidationError } from '../core/errors.js';
import type { TokenCredential } from '../core/auth.js';
import { UserSignIn } from '../source/partner-center/sign-in.js';
import { silentLogger, type Logger } from '../core/log.js';
import { loadCrmAdapter } from '../crm/index.js';
import type { CrmAdapter } from '../crm/adapter.js';
import { countByState, countOutboxByState, finishRun, openLedger, releaseStaleSending, setApiBudgetNote, startRun, type Ledger } from '../ledger/index.js';
import { Notifier } from '../alerts/notifier.js';
import { OUTBOX_WAITING_STATES, type WorkerMetrics } from './metrics.js';
import { ledgerConfigFor } from './ledger-config.js';
import { partnerCenterCredential } from './partner-center-sign-in.js';
import { defaultMappingFile, loadMapping, type CompiledMapping } from '../mapping/index.js';
import { PartnerCenterClient } from '../source/partner-center/index.js';
import { portalLink } from '../source/partner-center/facts.js';
import { externalReferenceHandler } from '../sync/external-reference.js';
import { InboundSync, SET_EXTERNAL_REFERENCE, type CycleOptions } from '../sync/inbound.js';
import { drainOutbox, type DrainStats, type OutboxHandler } from '../sync/outbox.js';
import { OutboundSync } from '../sync/outbound.js';
import { emptyOutboundStats, type InboundStats, type OutboundStats, type SyncTarget, type TargetFailure } from '../sync/types.js';

export { portalLink };

export interface RuntimeOptions {
  logger?: Logger;
  /** Prometheus metrics of the long-running worker (API calls, cycles, backlog, alerts). */
  metrics?: WorkerMetrics;
  now?: () => Date;
  /** Relative paths in the config (ledger file, mapping files) resolve against this. */
  cwd?: string;
}

export interface Runtime {
  readonly config: LeadbridgeConfig;
  readonly ledger: Ledger;
  readonly source: PartnerCenterClient;
  readonly targets: SyncTarget[];
  readonly inbound: InboundSync;
  readonly outbound: OutboundSync;
  readonly logger: Logger;
  /** One inbound cycle followed by the outbox drain (external references). */
  syncOnce(options: CycleOptions): Promise<CycleResult>;
  close(): Promise<void>;
}

export interface CycleResult {
  inbound: InboundStats;
  /** CRM outcomes read and sent back to Partner Center. */
  outbound: OutboundStats;
  /** Everything the outbox drain did (CRM id write-backs and outcomes). */
  outbox: DrainStats;
  /** Targets that failed as a whole this cycle, inbound or outbound (a target may appear once per stage). */
  targetsDown: TargetFailure[];
}

/** The distinct names of the targets that failed as a whole. */
export function downTargetNames(result: Pick<CycleResult, 'targetsDown'>): string[] {
  return [...new Set(result.targetsDown.map((failure) => failure.target))];
}

/** "salesforce (reading outcomes): INVALID_SESSION_ID: Session expired or invalid; ..." */
export function describeTargetFailure(failure: TargetFailure): string {
  return `${failure.target} (${failure.stage}): ${failure.message}${failure.message.includes(failure.code) ? '' : ` [${failure.code}]`}`;
}

/** A claim left in "sending" this long ago belongs to a run that died; its row is released to be re-planned. */
const STALE_SENDING_MS = 10 * 60_000;

export async function createRuntime(config: LeadbridgeConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const enabled = config.targets.filter((t) => t.enabled);
  const mappings = await loadMappings(enabled, cwd);
  const ledger = await openLedger(ledgerConfigFor(config, cwd), { logger });
  const credential = partnerCenterCredential(config, logger);
  const source = createSource(config, logger, options.metrics, credential);
  const targets = await createTargets(config, enabled, mappings, logger, options.metrics);
  const parts: CycleParts = {
    config,
    ledger,
    logger,
    metrics: options.metrics,
    targets,
    inbound: new InboundSync({ ledger, source, targets, logger, writeBackTarget: enabled[0]?.name ?? null, referralLink: portalLink }),
    outbound: new OutboundSync({ ledger, source, targets, logger }),
    baseHandlers: { [SET_EXTERNAL_REFERENCE]: externalReferenceHandler(source) },
    notifier: new Notifier({ config, ledger, source, logger, metrics: options.metrics, now: options.now }),
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
export function createSource(config: LeadbridgeConfig, logger: Logger, metrics?: WorkerMetrics, credential?: TokenCredential): PartnerCenterClient {
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
  const limiters = { dynamics365: limiterFor(config.limits.dynamics365), salesforce: limiterFor(config.limits.salesforce) };
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

interface CycleParts {
  config: LeadbridgeConfig;
  ledger: Ledger;
  logger: Logger;
  metrics: WorkerMetrics | undefined;
  targets: SyncTarget[];
  inbound: InboundSync;
  outbound: OutboundSync;
  baseHandlers: Record<string, OutboxHandler>;
  notifier: Notifier;
  credential: TokenCredential;
}

/** One cycle, recorded as a run in the ledger (ok, failed or aborted, with its counts). */
async function runRecordedCycle(parts: CycleParts, cycle: CycleOptions): Promise<CycleResult> {
  const { ledger } = parts;
  await startRun(ledger.db, { runId: cycle.runId, kind: 'sync' });
  try {
    const result = await runCycle(parts, cycle);
    const { byTarget: _byTarget, more: _more, failedTargets: _failed, ...totals } = result.inbound;
    const down = downTargetNames(result);
    await finishRun(ledger.db, cycle.runId, {
      status: down.length > 0 ? 'failed' : 'ok',
      stats: { ...totals, targetsDown: down.length, outcomesEnqueued: result.outbound.enqueued, outcomesSent: result.outbound.sent, outcomesQuarantined: result.outbound.quarantined, outboxFailed: result.outbox.failed },
      ...(down.length > 0 ? { error: result.targetsDown.map(describeTargetFailure).join('; ') } : {}),
    });
    return result;
  } catch (error) {
    const status = cycle.signal?.aborted ? 'aborted' : 'failed';
    const signInLost = isLeadbridgeError(error) && error.code === 'SIGN_IN_REQUIRED';
    if (signInLost) await alertSignInLost(parts, error.message, cycle);
    // `signInRequired` in the run's stats is what `leadbridge status` reads to say "sign in again".
    await finishRun(ledger.db, cycle.runId, { status, stats: signInLost ? { signInRequired: 1 } : {}, error: (error as Error).message }).catch(() => {});
    throw error;
  }
}

/** Nothing else in the cycle can work without Partner Center; the alert names the lost sign-in so it goes out once. */
async function alertSignInLost(parts: CycleParts, cause: string, cycle: CycleOptions): Promise<void> {
  const signedIn = parts.credential instanceof UserSignIn ? await parts.credential.signedIn().catch(() => null) : null;
  const signIn = { id: signedIn?.signedInAt ?? signedIn?.homeAccountId ?? 'no-sign-in', account: signedIn?.username ?? null };
  await parts.notifier.signInRequired(cause, signIn, cycle.runId, cycle.signal);
}

/** Inbound (with hot-lead alerts as pages arrive), outbound, the outbox drain, then the other alerts. */
async function runCycle(parts: CycleParts, cycle: CycleOptions): Promise<CycleResult> {
  const { config, ledger, logger, inbound, outbound, notifier } = parts;
  const { runId, signal } = cycle;
  await releaseStaleSending(ledger.db, new Date(Date.now() - STALE_SENDING_MS).toISOString());
  const stats = await inbound.runCycle({
    ...cycle,
    onReferrals: async (items) => {
      await notifier.hotLeads(items, runId, signal);
      await cycle.onReferrals?.(items);
    },
  });
  // On a soft stop, outcomes wait for the next run: the outbox keeps them, nothing is lost.
  if (cycle.shouldStop?.() === true) {
    return { inbound: stats, outbound: emptyOutboundStats(), outbox: { sent: 0, failed: 0, superseded: 0, quarantined: 0 }, targetsDown: stats.failedTargets };
  }
  const outboundStats = await outbound.collect({ runId, signal });
  const handlers = { ...parts.baseHandlers, ...outbound.handlers(outboundStats) };
  const outbox = await drainOutbox(ledger, handlers, { runId, concurrency: config.limits.partnerCenter.concurrency, signal, logger });
  stats.externalReferencesWritten = outbox.sent - outboundStats.sent;
  await notifier.afterCycle(runId, signal);
  recordMetrics(parts.metrics, stats, outboundStats);
  await recordApiBudgets(parts);
  if (parts.metrics) {
    parts.metrics.setBacklog(await countByState(ledger.db));
    parts.metrics.setOutboxBacklog(await countOutboxByState(ledger.db, OUTBOX_WAITING_STATES));
  }
  return { inbound: stats, outbound: outboundStats, outbox, targetsDown: [...stats.failedTargets, ...outboundStats.failedTargets] };
}

/** Each target's API budget as last seen, into the metrics and the ledger (where `status` reads it). */
async function recordApiBudgets(parts: CycleParts): Promise<void> {
  for (const target of parts.targets) {
    const budget = target.adapter.apiBudget?.();
    if (!budget) continue;
    parts.metrics?.setApiBudget(target.name, budget);
    await setApiBudgetNote(parts.ledger.db, target.name, { ...budget, seenAt: new Date().toISOString() });
  }
}

/** Loads every target's mapping; all problems of all files are reported together. */
export async function loadMappings(targets: TargetConfig[], cwd: string): Promise<CompiledMapping[]> {
  const results = await Promise.allSettled(
    targets.map((t) => loadMapping(t.mapping ? path.resolve(cwd, t.mapping) : defaultMappingFile(t.kind))),
  );
  const issues = results.flatMap((r, i) => {
    const target = targets[i] as TargetConfig;
    if (r.status === 'rejected') {
      const error = r.reason;
      if (error instanceof ValidationError) return error.issues;
      return [{ path: `targets[${i}].mapping`, message: `${target.name}: ${(error as Error).message}` }];
    }
    if (r.value.target !== target.kind) {
      return [{ path: `targets[${i}].mapping`, message: `${r.value.file ?? 'mapping'} is for ${r.value.target}, but target "${target.name}" is ${target.kind}` }];
    }
    return [];
  });
  if (issues.length > 0) throw new ValidationError('MAPPING_INVALID', 'the field mappings are invalid', issues);
  return results.map((r) => (r as PromiseFulfilledResult<CompiledMapping>).value);
}

function recordMetrics(metrics: WorkerMetrics | undefined, stats: InboundStats, outbound: OutboundStats): void {
  if (!metrics) return;
  for (const [target, counts] of Object.entries(stats.byTarget)) metrics.recordSyncCounts(target, counts);
  metrics.recordOutcomes('all', { sent: outbound.sent, quarantined: outbound.quarantined, superseded: outbound.superseded, failed: outbound.failed });
}

/** A p-queue holding one API to its configured concurrency and requests per minute. */
function limiterFor(limit: LimitsConfig['partnerCenter']): PQueue {
  return new PQueue({
    concurrency: limit.concurrency,
    ...(limit.requestsPerMinute > 0 ? { intervalCap: limit.requestsPerMinute, interval: 60_000 } : {}),
  });
}
