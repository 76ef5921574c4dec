// Dynamics 365 as a CRM module: settings, limits, bundled mapping, change stamps, factory.
import { fileURLToPath } from 'node:url';
import type { CrmModule } from '../module.js';
import { dynamicsSettingsSchema, orgUrlOf, type DynamicsSettings } from './settings.js';

export const dynamics365Module: CrmModule<DynamicsSettings> = {
  kind: 'dynamics365',
  title: 'Dynamics 365',
  settingsSchema: dynamicsSettingsSchema,
  // Inside service protection's 52 concurrent requests and 6000 requests per 5 minutes per user.
  defaultLimits: { concurrency: 16, requestsPerMinute: 1_100 },
  mappingFile: fileURLToPath(new URL('./mapping.yaml', import.meta.url)),
  // modifiedon holds whole seconds.
  changeStampPrecisionMs: 1_000,
  endpoint: (settings) => orgUrlOf(settings),
  // A model-driven app's record form: main.aspx?pagetype=entityrecord&etn=<table>&id=<guid>
  // learn.microsoft.com/power-apps/developer/model-driven-apps/open-forms-views-dialogs-reports-url
  recordLink: (settings, recordId, entity) =>
    `${orgUrlOf(settings).replace(/\/$/, '')}/main.aspx?pagetype=entityrecord` +
    `&etn=${encodeURIComponent(entity ?? 'lead')}&id=${encodeURIComponent(recordId)}`,
  async createAdapter(options) {
    const { DynamicsAdapter } = await import('./adapter.js');
    return new DynamicsAdapter(options);
  },
};
