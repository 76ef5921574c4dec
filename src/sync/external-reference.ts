// Writes a CRM record id into the referral's externalReferenceId (outbox handler), without echoing back as a change.
import { ConflictError } from '../core/errors.js';
import { isTerminalStatus } from '../core/lifecycle.js';
import { referralVersionForms, type Referral } from '../core/referral.js';
import type { LinkETagMove, OutboxRow, ReferralEcho } from '../ledger/index.js';
import { freshRef } from '../source/partner-center/actions.js';
import { WriteAppliedError } from '../source/partner-center/client.js';
import { externalReferenceEcho } from './echo.js';
import type { OutboxHandler, OutboxVerdict } from './outbox.js';
import type { ReferralSource } from './types.js';

/** Where a write's intent is recorded before the send (the ledger's echoes, see sync/echo.ts). */
interface WriteIntents {
  echoesOf(referralId: string): Promise<ReferralEcho[]>;
  recordEchoes(echoes: ReferralEcho[]): Promise<void>;
}

interface Payload {
  recordId: string;
  /** The version the inbound side synced (an eTag, or `updated:<time>` for a list item without one). */
  eTag: string;
}

/**
 * The handler for `set-external-reference` rows. The referral is always read by id first: list items carry no
 * eTag (get-a-list-of-referrals.md), and a write is only ever sent with the fresh If-Match eTag of that read.
 */
export function externalReferenceHandler(
  source: ReferralSource,
  intents?: WriteIntents,
): OutboxHandler {
  return async (row, signal) => {
    const { recordId, eTag: synced } = row.payload as unknown as Payload;
    const fresh = await source.get(row.referralId, { signal });
    const settled = settledWithout(fresh, recordId);
    if (settled) return settled;
    // The intent first: a worker killed after Partner Center applied the write still knows it as its own.
    if (intents)
      await intents.recordEchoes(
        externalReferenceEcho(fresh, recordId, await intents.echoesOf(fresh.id)),
      );
    try {
      const updated = await source.setExternalReference(freshRef(fresh), recordId, { signal });
      // Our own write rolled the version: links that recorded the version we wrote over move to the new one, so the
      // next poll recognises the referral as handled. A fresh read that already differs from the synced version
      // carries someone else's change, which the inbound side must still bring over: no move then.
      const unchanged = referralVersionForms(fresh).includes(synced);
      return {
        state: 'sent',
        effects: {
          ...(unchanged ? { eTagMoves: versionMoves(row.referralId, fresh, updated) } : {}),
          audits: [
            audit(row, recordId, {
              eTag: updated.eTag ?? null,
              ...(unchanged ? {} : { changedSinceSync: true }),
            }),
          ],
        },
      };
    } catch (error) {
      // Applied (2xx) but unreadable: sent; the links keep their version, so the next poll re-reads the referral.
      if (error instanceof WriteAppliedError)
        return {
          state: 'sent',
          effects: { audits: [audit(row, recordId, { unreadable: error.message })] },
        };
      if (!(error instanceof ConflictError)) throw error;
      return retryAfterConflict(source, row, recordId, signal);
    }
  };
}

/** Link moves from each recorded form of `before` (eTag, updatedDateTime) to the same form of `after`. */
export function versionMoves(
  referralId: string,
  before: Referral,
  after: Referral,
): LinkETagMove[] {
  const from = referralVersionForms(before);
  const to = referralVersionForms(after);
  const moves: LinkETagMove[] = [];
  if (before.eTag && after.eTag)
    moves.push({
      referralId,
      fromETag: from[0]!,
      toETag: to[0]!,
      updatedAt: after.updatedDateTime,
    });
  moves.push({
    referralId,
    fromETag: from[from.length - 1]!,
    toETag: to[to.length - 1]!,
    updatedAt: after.updatedDateTime,
  });
  return moves;
}

/** Nothing to write: the id is already there, or the referral is archived. */
function settledWithout(fresh: Referral, recordId: string): OutboxVerdict | null {
  if (fresh.externalReferenceId === recordId) return { state: 'sent' };
  if (isTerminalStatus(fresh.status))
    return {
      state: 'superseded',
      error: `the referral is ${fresh.status}/${fresh.substatus ?? ''}: archived referrals are read-only`,
    };
  return null;
}

/** On 412: re-read, re-decide, and try once more with the fresh eTag. */
async function retryAfterConflict(
  source: ReferralSource,
  row: OutboxRow,
  recordId: string,
  signal?: AbortSignal,
): Promise<OutboxVerdict> {
  const fresh = await source.get(row.referralId, { signal });
  const settled = settledWithout(fresh, recordId);
  if (settled) return settled;
  // The fresh version carries someone else's change too: the links keep their version so that change is synced.
  await source.setExternalReference(freshRef(fresh), recordId, { signal });
  return {
    state: 'sent',
    effects: { audits: [audit(row, recordId, { afterConflict: true })] },
  };
}

function audit(row: OutboxRow, recordId: string, detail: Record<string, unknown>) {
  return {
    runId: row.runId ?? 'outbox',
    referralId: row.referralId,
    target: row.target,
    action: 'external-reference-written',
    crmRecordId: recordId,
    detail,
  };
}
