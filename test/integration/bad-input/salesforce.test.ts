// Bad input, Salesforce: every documented save error for one lead of a collection; its batch-mates
// always land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, getLinks } from '../../../src/ledger/index.js';
import { LEAD } from '../../../src/simulators/salesforce/index.js';
import type { Runtime } from '../../../src/sync/cycle.js';
import { startHarness, type Harness } from '../support/harness.js';
import { newCustomerInquiry } from '../support/referrals.js';
import { ClockedInbound, goodPair, refuse } from './support.js';

let harness: Harness;
let runtime: Runtime;
let inbound: ClockedInbound;

beforeAll(async () => {
  harness = await startHarness({ salesforce: true });
  runtime = await harness.runtime();
  inbound = new ClockedInbound(runtime);
});
afterAll(async () => harness?.close());

type Outcome =
  | { kind: 'retried' }
  | { kind: 'failed-then-lands'; code: string }
  | { kind: 'quarantined'; code: string; message: string; fields: string[] }
  /** The lead was converted meanwhile: skipped with the reason, never retried nor quarantined. */
  | { kind: 'skipped-converted' }
  /**
   * The whole org refused (daily limit): the target sits the cycle out; nothing is lost for the
   * next one.
   */
  | { kind: 'target-down'; code: string };

interface Case {
  name: string;
  refusal?: { error: string; field?: string; times?: number };
  fault?: Record<string, unknown>;
  /** The org's daily API allocation used up for one cycle. */
  dailyLimit?: true;
  outcome: Outcome;
}

const quarantined = (
  name: string,
  error: string,
  code: string,
  message: string,
  fields: string[] = [],
  field?: string,
): Case => ({
  name,
  refusal: { error, ...(field ? { field } : {}) },
  outcome: { kind: 'quarantined', code, message, fields },
});

