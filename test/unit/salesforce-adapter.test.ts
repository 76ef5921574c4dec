// Unit tests of the Salesforce adapter's pure parts: SOQL literals and statements, result mapping,
// item retries, errors, JWT.
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LeadbridgeError } from '../../src/core/errors.js';
import { DEFAULT_RETRY_POLICY, isRetryable } from '../../src/core/retry.js';
import type { MappedRecord, UpsertItemResult } from '../../src/crm/adapter.js';
import { jwtAssertion } from '../../src/crm/salesforce/auth.js';
import {
  changedRecordsSoql,
  latestOpportunitySoql,
  leadsByReferralSoql,
  mergeReferralStates,
  missingHalves,
  opportunitiesByIdSoql,
} from '../../src/crm/salesforce/changes.js';
import { callError, tokenError } from '../../src/crm/salesforce/errors.js';
import { parseSalesforceSettings } from '../../src/crm/salesforce/settings.js';
import { soqlDateTime, soqlFieldName, soqlId, soqlString } from '../../src/crm/salesforce/soql.js';
import {
  collectionCalls,
  collectionRecord,
  upsertItemResult,
  upsertWithItemRetries,
  type PendingRecord,
} from '../../src/crm/salesforce/upsert.js';

const KEY = 'PartnerReferralId__c';

describe('SOQL literals', () => {
  it('quotes strings and backslash-escapes quote, backslash and control characters', () => {
    expect(soqlString("O'Brien \\ Sons")).toBe("'O\\'Brien \\\\ Sons'");
    expect(soqlString("x' OR Name != '")).toBe("'x\\' OR Name != \\''");
    expect(soqlString('a"b\nc\rd\te\bf\fg')).toBe("'a\\\"b\\nc\\rd\\te\\bf\\fg'");
    expect(soqlString('')).toBe("''");
    expect(soqlString('100% _done_')).toBe("'100% _done_'");
  });

  it(
    'writes datetimes unquoted, in UTC with milliseconds, whatever zone form they ' + 'arrive in',
    () => {
      expect(soqlDateTime('2025-01-01T00:00:00Z', 'since')).toBe('2025-01-01T00:00:00.000Z');
      expect(soqlDateTime('2025-01-01T00:00:00.123+0000', 'since')).toBe(
        '2025-01-01T00:00:00.123Z',
      );
      expect(soqlDateTime('2025-01-01T02:30:00.5+02:00', 'since')).toBe('2025-01-01T00:30:00.500Z');
    },
  );

  it('refuses datetimes without a zone and text that is no datetime', () => {
    expect(() => soqlDateTime('2025-01-01T00:00:00', 'readChanges(since)')).toThrow(
      'readChanges(since): "2025-01-01T00:00:00" is not an ISO-8601 date-time with a zone',
    );
    expect(() => soqlDateTime('2025-01-01T00:00:00Z OR Id != null', 'since')).toThrow(
      LeadbridgeError,
    );
    expect(() => soqlDateTime('2025-02-30T00:00:00Z', 'since')).toThrow(
      'is not an ISO-8601 date-time',
    );
  });

  it('accepts only 15 or 18 character record ids and plain field names', () => {
    expect(soqlId('006000000000001AAA', 'id')).toBe("'006000000000001AAA'");
    expect(soqlId('006000000000001', 'id')).toBe("'006000000000001'");
    expect(() => soqlId("006' OR Id != '", 'ConvertedOpportunityId')).toThrow(
      `ConvertedOpportunityId: "006' OR Id != '" is not a Salesforce record id`,
    );
    expect(soqlFieldName('PartnerReferralId__c')).toBe('PartnerReferralId__c');
    expect(() => soqlFieldName('Name FROM User')).toThrow(
      '"Name FROM User" is not a Salesforce field API name',
    );
  });
});

