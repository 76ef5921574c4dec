// Outbox handlers of the outbound sync: outcomes sent to Partner Center after a fresh read, and expiries marked in the CRM.
//
// Conflict policy: Partner Center wins for customer data, the CRM wins for the outcome. A write only ever carries
// the outcome (status, substatus, reason, the deal fields of an accept), never customer data; on a 412 the
// referral is read again and the outcome re-planned against it, then sent once more. Archived referrals are never
// written, whatever the CRM says.
import { ConflictError, isLeadbridgeError, LeadbridgeError, normaliseError } from '../core/errors.js';
import type { OutcomeAction } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Referral } from '../core/referral.js';
import { appendAudit, enqueueOutcomes, getLinks, upsertLinks, type AuditEntry, type Ledger, type OutboxRow } from '../ledger/index.js';
import type { AcceptFields, CloseFields } from '../source/partner-center/actions.js';
import type { OutboxHandler, OutboxVerdict } from './outbox.js';
import { checkAction, readOutcomePayload, reflectExpiredRow, type ActionCheck, type OutcomePayload } from './outbound-plan.js';
import type { OutboundStats, OutcomeWriter, ReferralSource, SyncTarget } from './types.js';

export interface HandlerContext {
  ledger: Ledger;
  source: ReferralSource & OutcomeWriter;
  targets: ReadonlyMap<string, SyncTarget>;
  logger: Logger;
  /** Counters of the cycle the handlers run in (conflicts, expiries reflected). */
  stats: OutboundStats;
  /** A row whose send keeps failing is quarantined at this attempt. */
  maxAttempts: number;
  now: () => Date;
}

/** HTTP statuses that mean the service refuses this write for good (a bad field value), not for now. */
const REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 422]);

/** accept / decline / win / lose: read the referral, re-plan, send with If-Match; after a 412 once more. */
export function outcomeHandler(context: HandlerContext, action: OutcomeAction): OutboxHandler {
  return async (row, signal) => {
    const payload = readOutcomePayload(row.payload);
    if (!payload) return quarantine(context, row, `the outbox row of ${action} has no readable outcome payload`);
    let conflicted = false;
    for (let attempt = 1; ; attempt++) {
      const referral = await context.source.get(row.referralId, { signal });
      const check = checkAction(action, payload.outcome, referral);
      if (check.kind !== 'send') return settleUnsent(context, row, referral, check);
      try {
        const updated = await sendOutcome(context.source, action, referral, payload, signal);
        await recordSent(context, row, payload, referral, updated, conflicted);
        return { state: 'sent' };
      } catch (thrown) {
        if (!isWriteConflict(thrown)) return refusedOrRethrow(context, row, thrown);
        conflicted = true;
        await recordConflict(context, row, referral, thrown, attempt);
        if (attempt >= 2) return { state: 'failed', error: `${action} of referral ${row.referralId} met a conflict again after a re-read; retried next cycle` };
      }
    }
  };
}

function sendOutcome(source: OutcomeWriter, action: OutcomeAction, referral: Referral, payload: OutcomePayload, signal?: AbortSignal): Promise<Referral> {
  const ref = { id: referral.id, eTag: referral.eTag };
  switch (action) {
    case 'accept':
      return source.accept(ref, payload.fields as unknown as AcceptFields, { signal });
    case 'decline':
      return source.decline(ref, payload.fields as unknown as CloseFields, { signal });
    case 'win':
      return source.markWon(ref, {}, { signal });
    case 'lose':
      return source.markLost(ref, payload.fields as unknown as CloseFields, { signal });
  }
}

/** 412 (the referral changed since it was read) or 409 (it was archived meanwhile): read again and re-decide. */
function isWriteConflict(error: unknown): error is LeadbridgeError {
  return error instanceof ConflictError || (isLeadbridgeError(error) && error.status === 409);
}

/**
 * Our write rolled the eTag: the link takes the new one so the next poll does not see our own write as a change,
 * but only when the version we wrote over is the one the inbound side last synced. Otherwise the referral also
 * carries someone else's change (customer data: Partner Center wins), which the inbound side must still see.
 */
