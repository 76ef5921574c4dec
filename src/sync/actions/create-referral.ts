// The create-referral outbox action: a CRM deal flagged "share with Microsoft" becomes one
// referral.
//
// Row builder (collectSharedDeals): each cycle reads the flagged opportunities that have no
// referral id
// yet, builds the create body from the mapping's coSell section and records one outbox row per deal
// and
// body (a body missing a required field is recorded quarantined, naming the fields; when the CRM
// record
// is fixed the new body supersedes it). Handler: exactly once across crashes. The outbox holds the
// create; the CRM id travels as externalReferenceId; every attempt first looks the referral up by
// that
// id, so an attempt whose answer was lost (or a worker killed before the ledger commit) finds the
// referral instead of creating a second one. Then the referral id is written onto the opportunity
// (the
// CRM's referral-id field), and the link makes it an ordinary linked referral: its outcome flows
// back.
import { LeadbridgeError, isLeadbridgeError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Referral } from '../../core/referral.js';
import {
  appendAudit,
  enqueueOutcomes,
  listOutbox,
  markOutbox,
  type AuditEntry,
  type Ledger,
  type OutboxRow,
} from '../../ledger/index.js';
import { buildCoSellReferral, stableHash, type CoSellBuild } from '../../mapping/index.js';
import type { OutboxHandler } from '../outbox.js';
import type { SyncTarget } from '../types.js';
import type { ActionContext } from './context.js';

export const CREATE_REFERRAL = 'create-referral';
/** The error code of a create recorded quarantined (a field the create needs is missing). */
const DEAL_INCOMPLETE = 'DEAL_INCOMPLETE';

/** What the handler needs of Partner Center (PartnerDealClient). */
export interface DealWriter {
  findByExternalReferenceId(crmId: string, signal?: AbortSignal): Promise<Referral | null>;
  create(body: Record<string, unknown>, signal?: AbortSignal): Promise<Referral>;
  /** Test hook: runs after a create landed, before anything is recorded (a crash there). */
  afterCreate?: (referral: Referral) => Promise<void> | void;
}

interface Payload {
  recordId: string;
  body: Record<string, unknown>;
}

/** The outbox's referral column for a deal not in Partner Center yet. */
export function dealKey(target: string, recordId: string): string {
  return `deal:${target}:${recordId}`;
}

export interface DealCollectStats {
  dealsRead: number;
  enqueued: number;
  quarantined: number;
}

/**
 * Records the create rows of every target's flagged deals; one target failing does not stop others.
 */
export async function collectSharedDeals(
  ledger: Ledger,
  targets: readonly SyncTarget[],
  runId: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<DealCollectStats> {
  const stats: DealCollectStats = { dealsRead: 0, enqueued: 0, quarantined: 0 };
  for (const target of targets) {
    const coSell = target.mapping.definition.coSell;
    if (!coSell || !target.adapter.readSharedDeals) continue;
    try {
      const deals = await target.adapter.readSharedDeals(coSell.shareField, coSell.crmFields, {
        signal,
      });
      stats.dealsRead += deals.length;
      for (const deal of deals) {
        const build = buildCoSellReferral(
          coSell,
          target.mapping.definition.defaults,
          deal.fields,
          deal.recordId,
        );
        await recordDeal(ledger, target.name, deal.recordId, build, runId, stats);
      }
    } catch (error) {
      if (isLeadbridgeError(error) && error.code === 'ABORTED') throw error;
      logger.error('reading co-sell deals failed; tried again next cycle', {
        target: target.name,
        error: (error as Error).message,
      });
    }
  }
  return stats;
}

async function recordDeal(
  ledger: Ledger,
  target: string,
  recordId: string,
  build: CoSellBuild,
  runId: string,
  stats: DealCollectStats,
): Promise<void> {
  const referralKey = dealKey(target, recordId);
  const content = build.errors.length > 0 ? { errors: build.errors } : { body: build.body };
  const dedupeKey = `${CREATE_REFERRAL}:${target}:${recordId}:${stableHash(content).slice(0, 16)}`;
  await ledger.transaction(async (trx) => {
    const rows = await listOutbox(trx, referralKey);
    if (rows.some((row) => row.dedupeKey === dedupeKey)) return;
    for (const row of rows.filter((r) => ['pending', 'failed', 'quarantined'].includes(r.state)))
      await markOutbox(trx, row.id, 'superseded');
    const payload: Payload = { recordId, body: build.body };
    await enqueueOutcomes(trx, [
      {
        referralId: referralKey,
        target,
        action: CREATE_REFERRAL,
        payload: { ...payload },
        dedupeKey,
      },
    ]);
    const audit: AuditEntry = {
      runId,
      referralId: null,
      target,
      crmRecordId: recordId,
      action: 'deal-enqueued',
      detail: { dedupeKey },
    };
    if (build.errors.length > 0) {
      const added = (await listOutbox(trx, referralKey)).find((r) => r.dedupeKey === dedupeKey);
      const reason = build.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      if (added)
        await markOutbox(trx, added.id, 'quarantined', { code: DEAL_INCOMPLETE, message: reason });
      await appendAudit(trx, [{ ...audit, action: 'deal-quarantined', detail: { reason } }]);
      stats.quarantined++;
    } else {
      await appendAudit(trx, [audit]);
      stats.enqueued++;
    }
  });
}

/** The handler of `create-referral` rows: look up, create when absent, link the opportunity. */
export function createReferralHandler(context: ActionContext): OutboxHandler {
  return async (row, signal) => {
    const { recordId, body } = row.payload as unknown as Payload;
    const deals = context.deals;
    const target = context.targets.get(row.target);
    if (!deals) return { state: 'failed', error: 'no Partner Center deal client in this runtime' };
    if (!target?.adapter.linkDeal)
      return { state: 'failed', error: `target "${row.target}" cannot link co-sell deals` };
    // An earlier attempt may have created it and lost the answer (or died before the ledger
    // commit).
    let referral = await deals.findByExternalReferenceId(recordId, signal);
    const found = referral !== null;
    if (!referral) {
      try {
        referral = await deals.create(body, signal);
      } catch (error) {
        const refused = refusal(error);
        if (refused) return { state: 'quarantined', error: refused };
        throw error;
      }
      await deals.afterCreate?.(referral);
    }
    await target.adapter.linkDeal(recordId, referral.id, { signal });
    return { state: 'sent', effects: linkEffects(row, recordId, referral, found) };
  };
}

/** A 400/422 names what Partner Center refused: the deal waits for the CRM record to be fixed. */
function refusal(error: unknown): string | null {
  if (!(error instanceof LeadbridgeError) || (error.status !== 400 && error.status !== 422))
    return null;
  return `Partner Center refused the create: ${error.message}`;
}

function linkEffects(row: OutboxRow, recordId: string, referral: Referral, found: boolean) {
  return {
    links: [
      {
        referralId: referral.id,
        target: row.target,
        crmRecordId: recordId,
        referralETag: referral.eTag ?? null,
        referralStatus: referral.status ?? null,
        referralUpdatedAt: referral.updatedDateTime ?? null,
        leadKind: 'coSell',
      },
    ],
    audits: [
      {
        runId: row.runId ?? 'outbox',
        referralId: referral.id,
        target: row.target,
        crmRecordId: recordId,
        action: found ? 'deal-found' : 'deal-created',
        detail: { externalReferenceId: recordId },
      },
    ],
  };
}
