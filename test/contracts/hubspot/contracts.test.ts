// HubSpot contract fixtures (documented examples, each naming its source): the official client's
// serializer and the
// adapter read them, and the simulator's own answers validate against schemas written from the same
// documents.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ObjectSerializer } from '@hubspot/api-client/lib/codegen/crm/contacts/models/ObjectSerializer.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCalls } from '../../../src/crm/hubspot/client-calls.js';
import { callError, itemErrorOf } from '../../../src/crm/hubspot/errors.js';
import {
  createHubSpotSimulator,
  SIMULATOR_PRIVATE_APP_TOKEN,
  type HubSpotSimulator,
} from '../../../src/simulators/hubspot/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(path.join(here, name), 'utf8')) as any;
// ajv-formats is CommonJS: under NodeNext its plugin is the module's `default` property.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
ajv.addSchema(fixture('object.schema.json'), 'object.schema.json');
const errorSchema = ajv.compile(fixture('error.schema.json'));
const searchSchema = ajv.compile(fixture('search-response.schema.json'));
const batchSchema = ajv.compile(fixture('batch-response.schema.json'));

/**
 * A client whose API methods answer with a documented body, deserialized by the client's own
 * serializer.
 */
function documentedClient(method: 'upsert' | 'doSearch', body: unknown, type: string): never {
  const answer = async () => ObjectSerializer.deserialize(body, type, '');
  const api = { batchApi: { upsert: answer }, searchApi: { doSearch: answer } };
  return { crm: { contacts: api, deals: api } } as never;
}

const run = <T>(_what: string, request: () => Promise<T>) => request();

describe('HubSpot documented examples, read by the client', () => {
  it('every fixture names its source', () => {
    for (const name of ['error-envelope.json', 'search-response.json', 'batch-upsert.json'])
      expect(fixture(name).source).toMatch(/developers\.hubspot\.com/);
  });

  it(
    'the error envelope becomes an error naming the call, and an item error with the message ' +
      'verbatim',
    () => {
      const { status, body } = fixture('error-envelope.json');
      expect(errorSchema(body)).toBe(true);
      const thrown = { code: status, body, headers: {} };
      const error = callError(thrown, { target: 'hs', call: 'upsert of 1 contacts' });
      expect(error.message).toBe(
        'hubspot target "hs": upsert of 1 contacts failed: VALIDATION_ERROR: This will be a ' +
          'human readable message with details about the error.',
      );
      expect(itemErrorOf(thrown, 'contact__')).toEqual({
        code: 'VALIDATION_ERROR',
        message: 'This will be a human readable message with details about the error.',
        retryable: false,
        status: 400,
        fields: ['contact__name'],
      });
    },
  );

  it('a search page: records with text values and the opaque cursor', async () => {
    const { body } = fixture('search-response.json');
    expect(searchSchema(body)).toBe(true);
    const client = documentedClient(
      'doSearch',
      body,
      'CollectionResponseWithTotalSimplePublicObjectForwardPaging',
    );
    const page = await clientCalls(client, 'leadbridge_referral_id', run).search('contacts', {
      filterGroups: [],
      sorts: [],
      properties: [],
      limit: 200,
    });
    expect(page.after).toBe('NTI1Cg%3D%3D');
    expect(page.results).toEqual([
      {
        id: '512',
        properties: {
          property_checkbox: 'false',
          property_date: '1572480000000',
          property_dropdown: 'choice_b',
          property_multiple_checkboxes: 'chocolate;strawberry',
          property_number: '17',
          property_radio: 'option_1',
          property_string: 'value',
        },
      },
    ]);
  });

  it(
    'a batch upsert whose results echo no properties is matched to the inputs by ' + 'position',
    async () => {
      const { body, request } = fixture('batch-upsert.json');
      expect(batchSchema(body)).toBe(true);
      const client = documentedClient('upsert', body, 'BatchResponseSimplePublicUpsertObject');
      const input = request.body.inputs[0];
      const rows = await clientCalls(client, input.idProperty, run).upsert('contacts', [
        { id: input.id, properties: input.properties },
      ]);
      expect(rows).toEqual([{ id: '512', properties: {}, created: true }]);
    },
  );
});

describe('HubSpot simulator answers, checked against the documented schemas', () => {
  let sim: HubSpotSimulator;
  beforeAll(async () => {
    sim = createHubSpotSimulator({ port: 0 });
    await sim.start();
  });
  afterAll(async () => sim.stop());

  const call = async (path: string, body: unknown, token = SIMULATOR_PRIVATE_APP_TOKEN) => {
    const response = await fetch(`${sim.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const deal = (id: string, extra: Record<string, string> = {}) => ({
    idProperty: 'leadbridge_referral_id',
    id,
    properties: { dealname: id, dealstage: 'appointmentscheduled', pipeline: 'default', ...extra },
  });

  it('batch upsert and batch read', async () => {
    const upserted = await call('/crm/v3/objects/deals/batch/upsert', {
      inputs: [deal('a'), deal('b')],
    });
    expect(batchSchema(upserted.body), JSON.stringify(batchSchema.errors)).toBe(true);
    const read = await call('/crm/v3/objects/deals/batch/read', {
      idProperty: 'leadbridge_referral_id',
      inputs: [{ id: 'a' }, { id: 'missing' }],
      properties: ['dealstage'],
    });
    expect(read.status).toBe(207);
    expect(batchSchema(read.body), JSON.stringify(batchSchema.errors)).toBe(true);
  });

  it('search pages', async () => {
    const page = await call('/crm/v3/objects/deals/search', { limit: 1, properties: ['dealname'] });
    expect(searchSchema(page.body), JSON.stringify(searchSchema.errors)).toBe(true);
    expect((page.body as any).paging.next.after).toMatch(/%3D$/);
  });

  it('validation, conflict and authentication errors', async () => {
    const invalid = await call('/crm/v3/objects/deals/batch/upsert', {
      inputs: [deal('c', { amount: 'many' })],
    });
    const unauthenticated = await call('/crm/v3/objects/deals/search', {}, 'wrong');
    for (const { status, body } of [invalid, unauthenticated]) {
      expect([400, 401]).toContain(status);
      expect(errorSchema(body), JSON.stringify(errorSchema.errors)).toBe(true);
    }
  });
});