async function recordSent(context: HandlerContext, row: OutboxRow, payload: OutcomePayload, before: Referral, updated: Referral, afterConflict: boolean): Promise<void> {
  const link = (await getLinks(context.ledger.db, row.target, [row.referralId])).get(row.referralId);
  const ownVersion = link?.referralETag === before.eTag;
  await context.ledger.transaction(async (trx) => {
    await upsertLinks(trx, [
      {
        referralId: row.referralId,
        target: row.target,
        referralStatus: updated.status,
        ...(ownVersion ? { referralETag: updated.eTag, referralUpdatedAt: updated.updatedDateTime } : {}),
      },
    ]);
    await appendAudit(trx, [
      audit(context, row, 'outcome-sent', payload.crmRecordId, {
        action: row.action,
        outcome: payload.outcome,
        eTag: updated.eTag,
        status: updated.status,
        substatus: updated.substatus ?? null,
        afterConflict,
        linkETagUpdated: ownVersion,
      }),
    ]);
  });
  context.logger.info('outcome sent to Partner Center', { referralId: row.referralId, target: row.target, action: row.action, status: `${updated.status}/${String(updated.substatus)}` });
}

async function recordConflict(context: HandlerContext, row: OutboxRow, referral: Referral, error: LeadbridgeError, attempt: number): Promise<void> {
  context.stats.conflicts++;
  await appendAudit(context.ledger.db, [
    audit(context, row, 'conflict', null, { action: row.action, status: error.status ?? null, eTagSent: referral.eTag, attempt, message: error.message, policy: 'the CRM wins for the outcome: re-read and re-planned' }),
  ]);
  context.logger.warn('outcome write met a conflict; re-reading the referral', { referralId: row.referralId, target: row.target, action: row.action, status: error.status });
}

/** Not sent: archived, already shown, or no longer legal. An expired referral gets its CRM lead marked instead. */
async function settleUnsent(context: HandlerContext, row: OutboxRow, referral: Referral, check: Exclude<ActionCheck, { kind: 'send' }>): Promise<OutboxVerdict> {
  const shown = `${referral.status}/${String(referral.substatus)}`;
  if (check.kind === 'out-of-order') {
    return quarantine(context, row, `${row.action} cannot be sent while the referral is ${shown}: ${check.first} must come first and is no longer queued`);
  }
  const reason =
    check.kind === 'closed'
      ? `the referral is ${shown}: archived referrals are never written`
      : check.kind === 'reflected'
        ? `the referral already shows it (${shown})`
        : `no legal transition leads from ${shown} to this outcome`;
  const link = (await getLinks(context.ledger.db, row.target, [row.referralId])).get(row.referralId);
  const reflect = check.kind === 'closed' && check.expired && link?.crmRecordId ? [reflectExpiredRow(row.target, row.referralId, link.crmRecordId)] : [];
  await context.ledger.transaction(async (trx) => {
    // Only the status: a newer eTag is left for the inbound side, which has not synced that version yet.
    await upsertLinks(trx, [{ referralId: row.referralId, target: row.target, referralStatus: referral.status }]);
    await appendAudit(trx, [audit(context, row, 'outcome-superseded', null, { action: row.action, reason })]);
    await enqueueOutcomes(trx, reflect);
  });
  return { state: 'superseded' };
}

/** A write the service refuses for good is quarantined; anything else fails for a later retry (see counted). */
async function refusedOrRethrow(context: HandlerContext, row: OutboxRow, thrown: unknown): Promise<OutboxVerdict> {
  const error = normaliseError(thrown, 'partner-center');
  const refused = error.code === 'VALIDATION_FAILED' || (error.status !== undefined && REFUSED_STATUSES.has(error.status));
  if (refused) return quarantine(context, row, `Partner Center refused ${row.action}: ${error.message}`);
  throw error;
}

export async function quarantine(context: HandlerContext, row: OutboxRow, reason: string): Promise<OutboxVerdict> {
  await appendAudit(context.ledger.db, [audit(context, row, 'outcome-quarantined', null, { action: row.action, reason })]);
  context.logger.warn('outcome quarantined', { referralId: row.referralId, target: row.target, action: row.action, reason });
  return { state: 'quarantined' };
}

/**
 * reflect-expired: marks the CRM lead of a referral that expired unanswered (the mapping's expiredReflection),
 * once and only while the lead is open. The referral is Closed, so the CRM change this makes reads as an
 * outcome with no legal path: nothing flows back.
 */
