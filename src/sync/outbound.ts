// The outbound cycle: outcomes recorded in each CRM (accepted, declined, won, lost) flow back to
// Partner Center, once, in life-cycle order.
//
// collect() reads each target's CRM changes since its cursor ("crm:<target>"), keeps the records
// linked to referrals in the ledger, reads them with the mapping's status section and records the
// outbox rows an outcome needs (accept before win or lose), one transaction per page with the
// cursor. The outbox drain sends them (sync/actions/outcome.ts): every send reads the referral
// fresh and re-plans, so a row resent after a crash finds its step done and sends nothing.
//
// An outcome that lacks a field its action needs (an accept without a deal value) is recorded as an
// outbox row in state quarantined (its last_error and the audit "outcome-quarantined" give the
// reason naming the fields); nothing after it is queued. When the CRM record is fixed, the next
// reading supersedes that row and queues the outcome; the same goes for a row the handler
// quarantined (Partner Center refused a value).
import PQueue from 'p-queue';
import { isLeadbridgeError, normaliseError } from '../core/errors.js';
import { planOutcome } from '../core/lifecycle.js';
import { silentLogger, type Logger } from '../core/log.js';
import type { Referral } from '../core/referral.js';
import type { CrmRecordState } from '../crm/adapter.js';
import {
  appendAudit,
  clearRecheckRequests,
  enqueueOutcomes,
  getCursor,
  getLinks,
  listOutbox,
  listRecheckRequests,
  markOutbox,
  OUTCOME_INCOMPLETE,
  setCursor,
  upsertLinks,
  type AuditEntry,
  type Ledger,
  type Link,
} from '../ledger/index.js';
import type { Knex } from 'knex';
import { ChangeWindow } from './crm-window.js';
import {
  decideOutcome,
  outcomeOf,
  reconcileRows,
  recordView,
  type OutcomeDecision,
} from './outbound-plan.js';
import {
  emptyOutboundStats,
  outboundCursorName,
  type OutboundStats,
  type OutcomeWriter,
  type ReferralSource,
  type SyncTarget,
} from './types.js';

export interface OutboundSyncOptions {
  ledger: Ledger;
  source: ReferralSource & OutcomeWriter;
  targets: SyncTarget[];
  logger?: Logger;
  now?: () => Date;
  /** Referrals read at once while deciding a page (default 8). */
  readConcurrency?: number;
}

export interface OutboundCycleOptions {
  runId: string;
  signal?: AbortSignal;
}

/** One linked record of a page and what it asks for. */
interface RecordDecision {
  record: CrmRecordState;
  decision: OutcomeDecision | { kind: 'referral-missing'; message: string };
}

export class OutboundSync {
  private readonly logger: Logger;
  private readonly now: () => Date;
  /** Where each target's next change read starts (see crm-window.ts). */
  private readonly window = new ChangeWindow();

  constructor(private readonly options: OutboundSyncOptions) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Reads every target's CRM changes and records the outcomes to send; one target failing does not
   * stop the others.
   */
  async collect(cycle: OutboundCycleOptions): Promise<OutboundStats> {
    const stats = emptyOutboundStats();
    for (const target of this.options.targets) {
      if (cycle.signal?.aborted) break;
      if (!target.mapping.definition.status) continue;
      try {
        await this.collectTarget(target, cycle, stats);
        await this.recheckRequested(target, cycle, stats);
      } catch (thrown) {
        const error = normaliseError(thrown, target.adapter.kind);
        if (error.code === 'ABORTED') throw error;
        stats.targetsDown++;
        stats.failedTargets.push({
          target: target.name,
          stage: 'reading outcomes',
          code: error.code,
          message: error.message,
        });
        this.logger.error(
          'reading CRM outcomes failed; the target resumes from its cursor next cycle',
          { target: target.name, error: error.message, code: error.code },
        );
      }
    }
    return stats;
  }

  private async collectTarget(
    target: SyncTarget,
    cycle: OutboundCycleOptions,
    stats: OutboundStats,
  ): Promise<void> {
    const cursorName = outboundCursorName(target.name);
    // The cursor's own second is re-read until it is complete; outcomes already recorded are not
    // recorded again.
    let cursor = await getCursor(this.options.ledger.db, cursorName);
    const read = this.window.start(target, cursor);
    for await (const page of target.adapter.readChanges(read.since, { signal: cycle.signal })) {
      stats.recordsRead += page.records.length;
      const decisions = await this.decidePage(target, page.records, cycle, stats);
      await this.options.ledger.transaction(async (trx) => {
        await this.recordDecisions(trx, target, decisions, cycle.runId, stats);
        if (page.cursor !== null) await setCursor(trx, cursorName, page.cursor);
      });
      if (page.cursor !== null) cursor = page.cursor;
    }
    this.window.finished(target, cursor, read.startedAtMs);
  }

  /**
   * Quarantined outcomes an operator sent back (retry --quarantined): their CRM records are read
   * again and re-decided.
   */
  private async recheckRequested(
    target: SyncTarget,
    cycle: OutboundCycleOptions,
    stats: OutboundStats,
  ): Promise<void> {
    const rows = await listRecheckRequests(this.options.ledger.db, target.name);
    if (rows.length === 0) return;
    const records: CrmRecordState[] = [];
    for (const referralId of new Set(rows.map((row) => row.referralId))) {
      const record = await target.adapter.getByReferralId(referralId, { signal: cycle.signal });
      if (record) records.push(record);
    }
    stats.recordsRead += records.length;
    const decisions = await this.decidePage(target, records, cycle, stats);
    await this.options.ledger.transaction(async (trx) => {
      await this.recordDecisions(trx, target, decisions, cycle.runId, stats);
      await clearRecheckRequests(
        trx,
        rows.map((row) => row.id),
      );
    });
  }

