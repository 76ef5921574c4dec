// Loads every bundled CRM adapter so that each registers its kind; callers then use createCrmAdapter(kind, ...).
import './dynamics365/index.js';
import './salesforce/index.js';

export { createCrmAdapter, registeredCrmKinds, type CrmAdapter } from './adapter.js';
