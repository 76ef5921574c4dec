// The steps of the outcome handler (sync/actions/outcome.ts): the send and each ending's verdict.
import { normaliseError } from '../../core/errors.js';
import type { OutcomeAction } from '../../core/lifecycle.js';
import type { Referral } from '../../core/referral.js';
import type { AuditEntry, OutboxRow } from '../../ledger/index.js';
import {
  freshRef,
  type AcceptFields,
  type CloseFields,
} from '../../source/partner-center/actions.js';
import type { WriteAppliedError } from '../../source/partner-center/client.js';
import type { OutboxVerdict } from '../outbox.js';
import type { OutcomeWriter } from '../types.js';
import { audit, quarantined, versionMoves, type ActionContext } from './context.js';
import type { ActionCheck, OutcomePayload } from './outcome.js';
import { reflectExpiredRow } from './reflect-expired.js';

/**
 * HTTP statuses that mean the service refuses this write for good (a bad field value), not for now.
 */
const REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 422]);

export function sendOutcome(
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

/**
 * Our write rolled the eTag: links that recorded the version we wrote over move to the new one, so
 * the next poll does not see our own write as a change. A link that recorded an older version keeps
 * it: the referral then also carries someone else's change (customer data: Partner Center wins),
 * which the inbound side must still bring over.
 */
export async function sent(
  context: ActionContext,
  row: OutboxRow,
  payload: OutcomePayload,
  versions: { before: Referral; updated: Referral },
  audits: AuditEntry[],
): Promise<OutboxVerdict> {
  const { before, updated } = versions;
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
  const linked = await linkedTargets(context, row);
  return {
    state: 'sent',
    effects: {
      // Every target's link learns the new status, so no target reads the referral again to find
      // the outcome shown.
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

/**
 * The service applied the write (2xx) but its result could not be read: sent, and the next poll
 * brings the new state.
 */
export function appliedUnread(
  context: ActionContext,
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
async function linkedTargets(context: ActionContext, row: OutboxRow): Promise<string[]> {
  const links = await context.ledger.linksOf(row.referralId, [
    row.target,
    ...context.targets.keys(),
  ]);
  return links.map((link) => link.target);
}

/**
 * Not sent: archived, already shown, or no longer legal. An expired referral gets its CRM lead
 * marked instead.
 */
export async function settleUnsent(
  context: ActionContext,
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
      `${row.action} cannot be sent while the referral is ${shown}: ` +
        `${check.first} must come first and is no longer queued`,
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
    // Recorded now (deduplicated): if the round's commit is lost, the re-run reads Closed again and
    // adds nothing.
    if (link?.crmRecordId)
      await context.ledger.enqueue([
        reflectExpiredRow(row.target, row.referralId, link.crmRecordId),
      ]);
  }
  audits.push(audit(context, row, 'outcome-superseded', null, { action: row.action, reason }));
  // Only the status: a newer eTag is left for the inbound side, which has not synced that version
  // yet.
  return {
    state: 'superseded',
    error: reason,
    effects: {
      links: [{ referralId: row.referralId, target: row.target, referralStatus: referral.status }],
      audits,
    },
  };
}

/**
 * A write the service refuses for good is quarantined; anything else is thrown (settled as failed,
 * retried).
 */
export function refusedOrRethrow(
  context: ActionContext,
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
