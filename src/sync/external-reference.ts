// Writes a CRM record id into the referral's externalReferenceId (outbox handler), without echoing back as a change.
import { ConflictError } from '../core/errors.js';
import { isTerminalStatus } from '../core/lifecycle.js';
import type { OutboxRow } from '../ledger/index.js';
import type { OutboxHandler, OutboxVerdict } from './outbox.js';
import type { ReferralSource } from './types.js';

interface Payload {
  recordId: string;
  eTag: string;
}

/** The handler for `set-external-reference` rows. */
export function externalReferenceHandler(source: ReferralSource): OutboxHandler {
  return async (row, signal) => {
    const { recordId, eTag } = row.payload as unknown as Payload;
    try {
      const updated = await source.setExternalReference({ id: row.referralId, eTag }, recordId, { signal });
      // Our own write rolled the eTag: links that recorded the version we wrote over move to the new one,
      // so the next poll recognises the referral as handled instead of seeing a change.
      return {
        state: 'sent',
        effects: {
          eTagMoves: [{ referralId: row.referralId, fromETag: eTag, toETag: updated.eTag, updatedAt: updated.updatedDateTime }],
          audits: [audit(row, recordId, { eTag: updated.eTag })],
        },
      };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      return retryAfterConflict(source, row, recordId, signal);
    }
  };
}

/** On 412: re-read, re-decide, and try once more with the fresh eTag. */
async function retryAfterConflict(source: ReferralSource, row: OutboxRow, recordId: string, signal?: AbortSignal): Promise<OutboxVerdict> {
  const fresh = await source.get(row.referralId, { signal });
  if (fresh.externalReferenceId === recordId) return { state: 'sent' };
  if (isTerminalStatus(fresh.status)) return { state: 'superseded', error: `the referral is ${fresh.status}/${fresh.substatus ?? ''}: archived referrals are read-only` };
  // The fresh version carries someone else's change too: the links keep their eTag so that change is synced.
  await source.setExternalReference({ id: fresh.id, eTag: fresh.eTag }, recordId, { signal });
  return {
    state: 'sent',
    effects: { audits: [audit(row, recordId, { afterConflict: true })] },
  };
}

function audit(row: OutboxRow, recordId: string, detail: Record<string, unknown>) {
  return { runId: row.runId ?? 'outbox', referralId: row.referralId, target: row.target, action: 'external-reference-written', crmRecordId: recordId, detail };
}
