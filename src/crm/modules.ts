// The one list of CRM kinds leadbridge knows: adding a CRM is its folder plus one line here.
import { dynamics365Module } from './dynamics365/module.js';
import { hubspotModule } from './hubspot/module.js';
import type { CrmModule } from './module.js';
import { salesforceModule } from './salesforce/module.js';

export const CRM_MODULES: readonly CrmModule[] = [
  dynamics365Module,
  salesforceModule,
  hubspotModule,
];