describe('SOQL statements', () => {
  it('selects changed leads and opportunities carrying a referral id, oldest change first', () => {
    expect(changedRecordsSoql('lead', KEY, '2025-01-01T00:00:00Z')).toBe(
      'SELECT Id, Status, IsConverted, ConvertedOpportunityId, DeclineReason__c, Company, ' +
        'Description, SystemModstamp, PartnerReferralId__c ' +
        'FROM Lead WHERE PartnerReferralId__c != null AND SystemModstamp > ' +
        '2025-01-01T00:00:00.000Z ORDER BY SystemModstamp ASC',
    );
    expect(changedRecordsSoql('opportunity', 'Ref__c', null)).toBe(
      'SELECT Id, Name, StageName, IsClosed, IsWon, Amount, CloseDate, Description, ' +
        'LossReason__c, SystemModstamp, Ref__c ' +
        'FROM Opportunity WHERE Ref__c != null ORDER BY SystemModstamp ASC',
    );
  });

  it('looks up leads by escaped referral ids and opportunities by checked ids', () => {
    expect(leadsByReferralSoql(KEY, ['a', "x' OR Name != '"])).toMatch(
      / FROM Lead WHERE PartnerReferralId__c IN \('a', 'x\\' OR Name != \\''\)$/,
    );
    expect(opportunitiesByIdSoql(KEY, ['006000000000001AAA', '006000000000002AAA'])).toMatch(
      / FROM Opportunity WHERE Id IN \('006000000000001AAA', '006000000000002AAA'\)$/,
    );
    expect(latestOpportunitySoql(KEY, "O'Brien")).toMatch(
      new RegExp(
        String.raw` FROM Opportunity WHERE PartnerReferralId__c = 'O\\'Brien' ORDER BY` +
          String.raw` SystemModstamp DESC LIMIT 1$`,
      ),
    );
  });
});

const record = (
  referralId: string,
  fields: Record<string, unknown> = { LastName: 'L', Company: 'C' },
  entity?: 'lead' | 'opportunity',
): MappedRecord => ({
  referralId,
  fields,
  ...(entity ? { entity } : {}),
});

describe('collection upserts', () => {
  it('always sets the external id from the referral id', () => {
    expect(collectionRecord(record('ref-1', { LastName: 'L', [KEY]: 'stale' }), KEY)).toEqual({
      LastName: 'L',
      [KEY]: 'ref-1',
    });
  });

  it(
    'splits records into calls of at most batchSize, one sObject type per call, keeping ' +
      'positions',
    () => {
      const pending: PendingRecord[] = [
        { record: record('a'), index: 0 },
        { record: record('b', {}, 'opportunity'), index: 1 },
        { record: record('c'), index: 2 },
        { record: record('d', {}, 'lead'), index: 3 },
      ];
      const calls = collectionCalls(pending, 2);
      expect(calls.map((c) => [c.sobject, c.items.map((i) => i.index)])).toEqual([
        ['Lead', [0, 2]],
        ['Lead', [3]],
        ['Opportunity', [1]],
      ]);
    },
  );

  it(
    'maps save results: created, updated, refused with statusCode and fields, refused with ' +
      'several errors',
    () => {
      expect(
        upsertItemResult('r1', {
          id: '00Q000000000001AAA',
          success: true,
          errors: [],
          created: true,
        }),
      ).toEqual({
        referralId: 'r1',
        ok: true,
        recordId: '00Q000000000001AAA',
        created: true,
      });
      expect(
        upsertItemResult('r2', {
          id: '00Q000000000002AAA',
          success: true,
          errors: [],
          created: false,
        }),
      ).toEqual({
        referralId: 'r2',
        ok: true,
        recordId: '00Q000000000002AAA',
        created: false,
      });
      expect(
        upsertItemResult('r3', {
          success: false,
          errors: [
            {
              statusCode: 'REQUIRED_FIELD_MISSING',
              message: 'Required fields are missing: [Company]',
              fields: ['Company'],
            },
          ],
        }),
      ).toEqual({
        referralId: 'r3',
        ok: false,
        error: {
          code: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [Company]',
          retryable: false,
          fields: ['Company'],
        },
      });
      expect(
        upsertItemResult('r4', {
          success: false,
          errors: [
            {
              errorCode: 'STRING_TOO_LONG',
              message: 'Email: data value too large',
              fields: ['Email'],
            },
            {
              statusCode: 'INVALID_EMAIL_ADDRESS',
              message: 'Email: invalid email address',
              fields: ['Email'],
            },
          ],
        }),
      ).toEqual({
        referralId: 'r4',
        ok: false,
        error: {
          code: 'STRING_TOO_LONG',
          message: 'Email: data value too large; Email: invalid email address',
          retryable: false,
          fields: ['Email'],
        },
      });
    },
  );

  it('marks lock contention and a missing result as retryable', () => {
    expect(
      upsertItemResult('r', {
        success: false,
        errors: [
          {
            statusCode: 'UNABLE_TO_LOCK_ROW',
            message: 'unable to obtain exclusive access to this record',
            fields: [],
          },
        ],
      }),
    ).toEqual({
      referralId: 'r',
      ok: false,
      error: {
        code: 'UNABLE_TO_LOCK_ROW',
        message: 'unable to obtain exclusive access to this record',
        retryable: true,
      },
    });
    expect(upsertItemResult('r', undefined)).toEqual({
      referralId: 'r',
      ok: false,
      error: {
        code: 'MISSING_SAVE_RESULT',
        message: 'the collection response has no result for this record',
        retryable: true,
      },
    });
  });
});