  /**
   * Linked records with an outcome the ledger does not show yet are checked against their referral,
   * read fresh.
   */
  private async decidePage(
    target: SyncTarget,
    records: CrmRecordState[],
    cycle: OutboundCycleOptions,
    stats: OutboundStats,
  ): Promise<RecordDecision[]> {
    const links = await getLinks(
      this.options.ledger.db,
      target.name,
      records.map((r) => r.referralId),
    );
    await recordConversions(this.options.ledger.db, target.name, records, links);
    const toRead: CrmRecordState[] = [];
    for (const record of records) {
      const link = links.get(record.referralId);
      if (!link?.crmRecordId) {
        stats.unlinked++;
        continue;
      }
      const outcome = outcomeOf(target.mapping, record);
      if (outcome === null) continue;
      stats.outcomesRead++;
      // What the ledger knows rules most records out without a call: Closed (null) or already shown
      // ([]).
      const known =
        link.referralStatus === null ? undefined : planOutcome(link.referralStatus, outcome);
      if (known === null || known?.length === 0) stats.nothingToSend++;
      else toRead.push(record);
    }
    const queue = new PQueue({ concurrency: this.options.readConcurrency ?? 8 });
    return queue.addAll(toRead.map((record) => () => this.decideRecord(target, record, cycle)));
  }

  private async decideRecord(
    target: SyncTarget,
    record: CrmRecordState,
    cycle: OutboundCycleOptions,
  ): Promise<RecordDecision> {
    let referral: Referral;
    try {
      referral = await this.options.source.get(record.referralId, { signal: cycle.signal });
    } catch (thrown) {
      // A referral that no longer exists must not hold the cursor forever; anything else fails the
      // page.
      if (isLeadbridgeError(thrown) && thrown.code === 'NOT_FOUND')
        return { record, decision: { kind: 'referral-missing', message: thrown.message } };
      throw thrown;
    }
    const reading = target.mapping.readOutcome(recordView(record, referral));
    return { record, decision: decideOutcome(target.name, referral, record.recordId, reading) };
  }

  private async recordDecisions(
    trx: Knex.Transaction,
    target: SyncTarget,
    decisions: RecordDecision[],
    runId: string,
    stats: OutboundStats,
  ): Promise<void> {
    const audits: AuditEntry[] = [];
    for (const { record, decision } of decisions) {
      const entry = {
        at: this.now().toISOString(),
        runId,
        referralId: record.referralId,
        target: target.name,
        crmRecordId: record.recordId,
      };
      if (decision.kind === 'referral-missing') {
        stats.nothingToSend++;
        audits.push({
          ...entry,
          action: 'outcome-skipped',
          detail: {
            reason: `the referral no longer exists in Partner Center (${decision.message})`,
          },
        });
        continue;
      }
      const recorded = (await listOutbox(trx, record.referralId)).filter(
        (row) => row.target === target.name,
      );
      const change = reconcileRows(decision, recorded);
      for (const row of change.retire) await markOutbox(trx, row.id, 'superseded');
      stats.superseded += change.retire.length;
      const added = await enqueueOutcomes(trx, change.add);
      if (decision.kind === 'none') stats.nothingToSend++;
      else if (decision.kind === 'quarantine' && added > 0) {
        await markQuarantined(trx, decision);
        stats.quarantined++;
        audits.push({
          ...entry,
          action: 'outcome-quarantined',
          detail: {
            outcome: decision.outcome,
            actions: decision.actions,
            missing: decision.missing,
            reason: decision.reason,
          },
        });
      } else if (decision.kind === 'enqueue' && added > 0) {
        stats.enqueued += added;
        const detail = {
          outcome: decision.outcome,
          actions: change.add.map((row) => row.action),
          replaced: change.retire.map((row) => row.id),
          crmModifiedAt: record.modifiedAt,
        };
        audits.push({ ...entry, action: 'outcome-enqueued', detail });
      }
    }
    await appendAudit(trx, audits);
  }
}

/**
 * pending → quarantined in the same transaction as the insert, so no drain can claim the row in
 * between.
 */
async function markQuarantined(
  trx: Knex.Transaction,
  decision: Extract<OutcomeDecision, { kind: 'quarantine' }>,
): Promise<void> {
  const rows = await listOutbox(trx, decision.row.referralId);
  const row = rows.find((candidate) => candidate.dedupeKey === decision.row.dedupeKey);
  if (row)
    await markOutbox(trx, row.id, 'quarantined', {
      code: OUTCOME_INCOMPLETE,
      message: decision.reason,
    });
}

/**
 * Leads the CRM converted / qualified are remembered on their link, so that inbound changes skip
 * the locked lead
 * (sync/decide.ts). Idempotent: a page read again after a crash records the same.
 */
async function recordConversions(
  db: Knex,
  target: string,
  records: readonly CrmRecordState[],
  links: ReadonlyMap<string, Link>,
): Promise<void> {
  const updates = records.flatMap((record) => {
    const link = links.get(record.referralId);
    if (record.convertedInto === undefined || !link?.crmRecordId) return [];
    if (link.crmConvertedInto === record.convertedInto) return [];
    return [{ referralId: record.referralId, target, crmConvertedInto: record.convertedInto }];
  });
  if (updates.length > 0) await upsertLinks(db, updates);
}
