// The Partner Center lead source: its client and the types callers need.
export { PartnerCenterClient, WriteAppliedError } from './client.js';
export type { ReferralPage } from './client-types.js';
export {
  acceptPatch,
  declinePatch,
  externalReferencePatch,
  lostPatch,
  wonPatch,
} from './actions.js';
export { parseReferral } from './parse.js';
export { parsePartnerCenterError } from './facts.js';
