// The Salesforce adapter's entry point: registers the adapter kind on import and re-exports its API.
import { registerCrmAdapter } from '../adapter.js';
import { SalesforceAdapter } from './adapter.js';

registerCrmAdapter('salesforce', (options) => new SalesforceAdapter(options));

export { SalesforceAdapter, type SalesforceAdapterOptions } from './adapter.js';
export { jwtAssertion, tokenSourceFor, type JwtClaims, type TokenSource } from './auth.js';
export {
  changedRecordsSoql,
  latestOpportunitySoql,
  leadsByReferralSoql,
  mergeReferralStates,
  missingHalves,
  opportunitiesByIdSoql,
  type QueryPage,
  type QueryRunner,
  type SalesforceRow,
} from './changes.js';
export { callError, isInvalidSession, tokenError } from './errors.js';
export * from './facts.js';
export {
  parseSalesforceSettings,
  type SalesforceAuth,
  type SalesforceSettings,
} from './settings.js';
export { soqlDateTime, soqlFieldName, soqlId, soqlList, soqlSelect, soqlString } from './soql.js';
export {
  collectionCalls,
  collectionRecord,
  upsertItemResult,
  upsertWithItemRetries,
  type PendingRecord,
} from './upsert.js';
