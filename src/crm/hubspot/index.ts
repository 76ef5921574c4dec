// The HubSpot adapter's entry point: registers the adapter kind on import and re-exports its API.
import { registerCrmAdapter } from '../adapter.js';
import { HubSpotAdapter } from './adapter.js';

registerCrmAdapter('hubspot', (options) => new HubSpotAdapter(options));

export { HubSpotAdapter } from './adapter.js';
