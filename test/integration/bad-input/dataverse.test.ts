// Bad input, Dataverse: every documented write error for one lead of a batch; the batch-mates
// always land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../../src/ledger/index.js';
import type { Runtime } from '../../../src/sync/cycle.js';
import { startHarness, type Harness } from '../support/harness.js';
import { newCustomerInquiry } from '../support/referrals.js';
import { ClockedInbound, goodPair, refuse } from './support.js';

let harness: Harness;
let runtime: Runtime;
let inbound: ClockedInbound;

beforeAll(async () => {
  harness = await startHarness();
  runtime = await harness.runtime();
  inbound = new ClockedInbound(runtime);
});
afterAll(async () => harness?.close());

type Outcome =
  /** Written in the same cycle after the adapter's own retries. */
  | { kind: 'retried' }
  /** Failed this cycle (code named), written by a later due retry. */
  | { kind: 'failed-then-lands'; code: string }
  /**
   * Failed on every attempt, quarantined at the fifth with the CRM's message (and field when it
   * names one).
   */
  | { kind: 'quarantined'; code: string; message: string; fields?: string[] };

interface Case {
  name: string;
  /** A /_sim/refusals rule for the bad referral's lead. */
  refusal?: { error: string; field?: string; times?: number };
  /** A whole-request fault on $batch (service protection, 5xx, dropped connection). */
  fault?: Record<string, unknown>;
  outcome: Outcome;
}

const CALLER = '7c6d5e4f-3b2a-4190-8f7e-6d5c4b3a2918';
const PRIVILEGE =
  `Principal user (Id=${CALLER}, type=8) is missing prvWriteLead privilege on ` +
  `OTC=4 for entity 'lead'.`;
const tooLong = (column: string, max: number) =>
  `A validation error occurred.  The length of the '${column}' attribute of the 'lead' entity ` +
  `exceeded the maximum allowed length of '${max}'.`;
const outOfRange = (column: string, accepted: string) =>
  `A validation error occurred. The value 100000 of '${column}' on record of type 'lead' is ` +
  `outside the valid range. Accepted Values: ${accepted}`;
const batchFault = (fault: Record<string, unknown>) => ({ ...fault, pathContains: '$batch' });

const CASES: Case[] = [
  // Refused for good: failed, retried with backoff, quarantined at the fifth attempt naming code
  // and field.
  ...[
    ['missing privilege (0x80040220, 403)', 'privilege', undefined, '0x80040220', PRIVILEGE],
    ['access check failed (0x80048306, 403)', 'accessCheck', undefined, '0x80048306', null],
    ['duplicate key (0x80040237)', 'duplicate', undefined, '0x80040237', null],
    ['subject too long (0x80044331)', 'tooLong', 'subject', '0x80044331', tooLong('subject', 300)],
    ['company too long', 'tooLong', 'companyname', '0x80044331', tooLong('companyname', 100)],
    ['description too long', 'tooLong', 'description', '0x80044331', tooLong('description', 2000)],
    ['e-mail too long', 'tooLong', 'emailaddress1', '0x80044331', tooLong('emailaddress1', 100)],
    ['street too long', 'tooLong', 'address1_line1', '0x80044331', tooLong('address1_line1', 250)],
    [
      'lead source not in the option set (0x8004431a)',
      'picklist',
      'leadsourcecode',
      '0x8004431a',
      outOfRange('leadsourcecode', '1,2,3,4,5,6,7,8,9,10'),
    ],
    [
      'rating not in the option set',
      'picklist',
      'leadqualitycode',
      '0x8004431a',
      outOfRange('leadqualitycode', '1,2,3'),
    ],
    [
      'required company (business rule, 0x80040265)',
      'required',
      'companyname',
      '0x80040265',
      'Business Process Error: companyname is required on a lead.',
    ],
    [
      'required last name (business rule)',
      'required',
      'lastname',
      '0x80040265',
      'Business Process Error: lastname is required on a lead.',
    ],
    ['record does not exist (0x80040217, 404)', 'notFound', undefined, '0x80040217', null],
  ].map(([name, error, field, code, message]) => ({
    name: name as string,
    refusal: { error: error as string, ...(field ? { field: field as string } : {}) },
    outcome: {
      kind: 'quarantined' as const,
      code: code as string,
      message: (message as string | null) ?? '',
      ...(error === 'tooLong' || error === 'picklist' ? { fields: [field as string] } : {}),
    },
  })),
  // Transient on the server (row locked, SQL timeout): retried within the cycle, the lead lands.
  ...[
    ['deadlock on a row updated concurrently (0x80044150), once', 'deadlock', 1],
    ['deadlock twice', 'deadlock', 2],
    ['SQL timeout (0x80044151), once', 'sqlTimeout', 1],
    ['SQL timeout twice', 'sqlTimeout', 2],
    ['transaction rolled back after a deadlock (0x80040255), once', 'rolledBack', 1],
    ['transaction rolled back twice', 'rolledBack', 2],
  ].map(([name, error, times]) => ({
    name: name as string,
    refusal: { error: error as string, times: times as number },
    outcome: { kind: 'retried' as const },
  })),
  // Longer than the adapter's retry rounds, or fixed by an admin later: failed now, written by the
  // due retry.
  ...[
    ['row locked three times in a row', 'deadlock', '0x80044150'],
    ['privilege granted after the first attempt', 'privilege', '0x80040220'],
    ['access granted after the first attempt', 'accessCheck', '0x80048306'],
    ['business rule satisfied after the first attempt', 'required', '0x80040265'],
    ['duplicate removed after the first attempt', 'duplicate', '0x80040237'],
  ].map(([name, error, code]) => ({
    name: name as string,
    refusal: { error: error as string, times: error === 'deadlock' ? 3 : 1 },
    outcome: { kind: 'failed-then-lands' as const, code: code as string },
  })),
  // The whole $batch refused: service protection (429 + Retry-After), 5xx, dropped connection: all
  // retried.
  ...[
    [
      'service protection 429 (0x80072322) with Retry-After',
      { kind: '429', count: 1, retryAfterSeconds: 0.05 },
    ],
    ['service protection 429 three times', { kind: '429', count: 3, retryAfterSeconds: 0.02 }],
    ['503 with Retry-After', { kind: '5xx', status: 503, count: 1, retryAfterSeconds: 0.02 }],
    ['502 bad gateway', { kind: '5xx', status: 502, count: 1 }],
    ['504 gateway timeout', { kind: '5xx', status: 504, count: 1 }],
    ['500 unexpected (0x80040216)', { kind: '5xx', status: 500, count: 2 }],
    ['connection dropped', { kind: 'drop', count: 1 }],
    ['connection dropped twice', { kind: 'drop', count: 2 }],
  ].map(([name, fault]) => ({
    name: name as string,
    fault: batchFault(fault as Record<string, unknown>),
    outcome: { kind: 'retried' as const },
  })),
];

