// The HubSpot simulator over plain HTTP: the documented request and error shapes, limits and admin
// routes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';

let sim: HubSpotSimulator;

beforeEach(async () => {
  sim = createHubSpotSimulator({ port: 0, limits: { perTenSeconds: 50 } });
  await sim.start();
});

afterEach(async () => sim.stop());

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = SIMULATOR_PRIVATE_APP_TOKEN,
): Promise<Answer> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

const upsertDeals = (inputs: unknown[]) =>
  call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs });
const deal = (id: string, properties: Record<string, string> = {}) => ({
  idProperty: 'leadbridge_referral_id',
  id,
  properties: {
    dealname: `Deal ${id}`,
    pipeline: 'default',
    dealstage: 'appointmentscheduled',
    ...properties,
  },
});

describe('HubSpot simulator: auth', () => {
  it('refuses a missing or malformed token with INVALID_AUTHENTICATION', async () => {
    for (const token of [null, 'sim-token', 'pat-na1-not-a-uuid']) {
      const answer = await call('GET', '/crm/v3/properties/deals', undefined, token);
      expect(answer.status).toBe(401);
      expect(answer.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
      expect(answer.body.message).toMatch(/^Authentication credentials not found\./);
    }
  });
});

describe('HubSpot simulator: batch upsert by a unique property', () => {
  it('creates, then updates the record holding the same id value, flagging new', async () => {
    const first = await upsertDeals([deal('r-1')]);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('COMPLETE');
    expect(first.body.results[0]).toMatchObject({ new: true, archived: false });
    expect(first.body.results[0].properties).toMatchObject({ leadbridge_referral_id: 'r-1' });
    const second = await upsertDeals([deal('r-1', { amount: '10' })]);
    expect(second.body.results[0]).toMatchObject({ id: first.body.results[0].id, new: false });
    expect(second.body.results[0].properties.amount).toBe('10');
  });

  it(
    'refuses more than 100 inputs, duplicate ids and a property without unique values as ' +
      'idProperty',
    async () => {
      const many = Array.from({ length: 101 }, (_, i) => deal(`r-${i}`));
      expect((await upsertDeals(many)).body).toMatchObject({ category: 'VALIDATION_ERROR' });
      const twice = await upsertDeals([deal('r-1'), deal('r-1')]);
      expect(twice.body.message).toBe('Duplicate IDs found in batch input: [r-1]');
      const byName = await upsertDeals([{ ...deal('x'), idProperty: 'dealname' }]);
      expect(byName.status).toBe(400);
      expect((await call('GET', '/_sim/objects/deals', undefined, null)).body.results).toHaveLength(
        0,
      );
    },
  );

  it(
    'validates values against the property definitions and writes nothing of a refused ' + 'batch',
    async () => {
      const answer = await upsertDeals([
        deal('r-1'),
        deal('r-2', { amount: 'lots', closedate: 'soon', colour: 'red', hs_object_id: '5' }),
      ]);
      expect(answer.status).toBe(400);
      expect(answer.body.category).toBe('VALIDATION_ERROR');
      expect(answer.body.message).toMatch(/^Property values were not valid: \[/);
      expect(answer.body.errors.map((e: any) => [e.code, e.context.propertyName[0]])).toEqual([
        ['INVALID_NUMBER', 'amount'],
        ['INVALID_DATE', 'closedate'],
        ['PROPERTY_DOESNT_EXIST', 'colour'],
        ['READ_ONLY_VALUE', 'hs_object_id'],
      ]);
      expect((await call('GET', '/_sim/objects/deals', undefined, null)).body.results).toHaveLength(
        0,
      );
    },
  );

  it('refuses a deal stage outside the pipeline as INVALID_OPTION', async () => {
    const answer = await upsertDeals([deal('r-1', { dealstage: 'won' })]);
    expect(answer.body.errors[0]).toMatchObject({
      code: 'INVALID_OPTION',
      context: { propertyName: ['dealstage'] },
    });
  });

  it('answers 409 CONFLICT when another contact holds the email', async () => {
    const contact = (id: string) => ({
      idProperty: 'leadbridge_referral_id',
      id,
      properties: { email: 'ann@fabrikam.example' },
    });
    await call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [contact('a')] });
    const answer = await call('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [contact('b')],
    });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ category: 'CONFLICT' });
    expect(answer.body.message).toMatch(/^Contact already exists\. Existing ID: \d+$/);
  });
});

