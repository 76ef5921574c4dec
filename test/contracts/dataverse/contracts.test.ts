// Dataverse contract fixtures (documented examples, each naming its source): the client parses
// them, and the simulator's own answers validate against the schemas written from the same
// documents.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../../src/core/retry.js';
import { decodeBatchResponse, matchBatchResponses } from '../../../src/crm/dynamics365/batch.js';
import { alternateKeyPath, parseDataverseError } from '../../../src/crm/dynamics365/odata.js';
import { upsertOutcome } from '../../../src/crm/dynamics365/upsert.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../../src/simulators/dynamics365/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => JSON.parse(readFileSync(path.join(here, name), 'utf8')) as any;
const ajv = new Ajv({ allErrors: true, strict: false });
const errorSchema = ajv.compile(fixture('error.schema.json'));
const pageSchema = ajv.compile(fixture('collection-page.schema.json'));
const record = (referralId: string) => ({ referralId, fields: {} });
const operations = [{ contentId: '1' }, { contentId: '2' }, { contentId: '3' }];

describe('Dataverse documented examples, read by the client', () => {
  it('every fixture names its source', () => {
    for (const name of [
      'batch-continue-on-error.json',
      'batch-failed.json',
      'error-envelope.json',
      'upsert-by-alternate-key.json',
    ]) {
      expect(fixture(name).source).toMatch(/powerapps-docs/);
    }
  });

  it(
    'a $batch with continue-on-error: the failed item carries its error, the others their ' +
      'record ids',
    () => {
      const { headers, body } = fixture('batch-continue-on-error.json');
      const parts = decodeBatchResponse(headers['Content-Type'], body);
      expect(parts.map((part) => part.status)).toEqual([400, 204, 204]);
      // The documented parts have no Content-ID: they are matched by position.
      const outcomes = matchBatchResponses(operations, parts).map(
        (part, i) => upsertOutcome(record(`r${i}`), part, DEFAULT_RETRY_POLICY).result,
      );
      expect(outcomes).toEqual([
        {
          referralId: 'r0',
          ok: false,
          error: {
            code: '0x80044331',
            message:
              "A validation error occurred.  The length of the 'subject' attribute of the 'task' " +
              "entity exceeded the maximum allowed length of '200'.",
            retryable: false,
            status: 400,
            // The column the documented message names.
            fields: ['subject'],
          },
        },
        {
          referralId: 'r1',
          ok: true,
          recordId: 'aed2ae8b-3c94-ed11-aad1-000d3a9933c9',
          created: false,
        },
        {
          referralId: 'r2',
          ok: true,
          recordId: 'b181a991-3c94-ed11-aad1-000d3a9933c9',
          created: false,
        },
      ]);
    },
  );

  it(
    'a $batch that stopped at a failure: the failed item has the error, the items never run ' +
      'are retryable',
    () => {
      const { headers, body, status } = fixture('batch-failed.json');
      expect(status).toBe(400);
      const outcomes = matchBatchResponses(
        operations,
        decodeBatchResponse(headers['Content-Type'], body),
      ).map((part, i) => upsertOutcome(record(`r${i}`), part, DEFAULT_RETRY_POLICY).result);
      expect(outcomes.map((o) => (o.ok ? 'ok' : [o.error.code, o.error.retryable]))).toEqual([
        ['0x80044331', false],
        ['BATCH_ITEM_MISSING', true],
        ['BATCH_ITEM_MISSING', true],
      ]);
    },
  );

  it('the error envelope', () => {
    const { body } = fixture('error-envelope.json');
    expect(errorSchema(body)).toBe(true);
    expect(parseDataverseError(body)).toEqual({
      code: '0x80044331',
      message:
        "A validation error occurred.  The length of the 'subject' attribute of the 'task' " +
        "entity exceeded the maximum allowed length of '200'.",
    });
  });

  it('an upsert by alternate key: the URL form, and the record id from OData-EntityId', () => {
    const upsert = fixture('upsert-by-alternate-key.json');
    expect(
      `[Organization URI]/api/data/v9.2/${alternateKeyPath('leads', 'lb_referralid', 'ref-0001')}`,
    ).toBe(upsert.request.url);
    const part = {
      partIndex: 0,
      status: upsert.status,
      headers: { 'odata-entityid': upsert.headers['OData-EntityId'] },
      body: upsert.body,
    };
    expect(upsertOutcome(record('ref-0001'), part, DEFAULT_RETRY_POLICY).result).toEqual({
      referralId: 'ref-0001',
      ok: true,
      recordId: '425195a4-7a75-e911-a97a-000d3a34a1bd',
      created: false,
    });
  });
});

describe('the Dataverse simulator answers as the documents say', () => {
  let sim: DynamicsSimulator;
  const headers = {
    Authorization: 'Bearer t',
    'OData-Version': '4.0',
    'OData-MaxVersion': '4.0',
    Accept: 'application/json',
  };
  beforeAll(async () => {
    sim = createDynamicsSimulator({ port: 0 });
    await sim.start();
  });
  afterAll(async () => sim.stop());

  it('error bodies validate against the error schema', async () => {
    const missing = await fetch(`${sim.apiUrl}leads(lb_referralid='nope')`, { headers });
    const badQuery = await fetch(`${sim.apiUrl}leads?$skip=2`, { headers });
    for (const answer of [missing, badQuery]) {
      const body = await answer.json();
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(errorSchema(body), JSON.stringify(errorSchema.errors)).toBe(true);
    }
  });

  it('collection pages validate against the page schema', async () => {
    for (const id of ['c-1', 'c-2', 'c-3']) {
      const put = await fetch(`${sim.apiUrl}leads(lb_referralid='${id}')`, {
        method: 'PATCH',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ subject: id, lastname: 'x', companyname: 'y' }),
      });
      expect(put.status).toBe(204);
    }
    let url: string | undefined =
      `${sim.apiUrl}leads?$select=lb_referralid&$orderby=modifiedon asc,leadid asc`;
    let pages = 0;
    while (url) {
      const page: any = await (
        await fetch(url, { headers: { ...headers, Prefer: 'odata.maxpagesize=2' } })
      ).json();
      expect(pageSchema(page), JSON.stringify(pageSchema.errors)).toBe(true);
      url = page['@odata.nextLink'];
      pages++;
    }
    expect(pages).toBe(2);
  });
});
