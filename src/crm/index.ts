// The bundled CRM adapters, by kind: each module registers its factory when first needed (loadCrmAdapter).
import { registerCrmAdapterModule } from './adapter.js';

registerCrmAdapterModule('dynamics365', () => import('./dynamics365/index.js'));
registerCrmAdapterModule('salesforce', () => import('./salesforce/index.js'));
registerCrmAdapterModule('hubspot', () => import('./hubspot/index.js'));

export { loadCrmAdapter } from './adapter.js';
