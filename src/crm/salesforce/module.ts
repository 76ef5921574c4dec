// Salesforce as a CRM module: settings, limits, bundled mapping, change stamps, factory.
import { fileURLToPath } from 'node:url';
import type { CrmModule } from '../module.js';
import {
  salesforceSettingsSchema,
  withResolvedKeyFile,
  type SalesforceSettings,
} from './settings.js';

export const salesforceModule: CrmModule<SalesforceSettings> = {
  kind: 'salesforce',
  title: 'Salesforce',
  settingsSchema: salesforceSettingsSchema,
  // Salesforce counts calls per day per org (REQUEST_LIMIT_EXCEEDED), not per minute.
  defaultLimits: { concurrency: 8, requestsPerMinute: 0 },
  mappingFile: fileURLToPath(new URL('./mapping.yaml', import.meta.url)),
  // The change window re-reads a whole second behind the cursor, as it always has for
  // SystemModstamp.
  changeStampPrecisionMs: 1_000,
  endpoint: (settings) => settings.instanceUrl,
  // Lightning's Record Page type, URL format /lightning/r/<objectApiName>/<recordId>/view
  // (developer.salesforce.com/docs/atlas.en-us.lightning.meta/lightning/
  // components_navigation_page_definitions.htm).
  recordLink: (settings, recordId, entity) =>
    `${settings.instanceUrl.replace(/\/$/, '')}/lightning/r/` +
    `${encodeURIComponent(entity ?? 'Lead')}/${encodeURIComponent(recordId)}/view`,
  resolveSettingsPaths: (settings, resolve) =>
    withResolvedKeyFile(settings as SalesforceSettings, resolve),
  async createAdapter(options) {
    const { SalesforceAdapter } = await import('./adapter.js');
    return new SalesforceAdapter(options);
  },
};
