// The one step of the inbound path that derives a referral's lead kind and hot flag
// (core/referral.ts rules).
import { deriveLeadKind, isHotLead, type Referral } from '../core/referral.js';
import type { ReferralWithKind } from './types.js';

/** Every referral the engine reads (a stream page, a due retry, a plan) goes through here once. */
export function withLeadKind(referral: Referral): ReferralWithKind {
  return { referral, leadKind: deriveLeadKind(referral), hot: isHotLead(referral) };
}
