// The inbound cycle: changed referrals from Partner Center, mapped, written to each CRM target in
// batches, recorded.
import { silentLogger, type Logger } from '../core/log.js';
import { compareInstants } from '../core/time.js';
import {
  appendAudit,
  getCursor,
  hasOtherMappingVersion,
  type AuditEntry,
  type Ledger,
} from '../ledger/index.js';
import { flush } from './inbound-flush.js';
import { decidePage } from './inbound-page.js';
import { processDueRetries } from './inbound-retries.js';
import { saveCursor, type InboundContext, type TargetRun } from './inbound-run.js';
import { withLeadKind } from './lead-kind.js';
import {
  emptyInboundStats,
  emptyTargetCounts,
  inboundCursorName,
  type InboundStats,
  type ReferralSource,
  type ReferralWithKind,
  type SyncTarget,
} from './types.js';
import { WatermarkTracker } from './watermark.js';

export interface InboundSyncOptions {
  ledger: Ledger;
  source: ReferralSource;
  targets: SyncTarget[];
  logger?: Logger;
  /**
   * The target whose record id is written back to the referral's externalReferenceId (null: none).
   */
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
  /**
   * A soft stop, checked between pages: the cycle writes and records what it has read, then ends.
   */
  shouldStop?: () => boolean;
  /** Ends the cycle after this many pages (stats.more tells that the stream had more). */
  maxPages?: number;
  onProgress?: (stats: InboundStats) => void;
  /** Every valid referral read this cycle, page by page (alerts look for hot leads here). */
  onReferrals?: (items: ReferralWithKind[]) => Promise<void> | void;
}

export class InboundSync {
  private readonly logger: Logger;
  /** What the cycle's steps (inbound-page, inbound-flush, inbound-retries) read. */
  private readonly context: InboundContext;

  constructor(private readonly options: InboundSyncOptions) {
    this.logger = options.logger ?? silentLogger;
    this.context = {
      options,
      logger: this.logger,
      maxAttempts: options.maxAttempts ?? 5,
      now: options.now ?? (() => new Date()),
    };
  }

  /** One inbound cycle over every target; one target failing does not stop the others. */
  async runCycle(cycle: CycleOptions): Promise<InboundStats> {
    const stats = emptyInboundStats();
    const runs = await this.prepareRuns();
    for (const run of runs) stats.byTarget[run.target.name] = emptyTargetCounts();
    const since = startPosition(runs);
    for (const run of runs) await processDueRetries(this.context, run, cycle, stats);
    let pageIndex = 0;
    // Pages that end at or before the start cursor lie in the source's overlap window: stopping
    // among them would save the same cursor again, so a burst of changes larger than the page
    // budget inside that window was re-read by every cycle for ever. The budget counts pages
    // that move the cursor on; the window itself is bounded by the overlap.
    let budgeted = 0;
    for await (const page of this.options.source.listChanged(since, { signal: cycle.signal })) {
      // Checked when a further page has arrived, so `more` means the stream really had more (a
      // stream that ends on the last allowed page is caught up); that page is read again by the
      // next cycle.
      if (cycle.maxPages !== undefined && budgeted >= cycle.maxPages) {
        stats.more = true;
        break;
      }
      if (since === null || (page.highWatermark && compareInstants(page.highWatermark, since) > 0))
        budgeted++;
      stats.pages++;
      stats.referralsSeen += page.referrals.length;
      const items = page.referrals.map(withLeadKind);
      await this.recordInvalid(page.invalid, cycle.runId, stats);
      for (const run of runs) {
        run.tracker.addPage(pageIndex, page.highWatermark);
        if (run.down) continue;
        await decidePage(this.context, run, items, pageIndex, cycle, stats);
        while (!run.down && run.buffer.length >= run.target.adapter.maxBatchSize) {
          await flush(this.context, run, run.target.adapter.maxBatchSize, cycle, stats);
        }
      }
      pageIndex++;
      await cycle.onReferrals?.(items);
      cycle.onProgress?.(stats);
      if (cycle.shouldStop?.()) break;
    }
    for (const run of runs) {
      while (!run.down && run.buffer.length > 0)
        await flush(this.context, run, run.target.adapter.maxBatchSize, cycle, stats);
      if (!run.down) await saveCursor(this.options.ledger.db, run);
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

  /**
   * A target's cursor; none after an admin changed its mapping, so every referral is mapped again
   * (only changed output is written).
   */
  private async startCursor(target: SyncTarget): Promise<string | null> {
    const { db } = this.options.ledger;
    const cursor = await getCursor(db, inboundCursorName(target.name));
    if (
      cursor !== null &&
      (await hasOtherMappingVersion(db, target.name, target.mapping.version))
    ) {
      this.logger.info(
        'the mapping changed: re-mapping every referral; ' +
          'only records whose output changed are written',
        {
          target: target.name,
          mappingVersion: target.mapping.version,
        },
      );
      return null;
    }
    return cursor;
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
}

/**
 * Where the stream starts: the lowest cursor of all targets (a target never synced means from the
 * start).
 */
function startPosition(runs: TargetRun[]): string | null {
  if (runs.length === 0 || runs.some((r) => r.cursor === null)) return null;
  return runs.map((r) => r.cursor as string).sort(compareInstants)[0] ?? null;
}
