// Writes a CRM record id into the referral's externalReferenceId (outbox handler), without echoing back as a change.
import { ConflictError } from '../core/errors.js';
import { isTerminalStatus } from '../core/lifecycle.js';
import { appendAudit, upsertLinks, type Ledger, type OutboxRow } from '../ledger/index.js';
import type { OutboxHandler, OutboxVerdict } from './outbox.js';
import type { ReferralSource } from './types.js';
import type { Referral } from '../core/referral.js';

interface Payload {
  recordId: string;
  eTag: string;
}

export function externalReferenceHandler(ledger: Ledger, source: ReferralSource): OutboxHandler {
  return async (row, signal) => {
    const { recordId, eTag } = row.payload as unknown as Payload;
    try {
      const updated = await source.setExternalReference({ id: row.referralId, eTag }, recordId, { signal });
      await recordWritten(ledger, row, updated, recordId);
      return { state: 'sent' };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return retryAfterConflict(ledger, source, row, recordId, signal);
    }
  };
}

/** On 412: re-read, re-decide, and try once more with the fresh eTag. */
async function retryAfterConflict(
  ledger: Ledger,
  source: ReferralSource,
  row: OutboxRow,
  recordId: string,
  signal?: AbortSignal,
): Promise<OutboxVerdict> {
  const fresh = await source.get(row.referralId, { signal });
  if (fresh.externalReferenceId === recordId) return { state: 'sent' };
  if (isTerminalStatus(fresh.status)) return { state: 'superseded' };
  // The fresh version carries someone else's change too: leave the link's eTag alone so that change is synced.
  await source.setExternalReference({ id: fresh.id, eTag: fresh.eTag }, recordId, { signal });
  await appendAudit(ledger.db, [
    { runId: row.runId ?? 'outbox', referralId: row.referralId, target: row.target, action: 'external-reference-written', crmRecordId: recordId, detail: { afterConflict: true } },
  ]);
  return { state: 'sent' };
}

/** Our own write rolled the eTag: remember the new one so the next poll does not see it as a change. */
async function recordWritten(ledger: Ledger, row: OutboxRow, updated: Referral, recordId: string): Promise<void> {
  await ledger.transaction(async (trx) => {
    await upsertLinks(trx, [
      { referralId: row.referralId, target: row.target, referralETag: updated.eTag, referralUpdatedAt: updated.updatedDateTime },
    ]);
    await appendAudit(trx, [
      { runId: row.runId ?? 'outbox', referralId: row.referralId, target: row.target, action: 'external-reference-written', crmRecordId: recordId, detail: { eTag: updated.eTag } },
    ]);
  });
}