describe('item retries', () => {
  const locked = (referralId: string): UpsertItemResult => ({
    referralId,
    ok: false,
    error: { code: 'UNABLE_TO_LOCK_ROW', message: 'locked', retryable: true },
  });
  const written = (referralId: string): UpsertItemResult => ({
    referralId,
    ok: true,
    recordId: `id-${referralId}`,
    created: true,
  });

  it('sends again only the retryable failures and returns results in input order', async () => {
    const rounds: string[][] = [];
    const waits: Array<[number, number]> = [];
    const results = await upsertWithItemRetries(
      [record('a'), record('b', { Rating: 'Scorching' }), record('c'), record('  ')],
      {
        sendRound: async (pending) => {
          rounds.push(pending.map((p) => p.record.referralId));
          return pending.map(({ record: r }) => {
            if (r.referralId === 'b')
              return {
                referralId: 'b',
                ok: false,
                error: {
                  code: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
                  message: 'bad',
                  retryable: false,
                },
              };
            return r.referralId === 'c' && rounds.length === 1
              ? locked('c')
              : written(r.referralId);
          });
        },
        waitBeforeRound: async (round, retrying) => void waits.push([round, retrying]),
      },
    );
    expect(rounds).toEqual([['a', 'b', 'c'], ['c']]);
    expect(waits).toEqual([[1, 1]]);
    expect(results.map((r) => (r.ok ? r.recordId : r.error.code))).toEqual([
      'id-a',
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      'id-c',
      'INVALID_REFERRAL_ID',
    ]);
  });

  it('gives up after two extra rounds, keeping the last failure', async () => {
    let sends = 0;
    const results = await upsertWithItemRetries([record('a')], {
      sendRound: async (pending) => {
        sends++;
        return pending.map((p) => locked(p.record.referralId));
      },
      waitBeforeRound: async () => {},
    });
    expect(sends).toBe(3);
    expect(results).toEqual([locked('a')]);
  });
});