export function reflectExpiredHandler(context: HandlerContext): OutboxHandler {
  return async (row, signal) => {
    const target = context.targets.get(row.target);
    if (!target) return quarantine(context, row, `target "${row.target}" is not configured`);
    const reflection = target.mapping.definition.status?.expiredReflection ?? null;
    if (!target.adapter.reflectExpired || reflection === null) {
      const why = reflection === null ? 'the mapping has no status.expiredReflection' : `the ${target.adapter.kind} adapter cannot reflect expiries`;
      return skipReflection(context, row, why);
    }
    const referral = await context.source.get(row.referralId, { signal });
    if (referral.status !== 'Closed' || referral.substatus !== 'Expired') {
      return skipReflection(context, row, `the referral is ${referral.status}/${String(referral.substatus)}, not Closed/Expired`);
    }
    for (let attempt = 1; ; attempt++) {
      const record = await target.adapter.getByReferralId(row.referralId, { signal });
      if (!record) return skipReflection(context, row, 'the CRM has no record for the referral');
      try {
        const written = await target.adapter.reflectExpired(record, { ...reflection }, { signal });
        if (written === false) return skipReflection(context, row, 'the CRM lead is no longer open');
        return await recordReflected(context, row, record.recordId, reflection);
      } catch (thrown) {
        if (!(thrown instanceof ConflictError)) throw thrown;
        context.stats.conflicts++;
        await appendAudit(context.ledger.db, [audit(context, row, 'conflict', record.recordId, { action: row.action, attempt, message: thrown.message })]);
        if (attempt >= 2) return { state: 'failed', error: `the CRM lead of referral ${row.referralId} changed again while being marked expired; retried next cycle` };
      }
    }
  };
}

async function recordReflected(context: HandlerContext, row: OutboxRow, crmRecordId: string, reflection: Readonly<Record<string, unknown>>): Promise<OutboxVerdict> {
  context.stats.expiredReflected++;
  await context.ledger.transaction(async (trx) => {
    await upsertLinks(trx, [{ referralId: row.referralId, target: row.target, referralStatus: 'Closed' }]);
    await appendAudit(trx, [audit(context, row, 'expired-reflected', crmRecordId, { fields: { ...reflection } })]);
  });
  context.logger.info('expired referral reflected into the CRM', { referralId: row.referralId, target: row.target, crmRecordId });
  return { state: 'sent' };
}

async function skipReflection(context: HandlerContext, row: OutboxRow, reason: string): Promise<OutboxVerdict> {
  await appendAudit(context.ledger.db, [audit(context, row, 'expired-reflection-skipped', null, { reason })]);
  return { state: 'superseded' };
}

function audit(context: HandlerContext, row: OutboxRow, action: string, crmRecordId: string | null, detail: Record<string, unknown>): AuditEntry {
  return { at: context.now().toISOString(), runId: row.runId ?? 'outbox', referralId: row.referralId, target: row.target, action, crmRecordId, detail };
}

/**
 * Wraps a handler so the cycle's counters see every verdict. A thrown failure is audited and retried next cycle,
 * except a record that no longer exists (404) or a row that failed maxAttempts times: those are quarantined.
 */
export function counted(context: HandlerContext, handler: OutboxHandler): OutboxHandler {
  return async (row, signal) => {
    let verdict: OutboxVerdict;
    try {
      verdict = await handler(row, signal);
    } catch (thrown) {
      const error = normaliseError(thrown);
      if (error.code === 'ABORTED') throw error;
      if (error.code === 'NOT_FOUND') verdict = await quarantine(context, row, `${row.action} found nothing to write to: ${error.message}`);
      else if (row.attempts >= context.maxAttempts) verdict = await quarantine(context, row, `${row.action} failed ${row.attempts} times: ${error.message}`);
      else {
        context.stats.failed++;
        await appendAudit(context.ledger.db, [audit(context, row, 'outcome-failed', null, { action: row.action, code: error.code, message: error.message, attempts: row.attempts })]);
        throw error;
      }
    }
    context.stats[verdict.state]++;
    if (verdict.state === 'failed') {
      await appendAudit(context.ledger.db, [audit(context, row, 'outcome-failed', null, { action: row.action, message: verdict.error, attempts: row.attempts })]);
    }
    return verdict;
  };
}
