// Outbox handlers of the outbound sync: outcomes sent to Partner Center after a fresh read, and expiries marked in the CRM.
//
// Conflict policy: Partner Center wins for customer data, the CRM wins for the outcome. A write only ever carries
// the outcome (status, substatus, reason, the deal fields of an accept), never customer data; on a 412 the
// referral is read again and the outcome re-planned against it, then sent once more. Archived referrals are never
// written, whatever the CRM says.
//
// Handlers write nothing to the ledger themselves (except a reflect-expired row, which is deduplicated): what they
// decided travels as the verdict's effects and is committed with the row's new state, in the drain's transaction.
// So a crash after a Partner Center write leaves the row claimed and unmarked; the re-run's fresh read finds the
// step done and sends nothing (exactly once, given that every send is re-planned from a fresh read).
import {
  ConflictError,
  isLeadbridgeError,
  LeadbridgeError,
  normaliseError,
} from '../core/errors.js';
import type { OutcomeAction } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Referral } from '../core/referral.js';
import {
  enqueueOutcomes,
  getEchoes,
  getLinks,
  upsertEchoes,
  type AuditEntry,
  type Ledger,
  type Link,
  type OutboxRow,
  type OutcomeToSend,
  type ReferralEcho,
} from '../ledger/index.js';
import { freshRef, type AcceptFields, type CloseFields } from '../source/partner-center/actions.js';
import { WriteAppliedError } from '../source/partner-center/client.js';
import { versionMoves } from './external-reference.js';
import { nextRetryAt } from './decide.js';
import { acceptEchoes } from './echo.js';
import type { OutboxHandler, OutboxVerdict } from './outbox.js';
import {
  checkAction,
  readOutcomePayload,
  reflectExpiredRow,
  type ActionCheck,
  type OutcomePayload,
} from './outbound-plan.js';
import type { OutboundStats, OutcomeWriter, ReferralSource, SyncTarget } from './types.js';

/** What handlers read from the ledger, and the one write they make outside the drain's transaction. */
export interface HandlerLedger {
  /** The referral's links on these targets (those that exist). */
  linksOf(referralId: string, targets: readonly string[]): Promise<Link[]>;
  /** Records outbox rows (deduplicated); returns how many were new. */
  enqueue(rows: OutcomeToSend[]): Promise<number>;
  /** The values leadbridge wrote into the referral earlier (see sync/echo.ts). */
  echoesOf(referralId: string): Promise<ReferralEcho[]>;
  /** Records what an accept is about to write, before it is sent (an upsert: a resend records the same). */
  recordEchoes(echoes: ReferralEcho[]): Promise<void>;
}

export function handlerLedger(ledger: Ledger): HandlerLedger {
  return {
    async linksOf(referralId, targets) {
      const found = await Promise.all(
        [...new Set(targets)].map(async (target) =>
          (await getLinks(ledger.db, target, [referralId])).get(referralId),
        ),
      );
      return found.filter((link): link is Link => link !== undefined);
    },
    enqueue: (rows) => enqueueOutcomes(ledger.db, rows),
    echoesOf: async (referralId) =>
      (await getEchoes(ledger.db, [referralId])).get(referralId) ?? [],
    recordEchoes: (echoes) => upsertEchoes(ledger.db, echoes),
  };
}

