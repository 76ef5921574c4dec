// The inbound cycle: changed referrals from Partner Center, mapped, written to each CRM target in batches, recorded.
import PQueue from 'p-queue';
import { LeadbridgeError, normaliseError } from '../core/errors.js';
import { isTerminalStatus } from '../core/lifecycle.js';
import { silentLogger, type Logger } from '../core/log.js';
import { compareInstants } from '../core/time.js';
import { deriveLeadKind, isHotLead, referralVersion } from '../core/referral.js';
import type { UpsertItemResult } from '../crm/adapter.js';
import {
  appendAudit,
  claimDueRetries,
  enqueueOutcomes,
  getCursor,
  getEchoes,
  getLinks,
  getSyncStates,
  hasOtherMappingVersion,
  setCursor,
  transitionSyncStates,
  upsertLinks,
  type AuditEntry,
  type Ledger,
  type Link,
  type SyncStateRow,
} from '../ledger/index.js';
import { decideInbound, nextRetryAt } from './decide.js';
import { withoutEchoes } from './echo.js';
import { expiredReflections } from './outbound-plan.js';
import {
  countFor,
  emptyInboundStats,
  emptyTargetCounts,
  inboundCursorName,
  type InboundStats,
  type ReferralWithKind,
  type ReferralSource,
  type SyncTarget,
} from './types.js';
import { WatermarkTracker } from './watermark.js';

export const SET_EXTERNAL_REFERENCE = 'set-external-reference';

export interface InboundSyncOptions {
  ledger: Ledger;
  source: ReferralSource;
  targets: SyncTarget[];
  logger?: Logger;
  /** The target whose record id is written back to the referral's externalReferenceId (null: none). */
  writeBackTarget: string | null;
  /** The Partner Center portal link of a referral, offered to mappings as $referralLink. */
  referralLink: (referralId: string) => string;
  /** Failed CRM writes are quarantined after this many attempts. */
  maxAttempts?: number;
  /** How many due retries are re-fetched per target and cycle. */
  retryBatchSize?: number;
  now?: () => Date;
}

export interface CycleOptions {
  runId: string;
  /** Aborts in-flight requests (a hard stop); work not yet recorded is redone next time. */
  signal?: AbortSignal;
  /** A soft stop, checked between pages: the cycle writes and records what it has read, then ends. */
  shouldStop?: () => boolean;
  /** Ends the cycle after this many pages (stats.more tells that the stream had more). */
  maxPages?: number;
  onProgress?: (stats: InboundStats) => void;
  /** Every valid referral read this cycle, page by page (alerts look for hot leads here). */
  onReferrals?: (items: ReferralWithKind[]) => Promise<void> | void;
}

interface PendingWrite {
  /** The stream page it came from, or null for a due retry (which does not hold the cursor). */
  pageIndex: number | null;
  item: ReferralWithKind;
  fields: Record<string, unknown>;
  hash: string;
  link: Link | undefined;
  state: SyncStateRow | undefined;
}

interface TargetRun {
  target: SyncTarget;
  tracker: WatermarkTracker;
  buffer: PendingWrite[];
  /** Set when the CRM failed as a whole: the target sits out the rest of the cycle, its cursor held. */
  down: LeadbridgeError | null;
  cursor: string | null;
}

interface PageRecord {
  links: Array<Partial<Link> & { referralId: string; target: string }>;
  transitions: Parameters<typeof transitionSyncStates>[2];
  audits: AuditEntry[];
}

export class InboundSync {
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly now: () => Date;

  constructor(private readonly options: InboundSyncOptions) {
    this.logger = options.logger ?? silentLogger;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.now = options.now ?? (() => new Date());
  }

  /** One inbound cycle over every target; one target failing does not stop the others. */
  async runCycle(cycle: CycleOptions): Promise<InboundStats> {
    const stats = emptyInboundStats();
    const runs = await this.prepareRuns();
    for (const run of runs) stats.byTarget[run.target.name] = emptyTargetCounts();
    const since = startPosition(runs);
    for (const run of runs) await this.processDueRetries(run, cycle, stats);
    let pageIndex = 0;
    for await (const page of this.options.source.listChanged(since, { signal: cycle.signal })) {
      // Checked when a further page has arrived, so `more` means the stream really had more (a stream
      // that ends on the last allowed page is caught up); that page is read again by the next cycle.
      if (cycle.maxPages !== undefined && pageIndex >= cycle.maxPages) {
        stats.more = true;
        break;
      }
      stats.pages++;
      stats.referralsSeen += page.referrals.length;
      await this.recordInvalid(page.invalid, cycle.runId, stats);
      for (const run of runs) {
        run.tracker.addPage(pageIndex, page.highWatermark);
        if (run.down) continue;
        await this.decidePage(run, page.referrals, pageIndex, cycle, stats);
        while (!run.down && run.buffer.length >= run.target.adapter.maxBatchSize) {
          await this.flush(run, run.target.adapter.maxBatchSize, cycle, stats);
        }
      }
      pageIndex++;
      await cycle.onReferrals?.(page.referrals);
      cycle.onProgress?.(stats);
      if (cycle.shouldStop?.()) break;
    }
    for (const run of runs) {
      while (!run.down && run.buffer.length > 0)
        await this.flush(run, run.target.adapter.maxBatchSize, cycle, stats);
      if (!run.down) await this.saveCursor(this.options.ledger.db, run);
    }
    const down = runs.filter((r) => r.down);
    stats.targetsDown = down.length;
    stats.failedTargets = down.map((r) => ({
      target: r.target.name,
      stage: 'writing referrals' as const,
      code: r.down!.code,
      message: r.down!.message,
    }));
    return stats;
  }

