// The Partner Center lead source: its client and the types callers need.
export {
  PartnerCenterClient,
  WriteAppliedError,
  type PartnerCenterClientOptions,
  type ReferralPage,
  type ReferralWithKind,
  type RequestOptions,
} from './client.js';
export {
  acceptPatch,
  freshRef,
  declinePatch,
  externalReferencePatch,
  lostPatch,
  wonPatch,
  type AcceptFields,
  type CloseFields,
  type ReferralRef,
  type WonFields,
} from './actions.js';
export { parseReferral, unknownEnumValues, type InvalidReferral } from './parse.js';
export {
  DEFAULT_OVERLAP_MS,
  PARTNER_CENTER_API,
  PARTNER_CENTER_BASE_URL,
  PARTNER_CENTER_SCOPE,
  REFERRALS_PAGE_SIZE,
  parsePartnerCenterError,
  type PatchOperation,
} from './facts.js';