describe('HubSpot simulator: search', () => {
  it('filters, sorts by stamp then id, and pages with after', async () => {
    await upsertDeals([deal('a'), deal('b'), deal('c')]);
    const body = {
      filterGroups: [
        { filters: [{ propertyName: 'leadbridge_referral_id', operator: 'HAS_PROPERTY' }] },
      ],
      sorts: [
        { propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' },
        { propertyName: 'hs_object_id', direction: 'ASCENDING' },
      ],
      properties: ['leadbridge_referral_id'],
      limit: 2,
    };
    const first = await call('POST', '/crm/v3/objects/deals/search', body);
    expect(first.body.total).toBe(3);
    // The documented cursor form: base64 of the offset and a newline, URL-encoded ("NTI1Cg%3D%3D"
    // is 525).
    expect(first.body.paging).toEqual({ next: { after: 'Mgo%3D', link: '?after=Mgo%3D' } });
    expect(first.body.results.map((r: any) => r.properties.leadbridge_referral_id)).toEqual([
      'a',
      'b',
    ]);
    const second = await call('POST', '/crm/v3/objects/deals/search', { ...body, after: 'Mgo%3D' });
    expect(second.body.results.map((r: any) => r.properties.leadbridge_referral_id)).toEqual(['c']);
    expect(second.body.paging).toBeUndefined();
  });

  it(
    'refuses a page over 200, paging past 10,000 results, and too many filter ' + 'groups',
    async () => {
      const search = (body: unknown) => call('POST', '/crm/v3/objects/deals/search', body);
      expect((await search({ limit: 201 })).status).toBe(400);
      const past = await search({ limit: 200, after: encodeURIComponent(btoa('9900\n')) });
      expect(past.status).toBe(400);
      expect(past.body.message).toContain('10000');
      const groups = Array.from({ length: 6 }, () => ({
        filters: [{ propertyName: 'dealname', operator: 'HAS_PROPERTY' }],
      }));
      expect((await search({ filterGroups: groups })).status).toBe(400);
    },
  );

  it('limits searches to five a second with a SECONDLY 429 and no rate-limit headers', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 6; i++)
      answers.push(await call('POST', '/crm/v3/objects/deals/search', {}));
    expect(answers.slice(0, 5).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[5]?.status).toBe(429);
    expect(answers[5]?.body).toMatchObject({ errorType: 'RATE_LIMIT', policyName: 'SECONDLY' });
    expect(answers[0]?.headers.get('x-hubspot-ratelimit-remaining')).toBeNull();
  });
});

describe('HubSpot simulator: rate limits', () => {
  it('counts every call in the headers and refuses past the 10-second window', async () => {
    const first = await call('GET', '/crm/v3/properties/deals');
    expect(first.headers.get('x-hubspot-ratelimit-max')).toBe('50');
    expect(first.headers.get('x-hubspot-ratelimit-remaining')).toBe('49');
    expect(first.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect(first.headers.get('x-hubspot-ratelimit-daily')).toBe('250000');
    expect(first.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('249999');
    for (let i = 0; i < 49; i++) await call('GET', '/crm/v3/properties/deals');
    const refused = await call('GET', '/crm/v3/properties/deals');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(refused.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
  });

  it('refuses every call once the daily allocation is used, with the DAILY policy', async () => {
    await call('PUT', '/_sim/limits', { daily: 3, dailyUsed: 3 }, null);
    const refused = await call('GET', '/crm/v3/pipelines/deals');
    expect(refused.body).toMatchObject({
      policyName: 'DAILY',
      message: 'You have reached your daily limit.',
    });
    expect(refused.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('0');
  });
});

describe('HubSpot simulator: properties, pipelines, associations, admin', () => {
  it('lists the deal pipeline with its stages and the unique referral id property', async () => {
    const pipelines = await call('GET', '/crm/v3/pipelines/deals');
    expect(pipelines.body.results[0].stages.map((s: any) => s.id)).toContain('closedwon');
    const properties = await call('GET', '/crm/v3/properties/contacts');
    const referralId = properties.body.results.find(
      (p: any) => p.name === 'leadbridge_referral_id',
    );
    expect(referralId).toMatchObject({ type: 'string', hasUniqueValue: true });
  });

  it('associates records by default type and reads the associations back', async () => {
    const deals = await upsertDeals([deal('r-1')]);
    const contacts = await call('POST', '/crm/v3/objects/contacts/batch/upsert', {
      inputs: [
        { idProperty: 'leadbridge_referral_id', id: 'r-1', properties: { firstname: 'Ann' } },
      ],
    });
    const dealId = deals.body.results[0].id;
    const contactId = contacts.body.results[0].id;
    const made = await call('POST', '/crm/v4/associations/deals/contacts/batch/associate/default', {
      inputs: [{ from: { id: dealId }, to: { id: contactId } }],
    });
    expect(made.body.results[0]).toMatchObject({
      from: { id: dealId },
      to: { id: contactId },
      associationSpec: { associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 3 },
    });
    const read = await call('POST', '/crm/v4/associations/contacts/deals/batch/read', {
      inputs: [{ id: contactId }],
    });
    expect(read.body.results[0].to[0]).toMatchObject({ toObjectId: Number(dealId) });
    expect(sim.writeCalls).toBe(3);
  });

  it('moves a deal to a stage as a salesperson would, moving its stamp', async () => {
    const created = await upsertDeals([deal('r-1')]);
    const before = created.body.results[0].properties.hs_lastmodifieddate;
    const moved = await call(
      'POST',
      `/_sim/deals/${created.body.results[0].id}/stage`,
      {
        stage: 'closedlost',
        closedLostReason: 'Customer chose another vendor',
      },
      null,
    );
    expect(moved.body.properties).toMatchObject({
      dealstage: 'closedlost',
      closed_lost_reason: 'Customer chose another vendor',
    });
    expect(Date.parse(moved.body.properties.hs_lastmodifieddate)).toBeGreaterThan(
      Date.parse(before),
    );
    const bad = await call(
      'POST',
      `/_sim/deals/${created.body.results[0].id}/stage`,
      { stage: 'nope' },
      null,
    );
    expect(bad.status).toBe(400);
  });
});
