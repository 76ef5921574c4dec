// Each CRM module's link to a record in the CRM's own web UI (what the console links to).
import { describe, expect, it } from 'vitest';
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';

describe('CRM record links', () => {
  it('Dynamics 365: the model-driven record form, main.aspx with etn and id', () => {
    const settings = dynamics365Module.settingsSchema.parse({
      url: 'https://contoso.crm4.dynamics.com/',
      auth: { kind: 'static', token: 't' },
    });
    expect(
      dynamics365Module.recordLink?.(settings, '91330924-802a-4b0d-a900-34fd9d790829', 'lead'),
    ).toBe(
      'https://contoso.crm4.dynamics.com/main.aspx?pagetype=entityrecord&etn=lead' +
        '&id=91330924-802a-4b0d-a900-34fd9d790829',
    );
  });

  it('Salesforce: the Lightning record page, /lightning/r/<object>/<id>/view', () => {
    const settings = salesforceModule.settingsSchema.parse({
      instanceUrl: 'https://contoso.my.salesforce.com',
      auth: { kind: 'accessToken', token: 't' },
    });
    expect(salesforceModule.recordLink?.(settings, '00Q5e00000AbCdEAAV')).toBe(
      'https://contoso.my.salesforce.com/lightning/r/Lead/00Q5e00000AbCdEAAV/view',
    );
  });
});