export interface HandlerContext {
  ledger: HandlerLedger;
  source: ReferralSource & OutcomeWriter;
  targets: ReadonlyMap<string, SyncTarget>;
  logger: Logger;
  /** Counters of the cycle the handlers run in. */
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
    if (!payload)
      return quarantined(
        context,
        row,
        `the outbox row of ${action} has no readable outcome payload`,
        [],
      );
    const audits: AuditEntry[] = [];
    for (let attempt = 1; ; attempt++) {
      const referral = await context.source.get(row.referralId, { signal });
      const check = checkAction(action, payload.outcome, referral);
      if (check.kind !== 'send') return settleUnsent(context, row, referral, check, audits);
      try {
        // Recorded before the send, so a crash right after it still leaves the echo known to the inbound side.
        if (action === 'accept')
          await context.ledger.recordEchoes(
            acceptEchoes(referral, payload.fields, await context.ledger.echoesOf(referral.id)),
          );
        const updated = await sendOutcome(context.source, action, referral, payload, signal);
        return sent(
          context,
          row,
          payload,
          referral,
          updated,
          audits,
          await linkedTargets(context, row),
        );
      } catch (thrown) {
        if (thrown instanceof WriteAppliedError)
          return appliedUnread(context, row, payload, thrown, audits);
        if (!isWriteConflict(thrown)) return refusedOrRethrow(context, row, thrown, audits);
        audits.push(
          conflictAudit(context, row, null, {
            action,
            status: thrown.status ?? null,
            eTagSent: referral.eTag,
            attempt,
            message: thrown.message,
          }),
        );
        if (attempt >= 2)
          return failed(
            context,
            row,
            `${action} of referral ${row.referralId} met a conflict again after a re-read`,
            audits,
          );
      }
    }
  };
}

function sendOutcome(
  source: OutcomeWriter,
  action: OutcomeAction,
  referral: Referral,
  payload: OutcomePayload,
  signal?: AbortSignal,
): Promise<Referral> {
  const ref = freshRef(referral);
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
 * Our write rolled the eTag: links that recorded the version we wrote over move to the new one, so the next poll
 * does not see our own write as a change. A link that recorded an older version keeps it: the referral then also
 * carries someone else's change (customer data: Partner Center wins), which the inbound side must still bring over.
 */
function sent(
  context: HandlerContext,
  row: OutboxRow,
  payload: OutcomePayload,
  before: Referral,
  updated: Referral,
  audits: AuditEntry[],
  linked: string[],
): OutboxVerdict {
  const afterConflict = audits.some((entry) => entry.action === 'conflict');
  audits.push(
    audit(context, row, 'outcome-sent', payload.crmRecordId, {
      action: row.action,
      outcome: payload.outcome,
      eTag: updated.eTag,
      status: updated.status,
      substatus: updated.substatus ?? null,
      afterConflict,
    }),
  );
  context.logger.info('outcome sent to Partner Center', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
    status: `${updated.status}/${String(updated.substatus)}`,
  });
  return {
    state: 'sent',
    effects: {
      // Every target's link learns the new status, so no target reads the referral again to find the outcome shown.
      links: linked.map((target) => ({
        referralId: row.referralId,
        target,
        referralStatus: updated.status,
      })),
      eTagMoves: versionMoves(row.referralId, before, updated),
      audits,
    },
  };
}

/** The service applied the write (2xx) but its result could not be read: sent, and the next poll brings the new state. */
function appliedUnread(
  context: HandlerContext,
  row: OutboxRow,
  payload: OutcomePayload,
  error: WriteAppliedError,
  audits: AuditEntry[],
): OutboxVerdict {
  context.logger.warn('outcome sent; the updated referral could not be read back', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
    error: error.message,
  });
  audits.push(
    audit(context, row, 'outcome-sent', payload.crmRecordId, {
      action: row.action,
      outcome: payload.outcome,
      unreadable: error.message,
    }),
  );
  return { state: 'sent', effects: { audits } };
}

/** The targets (the row's and every configured one) that have a link for the row's referral. */
async function linkedTargets(context: HandlerContext, row: OutboxRow): Promise<string[]> {
  const links = await context.ledger.linksOf(row.referralId, [
    row.target,
    ...context.targets.keys(),
  ]);
  return links.map((link) => link.target);
}