  private async prepareRuns(): Promise<TargetRun[]> {
    return Promise.all(
      this.options.targets.map(async (target) => ({
        target,
        tracker: new WatermarkTracker(),
        buffer: [],
        down: null,
        cursor: await this.startCursor(target),
      })),
    );
  }

  /** A target's cursor; none after an admin changed its mapping, so every referral is mapped again (only changed output is written). */
  private async startCursor(target: SyncTarget): Promise<string | null> {
    const { db } = this.options.ledger;
    const cursor = await getCursor(db, inboundCursorName(target.name));
    if (
      cursor !== null &&
      (await hasOtherMappingVersion(db, target.name, target.mapping.version))
    ) {
      this.logger.info(
        'the mapping changed: re-mapping every referral; only records whose output changed are written',
        {
          target: target.name,
          mappingVersion: target.mapping.version,
        },
      );
      return null;
    }
    return cursor;
  }

  /** Failed writes whose retry time has come: re-fetched one by one and written again. */
  private async processDueRetries(
    run: TargetRun,
    cycle: CycleOptions,
    stats: InboundStats,
  ): Promise<void> {
    const { db } = this.options.ledger;
    const ids = await claimDueRetries(
      db,
      run.target.name,
      this.now().toISOString(),
      this.options.retryBatchSize ?? 200,
      cycle.runId,
    );
    if (ids.length === 0) return;
    stats.retried += ids.length;
    const queue = new PQueue({ concurrency: 8 });
    const fetched: ReferralWithKind[] = [];
    const lost: Array<{ referralId: string; error: LeadbridgeError }> = [];
    await queue.addAll(
      ids.map((id) => async () => {
        try {
          const referral = await this.options.source.get(id, { signal: cycle.signal });
          fetched.push({ referral, leadKind: deriveLeadKind(referral), hot: isHotLead(referral) });
        } catch (thrown) {
          lost.push({ referralId: id, error: normaliseError(thrown, 'partner-center') });
        }
      }),
    );
    if (lost.length > 0) await this.recordUnfetchable(run, lost, cycle.runId);
    await this.decidePage(run, fetched, null, cycle, stats);
    while (!run.down && run.buffer.some((w) => w.pageIndex === null)) {
      await this.flush(run, run.target.adapter.maxBatchSize, cycle, stats);
    }
  }

  private async recordUnfetchable(
    run: TargetRun,
    lost: Array<{ referralId: string; error: LeadbridgeError }>,
    runId: string,
  ): Promise<void> {
    const target = run.target.name;
    await this.options.ledger.transaction(async (trx) => {
      await transitionSyncStates(
        trx,
        target,
        lost.map(({ referralId, error }) =>
          error.code === 'NOT_FOUND'
            ? {
                referralId,
                to: 'quarantined' as const,
                quarantineReason: 'the referral no longer exists in Partner Center',
                runId,
              }
            : {
                referralId,
                to: 'failed' as const,
                error: { code: error.code, message: error.message },
                nextRetryAt: nextRetryAt(this.now(), 1),
                runId,
              },
        ),
      );
      await appendAudit(
        trx,
        lost.map(({ referralId, error }) => ({
          runId,
          referralId,
          target,
          action: 'failed',
          detail: { stage: 'refetch', code: error.code, message: error.message },
        })),
      );
    });
  }

  private async recordInvalid(
    invalid: Array<{ id: string | null; issues: Array<{ path: string; message: string }> }>,
    runId: string,
    stats: InboundStats,
  ): Promise<void> {
    if (invalid.length === 0) return;
    stats.invalid += invalid.length;
    const audits: AuditEntry[] = invalid.map((bad) => ({
      runId,
      referralId: bad.id,
      target: null,
      action: 'invalid',
      detail: { issues: bad.issues.map((i) => `${i.path}: ${i.message}`) },
    }));
    for (const bad of invalid) {
      this.logger.warn('referral failed validation; skipped until it changes', {
        referralId: bad.id ?? '(no id)',
        issues: bad.issues.map((i) => `${i.path}: ${i.message}`),
      });
    }
    await appendAudit(this.options.ledger.db, audits);
  }