describe('errors', () => {
  const context = { target: 'sfdc', call: 'query leads' };
  const httpApiError = (errorCode: string, message: string) =>
    Object.assign(new Error(message), { name: errorCode, errorCode, data: { errorCode, message } });

  it('maps whole-call codes to statuses, so that the retry policy retries 5xx and 429 only', () => {
    const unavailable = callError(
      httpApiError('SERVER_UNAVAILABLE', 'The service is temporarily unavailable.'),
      context,
    );
    expect(unavailable).toMatchObject({
      code: 'HTTP_ERROR',
      status: 503,
      providerCode: 'SERVER_UNAVAILABLE',
    });
    expect(unavailable.message).toBe(
      'salesforce target "sfdc": query leads failed: SERVER_UNAVAILABLE: The service is ' +
        'temporarily unavailable.',
    );
    expect(isRetryable(unavailable, DEFAULT_RETRY_POLICY, true)).toBe(true);
    expect(
      isRetryable(
        callError(httpApiError('TOO_MANY_REQUESTS', 'slow down'), context),
        DEFAULT_RETRY_POLICY,
        true,
      ),
    ).toBe(true);
    expect(
      callError(httpApiError('ERROR_HTTP_502', '<html>bad gateway</html>'), context),
    ).toMatchObject({ code: 'HTTP_ERROR', status: 502 });

    const malformed = callError(httpApiError('MALFORMED_QUERY', "unexpected token: 'OR'"), context);
    expect(malformed).toMatchObject({
      code: 'HTTP_ERROR',
      status: undefined,
      providerCode: 'MALFORMED_QUERY',
      retryable: false,
    });
    expect(isRetryable(malformed, DEFAULT_RETRY_POLICY, true)).toBe(false);

    const session = callError(
      httpApiError('INVALID_SESSION_ID', 'Session expired or invalid'),
      context,
    );
    expect(session).toMatchObject({ code: 'AUTH_FAILED', status: 401 });
    expect(isRetryable(session, DEFAULT_RETRY_POLICY, true)).toBe(false);
  });

  it('keeps the first code and every message when Salesforce sends several errors at once', () => {
    const entries = [
      { errorCode: 'INVALID_FIELD', message: "No such column 'A__c' on sobject of type Lead" },
      { errorCode: 'INVALID_FIELD', message: "No such column 'B__c' on sobject of type Lead" },
    ];
    const multiple = Object.assign(new Error('Multiple errors returned.'), {
      name: 'MULTIPLE_API_ERRORS',
      errorCode: 'MULTIPLE_API_ERRORS',
      data: entries,
    });
    expect(callError(multiple, context)).toMatchObject({
      code: 'HTTP_ERROR',
      providerCode: 'INVALID_FIELD',
      provider: entries,
    });
    expect(callError(multiple, context).message).toBe(
      'salesforce target "sfdc": query leads failed: INVALID_FIELD: No such column \'A__c\' on ' +
        "sobject of type Lead; No such column 'B__c' on sobject of type Lead",
    );
    expect(callError(httpApiError('ERROR_HTTP_429', 'slow down'), context)).toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
    });
  });

  it('makes the daily request limit final, with the usage when known', () => {
    const error = callError(
      httpApiError('REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
      { ...context, apiUsage: { used: 15000, limit: 15000 } },
    );
    expect(error).toMatchObject({ code: 'RATE_LIMITED', status: 403, retryable: false });
    expect(error.message).toBe(
      'salesforce target "sfdc": query leads refused: the org\'s daily API request limit is ' +
        'used up (api-usage 15000/15000) ' +
        '(REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.); calls succeed again once the ' +
        'rolling 24-hour allocation frees up',
    );
    expect(isRetryable(error, DEFAULT_RETRY_POLICY, true)).toBe(false);
  });

  it('treats socket failures and jsforce timeouts as retryable network errors', () => {
    const reset = Object.assign(
      new Error('request to http://127.0.0.1/x failed, reason: socket hang up'),
      { name: 'FetchError', code: 'ECONNRESET' },
    );
    expect(callError(reset, context)).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
    const timeout = Object.assign(
      new Error('The user aborted a request. Request was aborted due to timeout of 10 minutes.'),
      { name: 'AbortError' },
    );
    expect(callError(timeout, context)).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
    expect(callError(timeout, context).message).toBe(
      'salesforce target "sfdc": query leads timed out: The user aborted a request. Request ' +
        'was aborted due to timeout of 10 minutes.',
    );
  });

  it('reads OAuth refusals by the error name jsforce gives them', () => {
    const where = {
      target: 'sfdc',
      flow: 'JWT bearer',
      tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
    };
    const refused = tokenError(
      Object.assign(new Error("user hasn't approved this consumer"), { name: 'invalid_grant' }),
      where,
    );
    expect(refused).toMatchObject({
      code: 'AUTH_FAILED',
      providerCode: 'invalid_grant',
      retryable: false,
    });
    expect(refused.message).toBe(
      'salesforce target "sfdc": the JWT bearer token request to ' +
        'https://login.salesforce.com/services/oauth2/token was refused: invalid_grant: user ' +
        "hasn't approved this consumer",
    );
    expect(
      tokenError(Object.assign(new Error('upstream down'), { name: 'ERROR_HTTP_503' }), where),
    ).toMatchObject({ code: 'HTTP_ERROR', status: 503 });
  });
});

describe('JWT bearer assertion', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  it('carries iss, sub, aud and a 3-minute exp, signed RS256 with the private key', () => {
    const claims = {
      clientId: '3MVG9-app',
      username: 'sync@example.com',
      audience: 'https://login.salesforce.com',
    };
    const assertion = jwtAssertion(claims, pem, { nowMs: 1_700_000_000_500, target: 'sfdc' });
    const [header, payload, signature] = assertion.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      iss: '3MVG9-app',
      sub: 'sync@example.com',
      aud: 'https://login.salesforce.com',
      exp: 1_700_000_180,
    });
    expect(
      verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        publicKey,
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(true);
  });

  it('names the target when the key cannot sign', () => {
    expect(() =>
      jwtAssertion(
        { clientId: 'a', username: 'b', audience: 'c' },
        '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
        { nowMs: 0, target: 'sfdc' },
      ),
    ).toThrow(/^salesforce target "sfdc": the JWT private key cannot sign an RS256 assertion: /);
  });
});

