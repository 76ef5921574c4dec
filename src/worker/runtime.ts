// Builds the running parts from a validated config: ledger, lead source, CRM adapters, mappings, sync engine.
import path from 'node:path';
import type { LeadbridgeConfig, TargetConfig } from '../config/index.js';
import { credentialFromAuth } from '../config/index.js';
import { ValidationError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { loadCrmAdapter } from '../crm/index.js';
import type { CrmAdapter } from '../crm/adapter.js';
import { finishRun, openLedger, startRun, type Ledger } from '../ledger/index.js';
import { ledgerConfigFor } from './ledger-config.js';
import { defaultMappingFile, loadMapping, type CompiledMapping } from '../mapping/index.js';
import { PartnerCenterClient } from '../source/partner-center/index.js';
import { externalReferenceHandler } from '../sync/external-reference.js';
import { InboundSync, SET_EXTERNAL_REFERENCE } from '../sync/inbound.js';
import { drainOutbox, type OutboxHandler } from '../sync/outbox.js';
import type { InboundStats, SyncTarget } from '../sync/types.js';

/** Where a referral lives in the Partner Center portal (offered to mappings as $referralLink). */
export function portalLink(referralId: string): string {
  return `https://partner.microsoft.com/dashboard/referrals/v2/leads/${encodeURIComponent(referralId)}`;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Relative paths in the config (ledger file, mapping files) resolve against this. */
  cwd?: string;
}

export interface Runtime {
  readonly config: LeadbridgeConfig;
  readonly ledger: Ledger;
  readonly source: PartnerCenterClient;
  readonly targets: SyncTarget[];
  readonly inbound: InboundSync;
  readonly logger: Logger;
  /** One inbound cycle followed by the outbox drain (external references). */
  syncOnce(options: { runId: string; signal?: AbortSignal; onProgress?: (stats: InboundStats) => void }): Promise<CycleResult>;
  close(): Promise<void>;
}

export interface CycleResult {
  inbound: InboundStats;
  outbox: { sent: number; failed: number; superseded: number; quarantined: number };
}

export async function createRuntime(config: LeadbridgeConfig, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const cwd = options.cwd ?? process.cwd();
  const enabled = config.targets.filter((t) => t.enabled);
  const mappings = await loadMappings(enabled, cwd);
  const ledger = await openLedger(ledgerConfigFor(config, cwd), { logger });
  const pc = config.source.partnerCenter;
  const source = new PartnerCenterClient({
    baseUrl: pc.baseUrl,
    credential: credentialFromAuth(pc.auth, 'source.partnerCenter.auth'),
    logger: logger.child({ api: 'partner-center' }),
    overlapMs: pc.overlapSeconds * 1000,
  });
  const adapters: CrmAdapter[] = await Promise.all(
    enabled.map((t) => loadCrmAdapter(t.kind, { target: t.name, settings: t.settings, logger: logger.child({ target: t.name }) })),
  );
  const targets: SyncTarget[] = enabled.map((t, i) => ({
    name: t.name,
    adapter: adapters[i] as CrmAdapter,
    mapping: mappings[i] as CompiledMapping,
    leadKinds: pc.leadKinds,
    syncClosed: false,
  }));
  const writeBackTarget = enabled[0]?.name ?? null;
  const inbound = new InboundSync({ ledger, source, targets, logger, writeBackTarget, referralLink: portalLink });
  const handlers: Record<string, OutboxHandler> = { [SET_EXTERNAL_REFERENCE]: externalReferenceHandler(source) };
  return {
    config,
    ledger,
    source,
    targets,
    inbound,
    logger,
    async syncOnce({ runId, signal, onProgress }) {
      await startRun(ledger.db, { runId, kind: 'sync' });
      try {
        const stats = await inbound.runCycle({ runId, signal, onProgress });
        const outbox = await drainOutbox(ledger, handlers, { runId, concurrency: 16, signal, logger });
        stats.externalReferencesWritten = outbox.sent;
        const { byTarget: _byTarget, ...totals } = stats;
        await finishRun(ledger.db, runId, { status: stats.targetsDown > 0 ? 'failed' : 'ok', stats: { ...totals, outboxFailed: outbox.failed } });
        return { inbound: stats, outbox };
      } catch (error) {
        await finishRun(ledger.db, runId, { status: signal?.aborted ? 'aborted' : 'failed', stats: {}, error: (error as Error).message }).catch(() => {});
        throw error;
      }
    },
    async close() {
      await Promise.allSettled(adapters.map((a) => a.close?.()));
      await ledger.close();
    },
  };
}

/** Loads every target's mapping; all problems of all files are reported together. */
async function loadMappings(targets: TargetConfig[], cwd: string): Promise<CompiledMapping[]> {
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