/** Not sent: archived, already shown, or no longer legal. An expired referral gets its CRM lead marked instead. */
async function settleUnsent(
  context: HandlerContext,
  row: OutboxRow,
  referral: Referral,
  check: Exclude<ActionCheck, { kind: 'send' }>,
  audits: AuditEntry[],
): Promise<OutboxVerdict> {
  const shown = `${referral.status}/${String(referral.substatus)}`;
  if (check.kind === 'out-of-order') {
    return quarantined(
      context,
      row,
      `${row.action} cannot be sent while the referral is ${shown}: ${check.first} must come first and is no longer queued`,
      audits,
    );
  }
  const reason =
    check.kind === 'closed'
      ? `the referral is ${shown}: archived referrals are never written`
      : check.kind === 'reflected'
        ? `the referral already shows it (${shown})`
        : `no legal transition leads from ${shown} to this outcome`;
  if (check.kind === 'closed' && check.expired) {
    const [link] = await context.ledger.linksOf(row.referralId, [row.target]);
    // Recorded now (deduplicated): if the round's commit is lost, the re-run reads Closed again and adds nothing.
    if (link?.crmRecordId)
      await context.ledger.enqueue([
        reflectExpiredRow(row.target, row.referralId, link.crmRecordId),
      ]);
  }
  audits.push(audit(context, row, 'outcome-superseded', null, { action: row.action, reason }));
  // Only the status: a newer eTag is left for the inbound side, which has not synced that version yet.
  return {
    state: 'superseded',
    error: reason,
    effects: {
      links: [{ referralId: row.referralId, target: row.target, referralStatus: referral.status }],
      audits,
    },
  };
}

/** A write the service refuses for good is quarantined; anything else fails for a later retry (see counted). */
function refusedOrRethrow(
  context: HandlerContext,
  row: OutboxRow,
  thrown: unknown,
  audits: AuditEntry[],
): OutboxVerdict {
  const error = normaliseError(thrown, 'partner-center');
  const refused =
    error.code === 'VALIDATION_FAILED' ||
    (error.status !== undefined && REFUSED_STATUSES.has(error.status));
  if (refused)
    return quarantined(
      context,
      row,
      `Partner Center refused ${row.action}: ${error.message}`,
      audits,
    );
  throw error;
}

function quarantined(
  context: HandlerContext,
  row: OutboxRow,
  reason: string,
  audits: AuditEntry[],
): OutboxVerdict {
  context.logger.warn('outcome quarantined', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
    reason,
  });
  return {
    state: 'quarantined',
    error: reason,
    effects: {
      audits: [
        ...audits,
        audit(context, row, 'outcome-quarantined', null, { action: row.action, reason }),
      ],
    },
  };
}

function failed(
  context: HandlerContext,
  row: OutboxRow,
  message: string,
  audits: AuditEntry[],
): OutboxVerdict {
  const entry = audit(context, row, 'outcome-failed', null, {
    action: row.action,
    message,
    attempts: row.attempts,
  });
  return {
    state: 'failed',
    error: message,
    nextAttemptAt: nextRetryAt(context.now(), row.attempts),
    effects: { audits: [...audits, entry] },
  };
}

/**
 * reflect-expired: marks the CRM lead of a referral that expired unanswered (the mapping's expiredReflection),
 * once and only while the lead is open. The referral is Closed, so the CRM change this makes reads as an
 * outcome with no legal path: nothing flows back.
 */
