// The `set-external-reference` action: the CRM record id written into the referral's
// externalReferenceId.
import { isTerminalStatus } from '../../core/lifecycle.js';
import { referralVersion, referralVersionForms, type Referral } from '../../core/referral.js';
import { CONFLICT_REREAD_POLICY } from '../../core/retry.js';
import type { AuditEntry, OutboxRow, OutcomeToSend } from '../../ledger/index.js';
import { freshRef } from '../../source/partner-center/actions.js';
import { WriteAppliedError } from '../../source/partner-center/client.js';
import { externalReferenceEcho } from '../echo.js';
import type { OutboxHandler, OutboxVerdict } from '../outbox.js';
import { audit, isWriteConflict, versionMoves, type ActionContext } from './context.js';

export const SET_EXTERNAL_REFERENCE = 'set-external-reference';

interface Payload {
  recordId: string;
  /**
   * The version the inbound side synced (an eTag, or `updated:<time>` for a list item without one).
   */
  eTag: string;
  /**
   * The externalReferenceId the synced version held (absent in rows recorded before it was kept).
   */
  listedValue?: string | null;
}

/** The synced list item as far as a write-back without a fresh read needs it. */
function asListedReferral(id: string, listedValue: string | null): Referral {
  return { id, externalReferenceId: listedValue } as Referral;
}

/**
 * The row that puts `recordId` into the referral as the inbound side synced it (once per referral
 * and record).
 */
export function setExternalReferenceRow(
  target: string,
  referral: Referral,
  recordId: string,
): OutcomeToSend {
  return {
    referralId: referral.id,
    target,
    action: SET_EXTERNAL_REFERENCE,
    payload: {
      recordId,
      eTag: referralVersion(referral),
      listedValue: referral.externalReferenceId ?? null,
    } satisfies Payload,
    dedupeKey: `${SET_EXTERNAL_REFERENCE}:${referral.id}:${recordId}`,
  };
}

/**
 * The handler. A write only ever carries an eTag Partner Center gave for the version it replaces
 * (If-Match). The documented list items carry none
 * (MicrosoftDocs/partner-rest partner-rest/develop/get-a-list-of-referrals.md): the referral is
 * then
 * read by id first and written with that fresh eTag. A list item that did carry one is written with
 * it at once. A 412 (or 409: archived meanwhile) reads by id and re-decides
 * (CONFLICT_REREAD_POLICY).
 */
export function setExternalReferenceHandler(context: ActionContext): OutboxHandler {
  return async (row, signal) => {
    const { recordId, eTag: synced, listedValue } = row.payload as unknown as Payload;
    const listed = listedValue ?? null;
    const audits: AuditEntry[] = [];
    for (let attempt = 1; ; attempt++) {
      const asListed = attempt === 1 && !synced.startsWith('updated:') && listedValue !== undefined;
      const fresh = asListed ? null : await context.source.get(row.referralId, { signal });
      const settled = fresh && settledWithout(context, row, fresh, recordId, audits);
      if (settled) return settled;
      const ref = fresh ? freshRef(fresh) : { id: row.referralId, eTag: synced };
      // The intent first: a worker killed after Partner Center applied the write still knows it
      // as its own (sync/echo.ts).
      const before = fresh ?? asListedReferral(row.referralId, listed);
      await context.ledger.recordEchoes(
        externalReferenceEcho(before, recordId, await context.ledger.echoesOf(row.referralId)),
      );
      try {
        const updated = await context.source.setExternalReference(ref, recordId, { signal });
        if (!fresh) return writtenAsListed(context, row, recordId, { synced, updated }, audits);
        return written(context, row, recordId, { fresh, updated, synced }, audits);
      } catch (error) {
        // Applied (2xx) but unreadable: sent; the links keep their version, so the next poll
        // re-reads it.
        if (error instanceof WriteAppliedError) {
          audits.push(writtenAudit(context, row, recordId, { unreadable: error.message }));
          return { state: 'sent', effects: { audits } };
        }
        if (!isWriteConflict(error) || attempt >= CONFLICT_REREAD_POLICY.maxAttempts) throw error;
        audits.push(
          audit(context, row, 'conflict', recordId, {
            action: row.action,
            eTagSent: ref.eTag,
            attempt,
            message: error.message,
          }),
        );
      }
    }
  };
}

/**
 * Our own write rolled the version: links that recorded the version we wrote over move to the new
 * one, so the next poll recognises the referral as handled. A fresh read that already differs from
 * the synced version carries someone else's change, which the inbound side must still bring over:
 * no move then.
 */
function written(
  context: ActionContext,
  row: OutboxRow,
  recordId: string,
  versions: { fresh: Referral; updated: Referral; synced: string },
  audits: AuditEntry[],
): OutboxVerdict {
  const { fresh, updated, synced } = versions;
  const unchanged = referralVersionForms(fresh).includes(synced);
  const afterConflict = audits.some((entry) => entry.action === 'conflict');
  audits.push(
    writtenAudit(context, row, recordId, {
      eTag: updated.eTag ?? null,
      ...(unchanged ? {} : { changedSinceSync: true }),
      ...(afterConflict ? { afterConflict } : {}),
    }),
  );
  return {
    state: 'sent',
    effects: {
      ...(unchanged ? { eTagMoves: versionMoves(row.referralId, fresh, updated) } : {}),
      audits,
    },
  };
}

/** Written against the listed version: the links that recorded it move to the new eTag. */
function writtenAsListed(
  context: ActionContext,
  row: OutboxRow,
  recordId: string,
  versions: { synced: string; updated: Referral },
  audits: AuditEntry[],
): OutboxVerdict {
  const { synced, updated } = versions;
  audits.push(writtenAudit(context, row, recordId, { eTag: updated.eTag ?? null, asListed: true }));
  const move = updated.eTag
    ? [
        {
          referralId: row.referralId,
          fromETag: synced,
          toETag: updated.eTag,
          updatedAt: updated.updatedDateTime,
        },
      ]
    : [];
  return { state: 'sent', effects: { eTagMoves: move, audits } };
}

/**
 * Nothing to write: the id is already there (sent, audited), or the referral is archived
 * (superseded).
 */
function settledWithout(
  context: ActionContext,
  row: OutboxRow,
  fresh: Referral,
  recordId: string,
  audits: AuditEntry[],
): OutboxVerdict | null {
  const afterConflict = audits.some((entry) => entry.action === 'conflict');
  if (fresh.externalReferenceId === recordId) {
    const detail = { alreadySet: true, ...(afterConflict ? { afterConflict } : {}) };
    audits.push(writtenAudit(context, row, recordId, detail));
    return { state: 'sent', effects: { audits } };
  }
  if (!isTerminalStatus(fresh.status)) return null;
  const shown = `${fresh.status}/${fresh.substatus ?? ''}`;
  const reason = `the referral is ${shown}: archived referrals are read-only`;
  audits.push(audit(context, row, 'external-reference-superseded', recordId, { reason }));
  return { state: 'superseded', error: reason, effects: { audits } };
}

function writtenAudit(
  context: ActionContext,
  row: OutboxRow,
  recordId: string,
  detail: Record<string, unknown>,
): AuditEntry {
  return audit(context, row, 'external-reference-written', recordId, detail);
}
