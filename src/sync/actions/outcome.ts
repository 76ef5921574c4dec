// The outcome actions (accept, decline, win, lose): the rows an outcome read in a CRM records, and
// their handler.
//
// Conflict policy: Partner Center wins for customer data, the CRM wins for the outcome. A write
// only ever carries the outcome (status, substatus, reason, the deal fields of an accept), never
// customer data; on a 412 the referral is read again and the outcome re-planned against it, then
// sent once more (CONFLICT_REREAD_POLICY). Archived referrals are never written, whatever the CRM
// says. Handlers write nothing to the ledger themselves (except a reflect-expired row,
// deduplicated): the verdict's effects are committed with the row's new state. So a crash after a
// Partner Center write leaves the row claimed and unmarked; once reclaimed, the fresh read finds
// the step done and sends nothing.
import { isTerminalStatus, planOutcome, type OutcomeAction } from '../../core/lifecycle.js';
import type { Referral } from '../../core/referral.js';
import { CONFLICT_REREAD_POLICY } from '../../core/retry.js';
import type { AuditEntry, OutcomeToSend } from '../../ledger/index.js';
import { CRM_OUTCOMES, stableHash, type CrmOutcome } from '../../mapping/index.js';
import { WriteAppliedError } from '../../source/partner-center/client.js';
import { acceptEchoes } from '../echo.js';
import type { OutboxHandler } from '../outbox.js';
import {
  conflictAudit,
  failed,
  isWriteConflict,
  quarantined,
  settlingThrown,
  type ActionContext,
} from './context.js';
import {
  appliedUnread,
  refusedOrRethrow,
  sendOutcome,
  sent,
  settleUnsent,
} from './outcome-steps.js';

export const OUTCOME_ACTION_NAMES: readonly OutcomeAction[] = ['accept', 'decline', 'win', 'lose'];

/**
 * What an outcome row carries: only eTag-independent data, so a resend after a fresh read needs
 * nothing else.
 */
export interface OutcomePayload {
  outcome: CrmOutcome;
  /** AcceptFields for accept, { reason } for decline and lose, {} for win. */
  fields: Record<string, unknown>;
  crmRecordId: string;
}

/**
 * Same target, referral and action: recorded once, so re-reading an outcome already recorded does
 * nothing.
 */
function outcomeDedupeKey(target: string, referralId: string, action: string): string {
  return `${target}:${referralId}:${action}`;
}

/** The row of one step of an outcome, to send. */
export function outcomeRow(
  target: string,
  referralId: string,
  action: OutcomeAction,
  payload: OutcomePayload,
): OutcomeToSend {
  return {
    referralId,
    target,
    action,
    payload: payload as unknown as Record<string, unknown>,
    dedupeKey: outcomeDedupeKey(target, referralId, action),
  };
}

/**
 * The row of an outcome that lacks fields its first step needs: recorded, then quarantined, never
 * sent.
 */
export function incompleteOutcomeRow(
  target: string,
  referralId: string,
  action: OutcomeAction,
  detail: {
    outcome: CrmOutcome;
    actions: OutcomeAction[];
    missing: string[];
    reason: string;
    crmRecordId: string;
  },
): OutcomeToSend {
  const hash = stableHash({ reason: detail.reason }).slice(0, 12);
  return {
    referralId,
    target,
    action,
    payload: { ...detail },
    // One row per distinct problem: the same gap read again adds nothing, a different one replaces
    // it.
    dedupeKey: `${outcomeDedupeKey(target, referralId, action)}:quarantined:${hash}`,
  };
}

/** Reads an outcome row's payload back; null when it is not one this engine wrote. */
export function readOutcomePayload(payload: Record<string, unknown>): OutcomePayload | null {
  const { outcome, fields, crmRecordId } = payload;
  if (typeof outcome !== 'string' || !(CRM_OUTCOMES as readonly string[]).includes(outcome))
    return null;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return null;
  return {
    outcome: outcome as CrmOutcome,
    fields: fields as Record<string, unknown>,
    crmRecordId: typeof crmRecordId === 'string' ? crmRecordId : '',
  };
}

export type ActionCheck =
  | { kind: 'send' }
  /** Archived: never written. */
  | { kind: 'closed'; expired: boolean }
  /** The referral already shows this step (or a later one). */
  | { kind: 'reflected' }
  /**
   * No legal transition leads from the referral's status to the outcome (declining an Active
   * referral).
   */
  | { kind: 'no-legal-path' }
  /**
   * An earlier step is still due, but its row is gone: sending this one would break the life cycle.
   */
  | { kind: 'out-of-order'; first: OutcomeAction };

/**
 * Re-plans one outbox row against the referral as just read: send only when this action is the next
 * legal step.
 */
export function checkAction(
  action: OutcomeAction,
  outcome: CrmOutcome,
  referral: Pick<Referral, 'status' | 'substatus'>,
): ActionCheck {
  if (isTerminalStatus(referral.status))
    return { kind: 'closed', expired: referral.substatus === 'Expired' };
  const plan = planOutcome(referral.status, outcome);
  if (plan === null) return { kind: 'no-legal-path' };
  if (plan[0] === action) return { kind: 'send' };
  if (!plan.includes(action)) return { kind: 'reflected' };
  return { kind: 'out-of-order', first: plan[0] as OutcomeAction };
}

/**
 * The handler of every outcome row: read the referral, re-plan, send with If-Match; after a 412
 * read again (CONFLICT_REREAD_POLICY). What it throws is settled (failed with a backoff, or
 * quarantined).
 */
export function outcomeHandler(context: ActionContext): OutboxHandler {
  return settlingThrown(context, async (row, signal) => {
    const action = row.action as OutcomeAction;
    const payload = readOutcomePayload(row.payload);
    if (!payload || !OUTCOME_ACTION_NAMES.includes(action))
      return quarantined(
        context,
        row,
        `the outbox row of ${row.action} has no readable outcome payload`,
        [],
      );
    const audits: AuditEntry[] = [];
    for (let attempt = 1; ; attempt++) {
      const referral = await context.source.get(row.referralId, { signal });
      const check = checkAction(action, payload.outcome, referral);
      if (check.kind !== 'send') return settleUnsent(context, row, referral, check, audits);
      try {
        // Recorded before the send, so a crash right after it still leaves the echo known to the
        // inbound side.
        if (action === 'accept')
          await context.ledger.recordEchoes(
            acceptEchoes(referral, payload.fields, await context.ledger.echoesOf(referral.id)),
          );
        const updated = await sendOutcome(context.source, action, referral, payload, signal);
        return await sent(context, row, payload, { before: referral, updated }, audits);
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
        if (attempt >= CONFLICT_REREAD_POLICY.maxAttempts)
          return failed(
            context,
            row,
            `${action} of referral ${row.referralId} met a conflict again after a re-read`,
            audits,
          );
      }
    }
  });
}
