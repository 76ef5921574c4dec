// The pure per-referral decision of the inbound sync: skip, quarantine, leave unchanged, or write.
import { isTerminalStatus } from '../core/lifecycle.js';
import { referralVersion } from '../core/referral.js';
import type { Link, SyncStateRow } from '../ledger/index.js';
import { stableHash } from '../mapping/index.js';
import { convertedReason } from './converted.js';
import type { ReferralWithKind, SyncTarget } from './types.js';

export type InboundDecision =
  /** This exact version was already handled: nothing to record. */
  | { kind: 'same-version' }
  | { kind: 'skip-kind' }
  | { kind: 'skip-closed' }
  /**
   * The CRM lead was converted / qualified: it takes no more changes, the opportunity is the CRM's
   * own.
   */
  | { kind: 'skip-converted'; reason: string }
  | { kind: 'quarantine'; reason: string; errors: Array<{ field: string; message: string }> }
  | { kind: 'unchanged'; hash: string }
  | { kind: 'write'; fields: Record<string, unknown>; hash: string };

export interface DecisionContext {
  /** Only what the decision reads, so a dry-run plan can decide without a CRM adapter. */
  target: Pick<SyncTarget, 'mapping' | 'leadKinds' | 'syncClosed'>;
  link: Link | undefined;
  state: SyncStateRow | undefined;
  referralLink: string;
  /** A due retry or an operator's resync: decide even if this version was seen before. */
  forced: boolean;
}

/** States in which an already-seen version needs no new work. */
const SETTLED_STATES = new Set(['applied', 'quarantined', 'failed']);

export function decideInbound(item: ReferralWithKind, context: DecisionContext): InboundDecision {
  const { target, link, state, forced } = context;
  const { referral } = item;
  const seen =
    link?.referralETag === referralVersion(referral) &&
    link?.mappingVersion === target.mapping.version;
  if (!forced && seen && (state === undefined || SETTLED_STATES.has(state.state)))
    return { kind: 'same-version' };
  if (!target.leadKinds.includes(item.leadKind)) return { kind: 'skip-kind' };
  if (!link?.crmRecordId && !target.syncClosed && isTerminalStatus(referral.status))
    return { kind: 'skip-closed' };
  if (link?.crmRecordId && typeof link.crmConvertedInto === 'string')
    return {
      kind: 'skip-converted',
      reason: convertedReason(link.crmRecordId, link.crmConvertedInto),
    };

  const result = target.mapping.map({
    referral,
    leadKind: item.leadKind,
    hot: item.hot,
    referralLink: context.referralLink,
  });
  if (!result.ok) {
    const reason = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return { kind: 'quarantine', reason: `mapping failed: ${reason}`, errors: result.errors };
  }
  const hash = stableHash(result.fields);
  if (link?.crmRecordId && link.payloadHash === hash && state?.state === 'applied')
    return { kind: 'unchanged', hash };
  return { kind: 'write', fields: result.fields, hash };
}
