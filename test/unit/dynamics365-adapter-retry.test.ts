// Unit tests (HTTP faked with nock) of the adapter's $batch rounds: only retryable items are sent
// again, at most twice more.
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/core/retry.js';
import type { MappedRecord } from '../../src/crm/adapter.js';
import { DynamicsAdapter } from '../../src/crm/dynamics365/adapter.js';

const ORG = 'https://contoso.crm.dynamics.com';
const API = `${ORG}/api/data/v9.2/`;
const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 1, maxDelayMs: 2 };

function adapter(batchSize = 2): DynamicsAdapter {
  return new DynamicsAdapter({
    target: 'crm',
    retryPolicy: policy,
    settings: {
      url: ORG,
      auth: { kind: 'static', token: 'unit-token' },
      batchSize,
      concurrency: 1,
    },
  });
}

const guidFor = (referralId: string) =>
  `00000000-0000-0000-0000-${referralId.replace(/\D/g, '').padStart(12, '0')}`;

/** Answers each PATCH in a $batch body with the status the script gives for its referral id. */
function batchReply(body: string, statusOf: (referralId: string) => number): string {
  const referralIds = [
    ...body.matchAll(/^PATCH \S+leads\(lb_referralid='([^']+)'\)\?\$select=leadid HTTP\/1\.1$/gm),
  ].map((m) => m[1] as string);
  const parts = referralIds.map((referralId, i) => {
    const status = statusOf(referralId);
    const failure =
      status >= 400
        ? `{"error":{"code":"0x8004${status}","message":"failure ${status} for ${referralId}"}}`
        : '';
    return [
      '--batchresponse_1',
      'Content-Type: multipart/mixed; boundary=changesetresponse_' + i,
      '',
      '--changesetresponse_' + i,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      `Content-ID: ${i + 1}`,
      '',
      `HTTP/1.1 ${status} X`,
      ...(status < 400
        ? [`OData-EntityId: ${API}leads(${guidFor(referralId)})`]
        : ['Retry-After: 0', 'Content-Type: application/json']),
      '',
      failure,
      `--changesetresponse_${i}--`,
    ].join('\r\n');
  });
  return `${parts.join('\r\n')}\r\n--batchresponse_1--\r\n`;
}

const records: MappedRecord[] = ['r1', 'r2', 'r3'].map((referralId) => ({
  referralId,
  fields: { subject: referralId },
}));

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

describe('DynamicsAdapter.upsertLeads rounds', () => {
  it('sends again only the retryable failures and keeps the input order', async () => {
    const sent: string[][] = [];
    const statuses: Record<string, number[]> = { r1: [201], r2: [503, 204], r3: [400] };
    nock(ORG)
      .post('/api/data/v9.2/$batch')
      .times(3)
      .matchHeader('prefer', 'odata.continue-on-error')
      .matchHeader('odata-version', '4.0')
      .matchHeader('odata-maxversion', '4.0')
      .matchHeader('authorization', 'Bearer unit-token')
      .matchHeader('content-type', /^multipart\/mixed; boundary=batch_[0-9a-f-]{36}$/)
      .reply(function (_uri, body) {
        const text = String(body);
        sent.push([...text.matchAll(/lb_referralid='([^']+)'/g)].map((m) => m[1] as string));
        const boundary = /^--(batch_\S+)\r\n/.exec(text)?.[1];
        expect(String(this.req.headers['content-type'])).toBe(
          `multipart/mixed; boundary=${boundary}`,
        );
        return [
          200,
          batchReply(text, (id) => statuses[id]?.shift() ?? 500),
          { 'Content-Type': 'multipart/mixed; boundary=batchresponse_1' },
        ];
      });
    const crm = adapter();
    const results = await crm.upsertLeads(records);
    expect(sent).toEqual([['r1', 'r2'], ['r3'], ['r2']]);
    expect(results).toEqual([
      { referralId: 'r1', ok: true, recordId: guidFor('r1'), created: true },
      { referralId: 'r2', ok: true, recordId: guidFor('r2'), created: false },
      {
        referralId: 'r3',
        ok: false,
        error: { code: '0x8004400', message: 'failure 400 for r3', retryable: false, status: 400 },
      },
    ]);
    expect(crm.callCount).toBe(3);
  });

  it('gives up on an item after two more rounds and reports it as retryable', async () => {
    let calls = 0;
    nock(ORG)
      .post('/api/data/v9.2/$batch')
      .times(3)
      .reply((_uri, body) => {
        calls++;
        return [
          200,
          batchReply(String(body), () => 503),
          { 'Content-Type': 'multipart/mixed; boundary=batchresponse_1' },
        ];
      });
    const results = await adapter().upsertLeads(records.slice(0, 1));
    expect(calls).toBe(3);
    expect(results).toEqual([
      {
        referralId: 'r1',
        ok: false,
        error: { code: '0x8004503', message: 'failure 503 for r1', retryable: true, status: 503 },
      },
    ]);
  });

  it('throws a whole-batch refusal once every batch has settled', async () => {
    const scope = nock(ORG)
      .post('/api/data/v9.2/$batch')
      .reply(401, {
        error: { code: '0x80072560', message: 'The user is not a member of the organization.' },
      })
      .post('/api/data/v9.2/$batch')
      .reply(200, (_uri, body) => batchReply(String(body), () => 201), {
        'Content-Type': 'multipart/mixed; boundary=batchresponse_1',
      });
    await expect(adapter(1).upsertLeads(records.slice(0, 2))).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      status: 401,
      providerCode: '0x80072560',
      message:
        'dynamics365: POST $batch → 401 0x80072560: The user is not a member of the ' +
        'organization. (credential: static token for https://contoso.crm.dynamics.com)',
    });
    expect(scope.isDone()).toBe(true);
  });

  it('answers a blank referral id without sending it', async () => {
    const results = await adapter().upsertLeads([{ referralId: ' ', fields: {} }]);
    expect(results).toEqual([
      {
        referralId: ' ',
        ok: false,
        error: {
          code: 'INVALID_REFERRAL_ID',
          message: 'the referral id is blank, so the record has no alternate key',
          retryable: false,
        },
      },
    ]);
  });
});