const CASES: Case[] = [
  quarantined(
    'Company too long',
    'tooLong',
    'STRING_TOO_LONG',
    'Company: data value too large: (max length=255)',
    ['Company'],
  ),
  quarantined(
    'LastName too long',
    'tooLong',
    'STRING_TOO_LONG',
    'LastName: data value too large: (max length=255)',
    ['LastName'],
    'LastName',
  ),
  quarantined(
    'lead source not in the restricted picklist',
    'picklist',
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    'LeadSource: bad value for restricted picklist field: Partner Center',
    ['LeadSource'],
  ),
  quarantined(
    'rating not in the restricted picklist',
    'picklist',
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
    'Rating: bad value for restricted picklist field: Partner Center',
    ['Rating'],
    'Rating',
  ),
  quarantined(
    'required Company missing',
    'required',
    'REQUIRED_FIELD_MISSING',
    'Required fields are missing: [Company]',
    ['Company'],
  ),
  quarantined(
    'required LastName missing',
    'required',
    'REQUIRED_FIELD_MISSING',
    'Required fields are missing: [LastName]',
    ['LastName'],
    'LastName',
  ),
  quarantined(
    'duplicate unique value',
    'duplicate',
    'DUPLICATE_VALUE',
    'duplicate value found: Email duplicates value on record with id: 00Q000000000001AAA',
    ['Email'],
  ),
  quarantined(
    'duplicate rule blocks the save',
    'duplicateRule',
    'DUPLICATES_DETECTED',
    'Use one of these records?',
  ),
  quarantined(
    'validation rule',
    'validationRule',
    'FIELD_CUSTOM_VALIDATION_EXCEPTION',
    'Phone must be in international format',
    ['Phone'],
  ),
  quarantined(
    'invalid e-mail address',
    'badEmail',
    'INVALID_EMAIL_ADDRESS',
    'Email: invalid email address: KEY@@example',
    ['Email'],
  ),
  quarantined(
    'country not in the country picklist',
    'fieldIntegrity',
    'FIELD_INTEGRITY_EXCEPTION',
    'Country: invalid country/territory code',
    ['Country'],
  ),
  quarantined(
    'field not writable for the profile',
    'fieldSecurity',
    'INVALID_FIELD_FOR_INSERT_UPDATE',
    'Unable to create/update fields: Rating. Please check the security settings of this field ' +
      'and verify that it is read/write for your profile or permission set.',
    ['Rating'],
  ),
  quarantined(
    'number out of range',
    'numberRange',
    'NUMBER_OUTSIDE_VALID_RANGE',
    'AnnualRevenue: value outside of valid range on numeric field: 1.0E20',
    ['AnnualRevenue'],
  ),
  quarantined(
    'insufficient access on the record',
    'insufficientAccess',
    'INSUFFICIENT_ACCESS_OR_READONLY',
    'insufficient access rights on object id',
  ),
  quarantined(
    'insufficient access on a cross-reference',
    'crossReferenceAccess',
    'INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY',
    'insufficient access rights on cross-reference id',
  ),
  quarantined(
    'trigger failure',
    'trigger',
    'CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY',
    'LeadTrigger: execution of BeforeUpdate caused by: System.NullPointerException',
  ),
  quarantined(
    'storage limit exceeded',
    'storage',
    'STORAGE_LIMIT_EXCEEDED',
    'storage limit exceeded',
  ),
  quarantined('record deleted', 'deleted', 'ENTITY_IS_DELETED', 'entity is deleted'),
  ...[
    ['row locked (UNABLE_TO_LOCK_ROW), once', 'lockedRow', 1],
    ['row locked twice', 'lockedRow', 2],
    ['server unavailable for the record, once', 'unavailable', 1],
    ['server unavailable twice', 'unavailable', 2],
    ['request running too long, once', 'tooLongRunning', 1],
  ].map(([name, error, times]) => ({
    name: name as string,
    refusal: { error: error as string, times: times as number },
    outcome: { kind: 'retried' as const },
  })),
  ...[
    ['row locked three times', 'lockedRow', 3, 'UNABLE_TO_LOCK_ROW'],
    [
      'access granted after the first attempt',
      'insufficientAccess',
      1,
      'INSUFFICIENT_ACCESS_OR_READONLY',
    ],
    [
      'required field given a default after the first attempt',
      'required',
      1,
      'REQUIRED_FIELD_MISSING',
    ],
    ['storage freed after the first attempt', 'storage', 1, 'STORAGE_LIMIT_EXCEEDED'],
  ].map(([name, error, times, code]) => ({
    name: name as string,
    refusal: { error: error as string, times: times as number },
    outcome: { kind: 'failed-then-lands' as const, code: code as string },
  })),
  {
    name: 'converted lead (CANNOT_UPDATE_CONVERTED_LEAD)',
    refusal: { error: 'converted' },
    outcome: { kind: 'skipped-converted' },
  },
  ...[
    ['429 with Retry-After', { kind: '429', count: 1, retryAfterSeconds: 0.05 }],
    ['429 twice', { kind: '429', count: 2, retryAfterSeconds: 0.02 }],
    [
      '503 SERVER_UNAVAILABLE with Retry-After',
      { kind: '5xx', status: 503, count: 1, retryAfterSeconds: 0.02 },
    ],
    ['500 UNKNOWN_EXCEPTION', { kind: '5xx', status: 500, count: 1 }],
    ['502 bad gateway', { kind: '5xx', status: 502, count: 1 }],
    ['connection dropped', { kind: 'drop', count: 1 }],
    ['connection dropped twice', { kind: 'drop', count: 2 }],
  ].map(([name, fault]) => ({
    name: name as string,
    fault: { ...(fault as Record<string, unknown>), pathContains: '/composite/' },
    outcome: { kind: 'retried' as const },
  })),
  {
    name: 'daily API limit used up (REQUEST_LIMIT_EXCEEDED, 403)',
    dailyLimit: true,
    outcome: { kind: 'target-down', code: 'RATE_LIMITED' },
  },
];

function sfLead(referralId: string): Record<string, unknown> | undefined {
  const field = LEAD.fieldsByLowerName.get('partnerreferralid__c')!;
  return harness.salesforce!.store.findByExternalId(LEAD, field, referralId)[0];
}

