// HubSpot as a CRM module: settings, limits, bundled mapping, change stamps, factory.
import { fileURLToPath } from 'node:url';
import type { CrmModule } from '../module.js';
import { hubspotSettingsSchema, type HubSpotSettings } from './settings.js';

export const hubspotModule: CrmModule<HubSpotSettings> = {
  kind: 'hubspot',
  title: 'HubSpot',
  settingsSchema: hubspotSettingsSchema,
  // Inside 100 requests per 10 seconds (private apps on Free and Starter; more on higher tiers).
  // Source: developers.hubspot.com/docs/guides/apps/api-usage/usage-details.
  defaultLimits: { concurrency: 2, requestsPerMinute: 500 },
  mappingFile: fileURLToPath(new URL('./mapping.yaml', import.meta.url)),
  // hs_lastmodifieddate and lastmodifieddate hold milliseconds.
  changeStampPrecisionMs: 1,
  endpoint: (settings) => settings.baseUrl,
  async createAdapter(options) {
    const { HubSpotAdapter } = await import('./adapter.js');
    return new HubSpotAdapter(options);
  },
};
