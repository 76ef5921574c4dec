// The HubSpot simulator's single-record routes and daily usage endpoint over plain HTTP, as
// HubSpot documents them (record-routes.ts), and the daily headers only private apps see.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';

let sim: HubSpotSimulator;

beforeEach(async () => {
  sim = createHubSpotSimulator({
    port: 0,
    limits: { daily: 5000 },
    oauthApps: [{ clientId: 'app-1', clientSecret: 'secret-1', refreshToken: 'refresh-1' }],
  });
  await sim.start();
});

afterEach(async () => sim.stop());

async function call(
  method: string,
  path: string,
  body?: unknown,
  token = SIMULATOR_PRIVATE_APP_TOKEN,
) {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

describe('HubSpot simulator: single records', () => {
  it('creates a deal in the default pipeline, and refuses one without name and stage', async () => {
    const created = await call('POST', '/crm/v3/objects/deals', {
      properties: { dealname: 'Pilot', dealstage: 'qualifiedtobuy', amount: '1200' },
    });
    expect(created.status).toBe(201);
    expect(created.body.properties).toMatchObject({
      dealname: 'Pilot',
      dealstage: 'qualifiedtobuy',
      pipeline: 'default',
      amount: '1200',
    });
    const refused = await call('POST', '/crm/v3/objects/deals', { properties: { amount: '5' } });
    expect(refused.status).toBe(400);
    expect(refused.body.category).toBe('VALIDATION_ERROR');
    expect(refused.body.errors.map((e: any) => e.context.propertyName[0])).toEqual([
      'dealname',
      'dealstage',
    ]);
  });

  it('updates by id, validates values, and answers 404 and 409 as HubSpot does', async () => {
    const make = async (referralId: string) =>
      (
        await call('POST', '/crm/v3/objects/deals', {
          properties: {
            dealname: 'D',
            dealstage: 'qualifiedtobuy',
            leadbridge_referral_id: referralId,
          },
        })
      ).body.id as string;
    const first = await make('ref-1');
    await make('ref-2');
    const updated = await call('PATCH', `/crm/v3/objects/deals/${first}`, {
      properties: { dealstage: 'closedlost', closed_lost_reason: 'Expired' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.properties).toMatchObject({
      dealstage: 'closedlost',
      closed_lost_reason: 'Expired',
    });
    const byReferral = await call(
      'PATCH',
      '/crm/v3/objects/deals/ref-1?idProperty=leadbridge_referral_id',
      { properties: { amount: '10' } },
    );
    expect(byReferral.body.id).toBe(first);
    expect((await call('PATCH', '/crm/v3/objects/deals/999999', { properties: {} })).status).toBe(
      404,
    );
    const taken = await call('PATCH', `/crm/v3/objects/deals/${first}`, {
      properties: { leadbridge_referral_id: 'ref-2' },
    });
    expect([taken.status, taken.body.category]).toEqual([409, 'CONFLICT']);
    const bad = await call('PATCH', `/crm/v3/objects/deals/${first}`, {
      properties: { dealstage: 'won' },
    });
    expect([bad.status, bad.body.category]).toEqual([400, 'VALIDATION_ERROR']);
  });
});

describe('HubSpot simulator: the daily allocation', () => {
  it('serves the private apps daily usage, counting the request itself', async () => {
    await call('GET', '/crm/v3/properties/deals');
    const usage = await call('GET', '/account-info/v3/api-usage/daily/private-apps');
    expect(usage.status).toBe(200);
    expect(usage.body.results).toHaveLength(1);
    expect(usage.body.results[0]).toMatchObject({
      name: 'private-apps-api-calls-daily',
      usageLimit: 5000,
      currentUsage: 2,
      fetchStatus: 'SUCCESS',
    });
    expect(usage.body.results[0].resetsAt).toMatch(/^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    expect(usage.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('4998');
  });

  it('sends the daily headers to private apps only, not to OAuth calls', async () => {
    const token = await fetch(`${sim.url}/oauth/v1/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'app-1',
        client_secret: 'secret-1',
        refresh_token: 'refresh-1',
      }),
    });
    const accessToken = ((await token.json()) as { access_token: string }).access_token;
    const oauth = await call('GET', '/crm/v3/properties/deals', undefined, accessToken);
    expect(oauth.status).toBe(200);
    expect(oauth.headers.get('x-hubspot-ratelimit-max')).toBe('100');
    expect(oauth.headers.get('x-hubspot-ratelimit-daily')).toBeNull();
    const privateApp = await call('GET', '/crm/v3/properties/deals');
    expect(privateApp.headers.get('x-hubspot-ratelimit-daily')).toBe('5000');
  });
});