  /** Decides every referral of a page for one target; records all but the writes, which are buffered. */
  private async decidePage(
    run: TargetRun,
    items: ReferralWithKind[],
    pageIndex: number | null,
    cycle: CycleOptions,
    stats: InboundStats,
  ): Promise<void> {
    const { db } = this.options.ledger;
    const target = run.target.name;
    const ids = items.map((i) => i.referral.id);
    const [links, states, echoes] = await Promise.all([
      getLinks(db, target, ids),
      getSyncStates(db, target, ids),
      getEchoes(db, ids),
    ]);
    const record: PageRecord = { links: [], transitions: [], audits: [] };
    for (const item of items) {
      const id = item.referral.id;
      const link = links.get(id);
      const state = states.get(id);
      // Mapped as if leadbridge's own accept writes were not there (sync/echo.ts).
      const decision = decideInbound(
        { ...item, referral: withoutEchoes(item.referral, echoes.get(id)) },
        {
          target: run.target,
          link,
          state,
          referralLink: this.options.referralLink(id),
          forced: pageIndex === null,
        },
      );
      const seenVersion = versionColumns(item, target);
      switch (decision.kind) {
        case 'same-version':
          break;
        case 'skip-kind':
        case 'skip-closed':
          countFor(stats, target, decision.kind === 'skip-kind' ? 'skippedKind' : 'skippedClosed');
          record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
          record.audits.push({
            runId: cycle.runId,
            referralId: id,
            target,
            action: decision.kind === 'skip-kind' ? 'skipped-kind' : 'skipped-closed',
            detail: { leadKind: item.leadKind, status: item.referral.status },
          });
          break;
        case 'quarantine':
          countFor(stats, target, 'quarantined');
          record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
          if (state?.state !== 'quarantined' || state.quarantineReason !== decision.reason) {
            if (state?.state === 'applied')
              record.transitions.push({ referralId: id, to: 'pending', runId: cycle.runId });
            record.transitions.push({
              referralId: id,
              to: 'quarantined',
              quarantineReason: decision.reason,
              runId: cycle.runId,
            });
          }
          record.audits.push({
            runId: cycle.runId,
            referralId: id,
            target,
            action: 'quarantined',
            crmRecordId: link?.crmRecordId ?? null,
            detail: { reason: decision.reason, errors: decision.errors },
          });
          break;
        case 'unchanged':
          countFor(stats, target, 'unchanged');
          record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
          record.audits.push({
            runId: cycle.runId,
            referralId: id,
            target,
            action: 'skipped-unchanged',
            crmRecordId: link?.crmRecordId ?? null,
            detail: { eTag: referralVersion(item.referral) },
          });
          break;
        case 'write':
          if (state && state.state !== 'pending')
            record.transitions.push({ referralId: id, to: 'pending', runId: cycle.runId });
          run.buffer.push({
            pageIndex,
            item,
            fields: decision.fields,
            hash: decision.hash,
            link,
            state,
          });
          if (pageIndex !== null) run.tracker.hold(pageIndex);
          break;
      }
    }
    // Expired referrals with a CRM record: the CRM is told (once) so nobody works a dead lead.
    const reflections = expiredReflections(items, links);
    await this.options.ledger.transaction(async (trx) => {
      await upsertLinks(trx, record.links);
      await transitionSyncStates(trx, target, record.transitions);
      await appendAudit(trx, record.audits);
      if (reflections.length > 0) await enqueueOutcomes(trx, reflections);
      if (pageIndex !== null) await this.saveCursor(trx, run);
    });
  }

  /** Writes up to `count` buffered records to the CRM and records every result in one transaction. */
  private async flush(
    run: TargetRun,
    count: number,
    cycle: CycleOptions,
    stats: InboundStats,
  ): Promise<void> {
    const batch = run.buffer.splice(0, count);
    const target = run.target.name;
    let results: UpsertItemResult[];
    try {
      results = await run.target.adapter.upsertLeads(
        batch.map((w) => ({ referralId: w.item.referral.id, fields: w.fields })),
        { signal: cycle.signal },
      );
      if (results.length !== batch.length) {
        throw new LeadbridgeError(
          'INTERNAL',
          `${target}: the adapter returned ${results.length} results for ${batch.length} records`,
        );
      }
    } catch (thrown) {
      run.down = normaliseError(thrown, run.target.adapter.kind);
      run.buffer.unshift(...batch);
      this.logger.error(
        'CRM target failed; it sits out the rest of this cycle and resumes from its cursor',
        {
          target,
          error: run.down.message,
          code: run.down.code,
        },
      );
      return;
    }
    const record = this.recordResults(run, batch, results, cycle.runId, stats);
    const outbox = this.writeBackRequests(run, batch, results);
    await this.options.ledger.transaction(async (trx) => {
      await upsertLinks(trx, record.links);
      await transitionSyncStates(trx, target, record.transitions);
      await appendAudit(trx, record.audits);
      if (outbox.length > 0) await enqueueOutcomes(trx, outbox);
      await this.saveCursor(trx, run);
    });
  }