describe('bad input: Dataverse write errors (one bad lead per batch)', () => {
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map((c, i) => [i + 1, c.name, c] as const))(
    '%i. %s',
    async (_n, _name, testCase) => {
      const bad = newCustomerInquiry(harness.pc.store, {
        customerProfile: { name: 'Bad Apple Ltd', team: [{ lastName: 'Apple' }] },
      });
      const good = goodPair(harness, testCase.name);
      if (testCase.refusal) await refuse(harness.dynamics.url, bad.id, testCase.refusal);
      if (testCase.fault) harness.dynamics.server.faults.configure({ rules: [testCase.fault] });
      const injected = harness.dynamics.server.faults.injected;
      const refused = harness.dynamics.refusals.refused;
      try {
        const first = await inbound.cycle(1);
        const { outcome } = testCase;
        if (outcome.kind === 'retried') {
          expect(first.byTarget.dynamics).toMatchObject({ created: 3, failed: 0, quarantined: 0 });
        } else {
          expect(first.byTarget.dynamics).toMatchObject({ created: 2, failed: 1 });
          expect(await inbound.state('dynamics', bad.id)).toMatchObject({
            state: 'failed',
            lastErrorCode: outcome.code,
          });
          const settled = await inbound.settle('dynamics', bad.id);
          if (outcome.kind === 'failed-then-lands') expect(settled?.state).toBe('applied');
          else {
            expect(settled).toMatchObject({ state: 'quarantined' });
            expect(settled?.quarantineReason).toContain(
              `the CRM rejected it 5 times: ${outcome.message}`,
            );
            const last = (await auditTrail(runtime.ledger.db, bad.id)).at(-1);
            expect(last).toMatchObject({ action: 'quarantined', detail: { code: outcome.code } });
            if (outcome.fields) expect(last?.detail?.fields).toEqual(outcome.fields);
          }
        }
        // Something really was refused, and the batch-mates landed regardless.
        expect(
          harness.dynamics.server.faults.injected + harness.dynamics.refusals.refused,
        ).toBeGreaterThan(injected + refused);
        for (const referral of good)
          expect(harness.dynamics.store.findLeadByKey(referral.id)?.companyname).toBe(
            referral.customerProfile?.name,
          );
        if (outcome.kind !== 'quarantined')
          expect(harness.dynamics.store.findLeadByKey(bad.id)?.companyname).toBe('Bad Apple Ltd');
      } finally {
        harness.dynamics.server.faults.clear();
        harness.dynamics.refusals.clear();
      }
    },
  );
});
