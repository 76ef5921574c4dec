// Salesforce contract fixtures (documented examples, each naming its source): the client reads
// them, and the simulator's own answers validate against the schemas written from the same
// documents.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callError } from '../../../src/crm/salesforce/errors.js';
import { upsertItemResult } from '../../../src/crm/salesforce/upsert.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../../src/simulators/salesforce/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(path.join(here, name), 'utf8')) as any;
const ajv = new Ajv({ allErrors: true, strict: false });
const resultsSchema = ajv.compile(fixture('collection-results.schema.json'));
const errorSchema = ajv.compile(fixture('error.schema.json'));
const limitsSchema = ajv.compile(fixture('limits.schema.json'));

describe('Salesforce documented examples, read by the client', () => {
  it('every fixture names its source', () => {
    for (const name of ['collection-upsert-mixed.json', 'error-shapes.json', 'limits.json'])
      expect(fixture(name).source).toMatch(/salesforce/i);
  });

  it(
    'a collection upsert with mixed results: updated, created, and a failed record with its ' +
      'error',
    () => {
      const { body } = fixture('collection-upsert-mixed.json');
      expect(resultsSchema(body)).toBe(true);
      expect(
        body.map((saved: unknown, i: number) => upsertItemResult(`ref-${i + 1}`, saved)),
      ).toEqual([
        { referralId: 'ref-1', ok: true, recordId: '00QRM000003oLrHYAU', created: false },
        { referralId: 'ref-2', ok: true, recordId: '00QRM000003oLrIYAU', created: true },
        {
          referralId: 'ref-3',
          ok: false,
          error: {
            code: 'DUPLICATE_VALUE',
            message:
              'duplicate value found: PartnerReferralId__c duplicates value on record with id: ' +
              '00QRM000003oLrB',
            retryable: false,
          },
        },
      ]);
    },
  );

  it(
    'the REST error shapes, as jsforce hands them over, become errors that name the call and ' +
      'the code',
    () => {
      const cases = fixture('error-shapes.json').cases as Array<{
        status: number;
        body: Array<{ errorCode: string; message: string }>;
      }>;
      const read = cases.map(({ body }) => {
        expect(errorSchema(body)).toBe(true);
        // jsforce's HttpApiError: the first entry's errorCode and message, the body as data.
        const thrown = Object.assign(new Error(body[0]!.message), {
          name: body[0]!.errorCode,
          errorCode: body[0]!.errorCode,
          data: body,
        });
        const error = callError(thrown, {
          target: 'sfdc',
          call: 'upsert of 1 Lead records by PartnerReferralId__c',
        });
        return [error.code, error.message.split(': ')[1]];
      });
      expect(read).toEqual([
        ['HTTP_ERROR', 'upsert of 1 Lead records by PartnerReferralId__c failed'],
        ['AUTH_FAILED', 'upsert of 1 Lead records by PartnerReferralId__c failed'],
        ['RATE_LIMITED', 'upsert of 1 Lead records by PartnerReferralId__c refused'],
        ['HTTP_ERROR', 'upsert of 1 Lead records by PartnerReferralId__c failed'],
      ]);
    },
  );

  it('the /limits entry', () => {
    const { body } = fixture('limits.json');
    expect(limitsSchema(body)).toBe(true);
    expect(body.DailyApiRequests.Max - body.DailyApiRequests.Remaining).toBe(2);
  });
});

describe('the Salesforce simulator answers as the documents say', () => {
  let sim: SalesforceSimulator;
  const headers = { Authorization: 'Bearer t', 'Content-Type': 'application/json' };
  beforeAll(async () => {
    sim = createSalesforceSimulator({ port: 0 });
    await sim.start();
  });
  afterAll(async () => sim.stop());

  it(
    'collection upsert results (mixed), single-record errors and /limits validate against the ' +
      'schemas',
    async () => {
      const records = [
        {
          attributes: { type: 'Lead' },
          PartnerReferralId__c: 'ok-1',
          LastName: 'Ng',
          Company: 'Contoso',
        },
        {
          attributes: { type: 'Lead' },
          PartnerReferralId__c: 'bad-1',
          LastName: 'Ruiz',
          Company: 'Fabrikam',
          Country: 'Narnia',
        },
      ];
      const upsert = await fetch(
        `${sim.url}/services/data/v60.0/composite/sobjects/Lead/PartnerReferralId__c`,
        {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ allOrNone: false, records }),
        },
      );
      const results = (await upsert.json()) as Array<{ success: boolean }>;
      expect(resultsSchema(results), JSON.stringify(resultsSchema.errors)).toBe(true);
      expect(results.map((r: { success: boolean }) => r.success)).toEqual([true, false]);

      const refused = await fetch(`${sim.url}/services/data/v60.0/sobjects/Lead`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ LastName: 'x', Company: 'y', CountryCode: 'XX' }),
      });
      const unknown = await fetch(
        `${sim.url}/services/data/v60.0/sobjects/Lead/00Q000000000000AAA`,
        {
          headers,
        },
      );
      const expired = await fetch(`${sim.url}/services/data/v60.0/limits`, {
        headers: { Authorization: '' },
      });
      for (const answer of [refused, unknown, expired]) {
        const body = await answer.json();
        expect(errorSchema(body), `${answer.status} ${JSON.stringify(body)}`).toBe(true);
      }
      const limits = await (
        await fetch(`${sim.url}/services/data/v60.0/limits`, { headers })
      ).json();
      expect(limitsSchema(limits), JSON.stringify(limitsSchema.errors)).toBe(true);
    },
  );
});