  private recordResults(
    run: TargetRun,
    batch: PendingWrite[],
    results: UpsertItemResult[],
    runId: string,
    stats: InboundStats,
  ): PageRecord {
    const target = run.target.name;
    const record: PageRecord = { links: [], transitions: [], audits: [] };
    batch.forEach((write, i) => {
      const result = results[i] as UpsertItemResult;
      const id = write.item.referral.id;
      if (write.pageIndex !== null) run.tracker.release(write.pageIndex);
      if (result.ok) {
        countFor(stats, target, result.created ? 'created' : 'updated');
        record.links.push({
          ...versionColumns(write.item, target),
          crmRecordId: result.recordId,
          payloadHash: write.hash,
          mappingVersion: run.target.mapping.version,
        });
        record.transitions.push({ referralId: id, to: 'applied', runId });
        record.audits.push({
          runId,
          referralId: id,
          target,
          action: result.created ? 'created' : 'updated',
          crmRecordId: result.recordId,
          detail: {
            fields: Object.keys(write.fields).length,
            mappingVersion: run.target.mapping.version,
          },
        });
        return;
      }
      const attempts =
        (write.state?.state === 'failed' || write.state?.state === 'pending'
          ? write.state.attempts
          : 0) + 1;
      const quarantine = attempts >= this.maxAttempts;
      countFor(stats, target, quarantine ? 'quarantined' : 'failed');
      const error = { code: result.error.code, message: result.error.message };
      record.links.push({
        ...versionColumns(write.item, target),
        mappingVersion: run.target.mapping.version,
      });
      record.transitions.push(
        quarantine
          ? {
              referralId: id,
              to: 'quarantined',
              quarantineReason: `the CRM rejected it ${attempts} times: ${error.message}`,
              error,
              runId,
            }
          : {
              referralId: id,
              to: 'failed',
              error,
              nextRetryAt: nextRetryAt(this.now(), attempts),
              runId,
            },
      );
      record.audits.push({
        runId,
        referralId: id,
        target,
        action: quarantine ? 'quarantined' : 'failed',
        crmRecordId: write.link?.crmRecordId ?? null,
        detail: { ...error, fields: result.error.fields, status: result.error.status, attempts },
      });
    });
    return record;
  }

  /** Outbox rows that put the CRM record id into the referral's externalReferenceId (primary target only). */
  private writeBackRequests(run: TargetRun, batch: PendingWrite[], results: UpsertItemResult[]) {
    if (run.target.name !== this.options.writeBackTarget) return [];
    return batch.flatMap((write, i) => {
      const result = results[i] as UpsertItemResult;
      const { referral } = write.item;
      if (
        !result.ok ||
        referral.externalReferenceId === result.recordId ||
        isTerminalStatus(referral.status)
      )
        return [];
      return [
        {
          referralId: referral.id,
          target: run.target.name,
          action: SET_EXTERNAL_REFERENCE,
          payload: { recordId: result.recordId, eTag: referralVersion(referral) },
          dedupeKey: `${SET_EXTERNAL_REFERENCE}:${referral.id}:${result.recordId}`,
        },
      ];
    });
  }

  private async saveCursor(db: Parameters<typeof setCursor>[0], run: TargetRun): Promise<void> {
    const safe = run.tracker.safeWatermark();
    if (safe && (run.cursor === null || compareInstants(safe, run.cursor) > 0)) {
      await setCursor(db, inboundCursorName(run.target.name), safe);
      run.cursor = safe;
    }
  }
}

/** Where the stream starts: the lowest cursor of all targets (a target never synced means from the start). */
function startPosition(runs: TargetRun[]): string | null {
  if (runs.length === 0 || runs.some((r) => r.cursor === null)) return null;
  return runs.map((r) => r.cursor as string).sort(compareInstants)[0] ?? null;
}

function versionColumns(item: ReferralWithKind, target: string) {
  return {
    referralId: item.referral.id,
    target,
    referralETag: referralVersion(item.referral),
    referralUpdatedAt: item.referral.updatedDateTime,
    referralStatus: item.referral.status,
    leadKind: item.leadKind,
  };
}