export function reflectExpiredHandler(context: HandlerContext): OutboxHandler {
  return async (row, signal) => {
    const target = context.targets.get(row.target);
    if (!target) return quarantined(context, row, `target "${row.target}" is not configured`, []);
    const reflection = target.mapping.definition.status?.expiredReflection ?? null;
    if (!target.adapter.reflectExpired || reflection === null) {
      return skipReflection(
        context,
        row,
        reflection === null
          ? 'the mapping has no status.expiredReflection'
          : `the ${target.adapter.kind} adapter cannot reflect expiries`,
        [],
      );
    }
    const referral = await context.source.get(row.referralId, { signal });
    if (referral.status !== 'Closed' || referral.substatus !== 'Expired') {
      return skipReflection(
        context,
        row,
        `the referral is ${referral.status}/${String(referral.substatus)}, not Closed/Expired`,
        [],
      );
    }
    const audits: AuditEntry[] = [];
    for (let attempt = 1; ; attempt++) {
      const record = await target.adapter.getByReferralId(row.referralId, { signal });
      if (!record)
        return skipReflection(context, row, 'the CRM has no record for the referral', audits);
      try {
        const written = await target.adapter.reflectExpired(record, { ...reflection }, { signal });
        if (written === false)
          return skipReflection(context, row, 'the CRM lead is no longer open', audits);
        return reflected(context, row, record.recordId, reflection, audits);
      } catch (thrown) {
        if (!(thrown instanceof ConflictError)) throw thrown;
        audits.push(
          conflictAudit(context, row, record.recordId, {
            action: row.action,
            attempt,
            message: thrown.message,
          }),
        );
        if (attempt >= 2)
          return failed(
            context,
            row,
            `the CRM lead of referral ${row.referralId} changed again while being marked expired`,
            audits,
          );
      }
    }
  };
}

function reflected(
  context: HandlerContext,
  row: OutboxRow,
  crmRecordId: string,
  reflection: Readonly<Record<string, unknown>>,
  audits: AuditEntry[],
): OutboxVerdict {
  context.stats.expiredReflected++;
  context.logger.info('expired referral reflected into the CRM', {
    referralId: row.referralId,
    target: row.target,
    crmRecordId,
  });
  return {
    state: 'sent',
    effects: {
      links: [{ referralId: row.referralId, target: row.target, referralStatus: 'Closed' }],
      audits: [
        ...audits,
        audit(context, row, 'expired-reflected', crmRecordId, { fields: { ...reflection } }),
      ],
    },
  };
}

function skipReflection(
  context: HandlerContext,
  row: OutboxRow,
  reason: string,
  audits: AuditEntry[],
): OutboxVerdict {
  return {
    state: 'superseded',
    error: reason,
    effects: {
      audits: [...audits, audit(context, row, 'expired-reflection-skipped', null, { reason })],
    },
  };
}

function conflictAudit(
  context: HandlerContext,
  row: OutboxRow,
  crmRecordId: string | null,
  detail: Record<string, unknown>,
): AuditEntry {
  context.stats.conflicts++;
  context.logger.warn('write met a conflict; reading again', {
    referralId: row.referralId,
    target: row.target,
    action: row.action,
  });
  return audit(context, row, 'conflict', crmRecordId, {
    ...detail,
    policy:
      'Partner Center wins for customer data, the CRM for the outcome: re-read and re-planned',
  });
}

function audit(
  context: HandlerContext,
  row: OutboxRow,
  action: string,
  crmRecordId: string | null,
  detail: Record<string, unknown>,
): AuditEntry {
  return {
    at: context.now().toISOString(),
    runId: row.runId ?? 'outbox',
    referralId: row.referralId,
    target: row.target,
    action,
    crmRecordId,
    detail,
  };
}

/**
 * Wraps a handler so the cycle's counters see every verdict. A thrown failure becomes a failed verdict with a
 * backoff, except a record that no longer exists (404) or a row that failed maxAttempts times: those are quarantined.
 */
export function counted(context: HandlerContext, handler: OutboxHandler): OutboxHandler {
  return async (row, signal) => {
    let verdict: OutboxVerdict;
    try {
      verdict = await handler(row, signal);
    } catch (thrown) {
      const error = normaliseError(thrown);
      if (error.code === 'NOT_FOUND')
        verdict = quarantined(
          context,
          row,
          `${row.action} found nothing to write to: ${error.message}`,
          [],
        );
      else if (row.attempts >= context.maxAttempts)
        verdict = quarantined(
          context,
          row,
          `${row.action} failed ${row.attempts} times: ${error.message}`,
          [],
        );
      else verdict = failed(context, row, error.message, []);
    }
    context.stats[verdict.state]++;
    return verdict;
  };
}
