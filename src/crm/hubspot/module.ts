// HubSpot as a CRM module: settings, limits, bundled mapping, change stamps, factory.
import { fileURLToPath } from 'node:url';
import type { CrmModule } from '../module.js';
import { hubspotSettingsSchema, type HubSpotSettings } from './settings.js';

export const hubspotModule: CrmModule<HubSpotSettings> = {
  kind: 'hubspot',
  title: 'HubSpot',
  settingsSchema: hubspotSettingsSchema,
  // No per-minute cap of its own: the adapter paces every request to the portal's rolling
  // 10-second limit (settings.requestsPer10Seconds, 100 by default for private apps; source:
  // developers.hubspot.com/docs/guides/apps/api-usage/usage-details). A per-minute cap would let
  // a minute's allowance go in the first seconds, which is what the portal refuses.
  defaultLimits: { concurrency: 2, requestsPerMinute: 0 },
  mappingFile: fileURLToPath(new URL('./mapping.yaml', import.meta.url)),
  // A referral as one deal (`mapping: bundled:deal-only`): a third of the write calls.
  bundledMappings: {
    'deal-only': fileURLToPath(new URL('./mapping-deal-only.yaml', import.meta.url)),
  },
  // hs_lastmodifieddate and lastmodifieddate hold milliseconds.
  changeStampPrecisionMs: 1,
  endpoint: (settings) => settings.baseUrl,
  async createAdapter(options) {
    const { HubSpotAdapter } = await import('./adapter.js');
    return new HubSpotAdapter(options);
  },
};
