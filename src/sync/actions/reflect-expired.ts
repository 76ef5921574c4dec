// The `reflect-expired` action: the CRM lead of a referral that expired unanswered is marked, once,
// while open.
import { ConflictError } from '../../core/errors.js';
import { isTerminalStatus } from '../../core/lifecycle.js';
import type { Referral } from '../../core/referral.js';
import { CONFLICT_REREAD_POLICY } from '../../core/retry.js';
import type { AuditEntry, Link, OutboxRow, OutcomeToSend } from '../../ledger/index.js';
import type { OutboxHandler, OutboxVerdict } from '../outbox.js';
import {
  audit,
  conflictAudit,
  failed,
  quarantined,
  settlingThrown,
  type ActionContext,
} from './context.js';

export const REFLECT_EXPIRED = 'reflect-expired';

/** The row that marks the CRM lead of an expired referral (once per target and referral). */
export function reflectExpiredRow(
  target: string,
  referralId: string,
  crmRecordId: string,
): OutcomeToSend {
  return {
    referralId,
    target,
    action: REFLECT_EXPIRED,
    payload: { crmRecordId },
    dedupeKey: `${target}:${referralId}:${REFLECT_EXPIRED}`,
  };
}

/**
 * For the inbound side: rows for the referrals it saw Closed/Expired that have a CRM record on the
 * links' target (links as getLinks returns them for one target). Whether the lead is still open is
 * checked when the row is handled; enqueueing the same referral again does nothing.
 */
export function expiredReflections(
  items: ReadonlyArray<{ referral: Pick<Referral, 'id' | 'status' | 'substatus'> }>,
  links: ReadonlyMap<string, Link>,
): OutcomeToSend[] {
  return items.flatMap(({ referral }) => {
    const link = links.get(referral.id);
    if (
      !link?.crmRecordId ||
      !isTerminalStatus(referral.status) ||
      referral.substatus !== 'Expired'
    )
      return [];
    return [reflectExpiredRow(link.target, referral.id, link.crmRecordId)];
  });
}

/**
 * The handler: writes the mapping's expiredReflection into the CRM lead. The referral is Closed, so
 * the CRM change this makes reads as an outcome with no legal path: nothing flows back.
 */
export function reflectExpiredHandler(context: ActionContext): OutboxHandler {
  return settlingThrown(context, async (row, signal) => {
    const target = context.targets.get(row.target);
    if (!target) return quarantined(context, row, `target "${row.target}" is not configured`, []);
    const reflection = target.mapping.definition.status?.expiredReflection ?? null;
    if (!target.adapter.reflectExpired || reflection === null) {
      const reason =
        reflection === null
          ? 'the mapping has no status.expiredReflection'
          : `the ${target.adapter.kind} adapter cannot reflect expiries`;
      return skipReflection(context, row, reason, []);
    }
    const referral = await context.source.get(row.referralId, { signal });
    if (referral.status !== 'Closed' || referral.substatus !== 'Expired') {
      const shown = `${referral.status}/${String(referral.substatus)}`;
      return skipReflection(context, row, `the referral is ${shown}, not Closed/Expired`, []);
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
        if (attempt >= CONFLICT_REREAD_POLICY.maxAttempts)
          return failed(
            context,
            row,
            `the CRM lead of referral ${row.referralId} changed again while being marked expired`,
            audits,
          );
      }
    }
  });
}

function reflected(
  context: ActionContext,
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
  context: ActionContext,
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