describe('merging changes per referral', () => {
  const lead = (referralId: string, stamp: string, extra: Record<string, unknown> = {}) => ({
    Id: `00Q-${referralId}`,
    [KEY]: referralId,
    SystemModstamp: stamp,
    ...extra,
  });
  const opportunity = (id: string, referralId: string, stamp: string) => ({
    Id: id,
    [KEY]: referralId,
    SystemModstamp: stamp,
    StageName: 'Closed Won',
  });

  it('asks only for the halves that did not change', () => {
    const changed = [
      {
        entity: 'lead' as const,
        record: lead('a', '2025-01-01T00:00:01.000+0000', { ConvertedOpportunityId: '006A' }),
      },
      {
        entity: 'lead' as const,
        record: lead('b', '2025-01-01T00:00:02.000+0000', { ConvertedOpportunityId: '006B' }),
      },
      {
        entity: 'opportunity' as const,
        record: opportunity('006B', 'b', '2025-01-01T00:00:03.000+0000'),
      },
      {
        entity: 'opportunity' as const,
        record: opportunity('006C', 'c', '2025-01-01T00:00:04.000+0000'),
      },
    ];
    expect(missingHalves(KEY, changed)).toEqual({ referralIds: ['c'], opportunityIds: ['006A'] });

    const states = mergeReferralStates(KEY, changed, {
      leads: [lead('c', '2024-12-31T00:00:00.000+0000', { ConvertedOpportunityId: '006C' })],
      opportunities: [opportunity('006A', 'a', '2024-12-31T00:00:00.000+0000')],
    });
    expect(
      states.map((s) => [
        s.referralId,
        s.recordId,
        s.entity,
        s.modifiedAt,
        s.opportunity?.recordId,
      ]),
    ).toEqual([
      ['a', '00Q-a', 'lead', '2025-01-01T00:00:01.000Z', '006A'],
      ['b', '00Q-b', 'lead', '2025-01-01T00:00:03.000Z', '006B'],
      ['c', '00Q-c', 'lead', '2025-01-01T00:00:04.000Z', '006C'],
    ]);
  });

  it('keeps an opportunity without a lead as a state of its own', () => {
    const states = mergeReferralStates(
      KEY,
      [{ entity: 'opportunity', record: opportunity('006D', 'd', '2025-01-01T00:00:05.000+0000') }],
      {
        leads: [],
        opportunities: [],
      },
    );
    expect(states).toEqual([
      {
        referralId: 'd',
        recordId: '006D',
        entity: 'opportunity',
        modifiedAt: '2025-01-01T00:00:05.000Z',
        fields: opportunity('006D', 'd', '2025-01-01T00:00:05.000+0000'),
        opportunity: null,
      },
    ]);
  });
});

describe('settings', () => {
  it('applies the config defaults', () => {
    expect(
      parseSalesforceSettings({
        instanceUrl: 'https://acme.my.salesforce.com/',
        auth: { kind: 'accessToken', token: 't' },
      }),
    ).toEqual({
      instanceUrl: 'https://acme.my.salesforce.com',
      apiVersion: '60.0',
      auth: { kind: 'accessToken', token: 't' },
      externalIdField: 'PartnerReferralId__c',
      batchSize: 200,
      limits: { maxDailyApiShare: 0.8 },
    });
  });

  it('reports every problem with its path under the target', () => {
    expect(() =>
      parseSalesforceSettings(
        {
          instanceUrl: 'https://acme.my.salesforce.com',
          apiVersion: '45.0',
          auth: { kind: 'accessToken', token: 't' },
          batchSize: 201,
        },
        'targets[sfdc].settings',
      ),
    ).toThrow(
      'invalid Salesforce settings:\n' +
        '  - targets[sfdc].settings.apiVersion: must be at least 46.0 (collection upserts need ' +
        'it)\n' +
        '  - targets[sfdc].settings.batchSize: Too big: expected number to be <=200',
    );
  });
});
