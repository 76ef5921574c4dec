// Referrals whose CRM lead was converted (Salesforce) or qualified (Dynamics): changes are skipped
// with the reason.
//
// A converted lead is locked by the CRM and lives on as an opportunity that the CRM's users own;
// mapping a
// referral change onto it would fail for ever (CANNOT_UPDATE_CONVERTED_LEAD) and end in quarantine.
// The
// outbound side records the conversion on the link when it reads the lead; a write that meets a
// lock first
// (converted after our last read) records it from the CRM's refusal.
import type { UpsertItemResult } from '../crm/adapter.js';
import type { AuditEntry, Link, LinkUpdate, SyncStateRow } from '../ledger/index.js';

type Move = { referralId: string; to: 'pending' | 'applied'; runId: string };

/** Why a change is not written: the lead became an opportunity. */
export function convertedReason(leadId: string, convertedInto: string | null): string {
  const into = convertedInto ? `opportunity ${convertedInto}` : 'an opportunity';
  return (
    `the CRM lead ${leadId} was converted into ${into}; a converted lead takes no more ` + `changes`
  );
}

/**
 * Moves that leave a referral settled (applied) without a write: a quarantined one re-opens first.
 */
export function settledMoves(
  referralId: string,
  state: SyncStateRow | undefined,
  runId: string,
): Move[] {
  if (state === undefined || state.state === 'applied') return [];
  const settle: Move = { referralId, to: 'applied', runId };
  return state.state === 'quarantined' ? [{ referralId, to: 'pending', runId }, settle] : [settle];
}

export function convertedAudit(
  runId: string,
  referralId: string,
  target: string,
  crmRecordId: string | null | undefined,
  detail: { reason: string; error?: { code: string; message: string } },
): AuditEntry {
  return {
    runId,
    referralId,
    target,
    action: 'skipped-converted',
    crmRecordId: crmRecordId ?? null,
    detail,
  };
}

/**
 * What the ledger records when the CRM refused a write because the lead was converted meanwhile.
 */
export function convertedOnWrite(
  version: LinkUpdate,
  link: Link | undefined,
  result: Extract<UpsertItemResult, { ok: false }>,
  context: { runId: string; mappingVersion: string },
): { link: LinkUpdate; transition: Move; audit: AuditEntry } {
  const convertedInto = result.error.convertedInto ?? '';
  const leadId = link?.crmRecordId ?? 'of this referral';
  return {
    link: { ...version, mappingVersion: context.mappingVersion, crmConvertedInto: convertedInto },
    transition: { referralId: result.referralId, to: 'applied', runId: context.runId },
    audit: convertedAudit(context.runId, result.referralId, version.target, link?.crmRecordId, {
      reason: convertedReason(leadId, convertedInto),
      error: { code: result.error.code, message: result.error.message },
    }),
  };
}
