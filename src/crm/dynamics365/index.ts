// The Dynamics 365 adapter's entry point: registers the adapter kind on import and re-exports its API.
import { registerCrmAdapter } from '../adapter.js';
import { DynamicsAdapter } from './adapter.js';

registerCrmAdapter('dynamics365', (options) => new DynamicsAdapter(options));

export {
  DynamicsAdapter,
  credentialFor,
  itemRetryDelay,
  type DynamicsAdapterOptions,
} from './adapter.js';
export {
  decodeBatchResponse,
  encodeBatchRequest,
  matchBatchResponses,
  type BatchOperation,
  type BatchResponsePart,
  type EncodedBatch,
} from './batch.js';
export * from './facts.js';
export {
  alternateKeyPath,
  dateTimeLiteral,
  entityIdFromUrl,
  parseDataverseError,
  stringLiteral,
} from './odata.js';
export {
  apiRootOf,
  dynamicsAuthSchema,
  dynamicsSettingsSchema,
  parseDynamicsSettings,
  type DynamicsAuth,
  type DynamicsSettings,
  type DynamicsSettingsInput,
} from './settings.js';