async function checkOutcome(outcome: Outcome, badId: string): Promise<void> {
  const first = await inbound.cycle(1);
  const counts = first.byTarget.salesforce;
  switch (outcome.kind) {
    case 'retried':
      expect(counts).toMatchObject({ created: 3, failed: 0, quarantined: 0 });
      return;
    case 'skipped-converted': {
      expect(counts).toMatchObject({ skippedConverted: 1, updated: 2, failed: 0 });
      const link = (await getLinks(runtime.ledger.db, 'salesforce', [badId])).get(badId);
      expect(link?.crmConvertedInto).toBe('');
      expect((await inbound.state('salesforce', badId))?.state).toBe('applied');
      return;
    }
    case 'target-down':
      expect(first.failedTargets).toMatchObject([{ target: 'salesforce', code: outcome.code }]);
      harness.salesforce!.setApiUsage(0);
      expect((await inbound.cycle(1)).byTarget.salesforce).toMatchObject({ created: 3 });
      return;
    default: {
      expect(counts).toMatchObject({ created: 2, failed: 1 });
      expect(await inbound.state('salesforce', badId)).toMatchObject({
        state: 'failed',
        lastErrorCode: outcome.code,
      });
      const settled = await inbound.settle('salesforce', badId);
      if (outcome.kind === 'failed-then-lands') {
        expect(settled?.state).toBe('applied');
        return;
      }
      expect(settled?.state).toBe('quarantined');
      const message = outcome.message.replace('KEY', badId);
      expect(settled?.quarantineReason).toBe(`the CRM rejected it 5 times: ${message}`);
      const last = (await auditTrail(runtime.ledger.db, badId)).at(-1);
      expect(last).toMatchObject({ action: 'quarantined', target: 'salesforce' });
      expect(last?.detail).toMatchObject({ code: outcome.code });
      expect(last?.detail?.fields ?? []).toEqual(outcome.fields);
    }
  }
}

describe('bad input: Salesforce save errors (one bad lead per collection call)', () => {
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map((c, i) => [i + 1, c.name, c] as const))(
    '%i. %s',
    async (_n, _name, testCase) => {
      const bad = newCustomerInquiry(harness.pc.store, {
        customerProfile: { name: 'Bad Apple Ltd', team: [{ lastName: 'Apple' }] },
      });
      let good = goodPair(harness, testCase.name);
      if (testCase.outcome.kind === 'skipped-converted') {
        // The leads exist first; the bad one is converted by a user, then every referral changes.
        await inbound.cycle(1);
        for (const referral of [bad, ...good])
          harness.pc.store.update(referral.id, { name: `${referral.name ?? ''} (renamed)` });
        good = good.map((referral) => harness.pc.store.get(referral.id)!);
      }
      if (testCase.refusal) await refuse(harness.salesforce!.url, bad.id, testCase.refusal);
      if (testCase.fault) harness.salesforce!.server.faults.configure({ rules: [testCase.fault] });
      if (testCase.dailyLimit) harness.salesforce!.setApiUsage(harness.salesforce!.apiUsage.limit);
      const sim = harness.salesforce!;
      const before = sim.refusals.refused + sim.server.faults.injected;
      try {
        await checkOutcome(testCase.outcome, bad.id);
        // Something really was refused (the daily limit is answered by the API's own check).
        if (!testCase.dailyLimit)
          expect(sim.refusals.refused + sim.server.faults.injected).toBeGreaterThan(before);
        // The batch-mates landed in Salesforce (and Dynamics never noticed anything).
        for (const referral of good) {
          expect(sfLead(referral.id)?.Company).toBe(referral.customerProfile?.name);
          expect(harness.dynamics.store.findLeadByKey(referral.id)).toBeDefined();
        }
        expect(harness.dynamics.store.findLeadByKey(bad.id)?.companyname).toBe('Bad Apple Ltd');
      } finally {
        harness.salesforce!.server.faults.clear();
        harness.salesforce!.refusals.clear();
        harness.salesforce!.setApiUsage(0);
      }
    },
  );
});
