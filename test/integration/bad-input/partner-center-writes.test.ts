// Bad input, Partner Center writes: refused outcomes (412, closed, illegal, incomplete, 4xx/5xx);
// the others land.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, listOutbox } from '../../../src/ledger/index.js';
import type { Referral } from '../../../src/simulators/partner-center/payload.js';
import { drainOutboxActions } from '../../../src/sync/actions/index.js';
import type { Runtime } from '../../../src/sync/cycle.js';
import { emptyOutboundStats } from '../../../src/sync/types.js';
import { startHarness, type Harness } from '../support/harness.js';
import { newCustomerInquiry } from '../support/referrals.js';

let harness: Harness;
let runtime: Runtime;

beforeAll(async () => {
  harness = await startHarness();
  runtime = await harness.runtime();
});
afterAll(async () => harness?.close());

const REFERRALS = '/v1.0/engagements/referrals/';

type Outcome =
  /** The outcome reaches Partner Center in this cycle (after retries or a re-read). */
  | { kind: 'sent' }
  /** Not sent, and never will be: the row is superseded with the reason. */
  | { kind: 'superseded'; reason: RegExp }
  /**
   * Refused for good: quarantined with the reason (the missing field, or Partner Center's message).
   */
  | { kind: 'quarantined'; reason: RegExp }
  /** Failed now; the row waits for its next attempt. */
  | { kind: 'failed'; error: RegExp };

interface Case {
  name: string;
  /** The bad referral as created (missing deal fields...). */
  details?: Record<string, unknown>;
  /** What happens in Partner Center before the outcome is sent. */
  before?: (referral: Referral) => void;
  /** The CRM outcome: qualified (accept, the default) or disqualified (decline). */
  crm?: 'qualify' | 'disqualify';
  fault?: (id: string) => Record<string, unknown>;
  outcome: Outcome;
}

const onPatch =
  (status: number, errorCode: string, message: string, count = 1) =>
  (id: string) => ({
    kind: 'status',
    refuseStatus: status,
    errorCode,
    message,
    count,
    method: 'PATCH',
    pathContains: `${REFERRALS}${id}`,
  });
const patchFault = (fault: Record<string, unknown>) => (id: string) => ({
  ...fault,
  method: 'PATCH',
  pathContains: `${REFERRALS}${id}`,
});

const CASES: Case[] = [
  {
    name: '412: changed between read and write, once',
    fault: onPatch(412, 'preconditionFailed', 'The eTag does not match.'),
    outcome: { kind: 'sent' },
  },
  {
    name: '409 once (read again, still open)',
    fault: onPatch(409, 'conflict', 'The referral was modified.'),
    outcome: { kind: 'sent' },
  },
  {
    name: '412 twice: fails, retried later',
    fault: onPatch(412, 'preconditionFailed', 'The eTag does not match.', 2),
    outcome: { kind: 'failed', error: /met a conflict again after a re-read/ },
  },
  {
    name: '429 with Retry-After',
    fault: patchFault({ kind: '429', count: 1, retryAfterSeconds: 0.05 }),
    outcome: { kind: 'sent' },
  },
  {
    name: '503 with Retry-After',
    fault: patchFault({ kind: '5xx', status: 503, count: 1, retryAfterSeconds: 0.05 }),
    outcome: { kind: 'sent' },
  },
  {
    name: '500 (If-Match write: repeated safely)',
    fault: patchFault({ kind: '5xx', status: 500, count: 1 }),
    outcome: { kind: 'sent' },
  },
  {
    name: 'connection dropped',
    fault: patchFault({ kind: 'drop', count: 1 }),
    outcome: { kind: 'sent' },
  },
  {
    name: '400 invalidRequest: refused for good',
    fault: onPatch(400, 'invalidRequest', 'details.dealValue must be positive.', 9),
    outcome: {
      kind: 'quarantined',
      reason: /^Partner Center refused accept: .*details\.dealValue must be positive\./,
    },
  },
  {
    name: '422 refused for good',
    fault: onPatch(422, 'unprocessableEntity', 'closingDateTime is in the past.', 9),
    outcome: {
      kind: 'quarantined',
      reason: /^Partner Center refused accept: .*closingDateTime is in the past\./,
    },
  },
  {
    name: '401 token refused: retried later',
    fault: onPatch(401, 'Unauthorized', 'Access token has expired.', 9),
    outcome: { kind: 'failed', error: /401/ },
  },
  {
    name: '403 role lacks write: retried later',
    fault: onPatch(403, 'Forbidden', 'Referral Admin role required.', 9),
    outcome: { kind: 'failed', error: /403/ },
  },
  {
    name: 'closed meanwhile (expired): never written',
    before: (r) => void harness.pc.store.update(r.id, { status: 'Closed', substatus: 'Expired' }),
    outcome: { kind: 'superseded', reason: /archived referrals are never written/ },
  },
  {
    name: 'closed meanwhile (declined in the portal)',
    before: (r) => void harness.pc.store.update(r.id, { status: 'Closed', substatus: 'Declined' }),
    outcome: { kind: 'superseded', reason: /archived referrals are never written/ },
  },
  {
    name: 'illegal transition: declined in the CRM, accepted in the portal',
    crm: 'disqualify',
    before: (r) => void harness.pc.store.update(r.id, { status: 'Active', substatus: 'Accepted' }),
    outcome: { kind: 'superseded', reason: /no legal transition leads from Active\/Accepted/ },
  },
  {
    name: 'accept without a deal value: quarantined naming dealValue',
    details: { dealValue: null },
    outcome: { kind: 'quarantined', reason: /dealValue is missing to accept the referral/ },
  },
  {
    name: 'accept without a close date: quarantined naming closingDateTime',
    details: { closingDateTime: null },
    outcome: { kind: 'quarantined', reason: /closingDateTime is missing to accept the referral/ },
  },
];

function referral(label: string, details: Record<string, unknown> = {}): Referral {
  return newCustomerInquiry(harness.pc.store, {
    name: `${label} deal`,
    customerProfile: { name: `${label} Ltd`, team: [{ lastName: 'Doe' }] },
    details: {
      dealValue: 5000,
      currency: 'EUR',
      closingDateTime: '2027-06-30T00:00:00Z',
      ...details,
    },
  });
}

async function crmOutcome(id: string, action: 'qualify' | 'disqualify'): Promise<void> {
  const lead = harness.dynamics.store.findLeadByKey(id)!;
  const path = action === 'qualify' ? 'qualify' : 'state';
  const body = action === 'qualify' ? {} : { statecode: 2, statuscode: 4 };
  const response = await fetch(
    `${harness.dynamics.url}/_sim/leads/${String(lead.leadid)}/${path}`,
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    },
  );
  expect(response.ok).toBe(true);
}

async function rowOf(id: string) {
  return (await listOutbox(runtime.ledger.db, id)).find(
    (row) => row.action !== 'set-external-reference',
  );
}

describe('bad input: Partner Center refuses an outcome (one bad referral among three)', () => {
  it.each(CASES.map((c, i) => [i + 1, c.name, c] as const))('%i. %s', async (_n, name, c) => {
    const bad = referral(`Bad ${name}`, c.details);
    const good = [referral(`Good A ${name}`), referral(`Good B ${name}`)];
    await runtime.syncOnce({ runId: `setup-${_n}` });
    const action = c.crm ?? 'qualify';
    for (const r of [bad, ...good]) await crmOutcome(r.id, r === bad ? action : 'qualify');
    // The outcome is queued first; Partner Center then changes or refuses before the send.
    await runtime.inbound.runCycle({ runId: `outcome-${_n}` });
    await runtime.outbound.collect({ runId: `outcome-${_n}` });
    c.before?.(harness.pc.store.get(bad.id)!);
    if (c.fault) harness.pc.server.faults.configure({ rules: [c.fault(bad.id)] });
    try {
      const { ledger, source, targets } = runtime;
      const runId = `outcome-${_n}`;
      await drainOutboxActions(
        { ledger, source, targets, runId, concurrency: 8 },
        emptyOutboundStats(),
      );
    } finally {
      harness.pc.server.faults.clear();
    }
    const row = await rowOf(bad.id);
    const shown = harness.pc.store.get(bad.id)!;
    switch (c.outcome.kind) {
      case 'sent':
        expect(row?.state).toBe('sent');
        expect(shown).toMatchObject({ status: 'Active', substatus: 'Accepted' });
        break;
      case 'superseded':
        expect(row?.state).toBe('superseded');
        expect(
          (await auditTrail(runtime.ledger.db, bad.id)).find(
            (e) => e.action === 'outcome-superseded',
          )?.detail?.reason,
        ).toMatch(c.outcome.reason);
        // What the CRM outcome would have written never reached the referral.
        expect(shown.substatus).not.toBe(c.crm === 'disqualify' ? 'Declined' : 'Accepted');
        break;
      case 'quarantined':
        expect(row?.state).toBe('quarantined');
        expect(row?.lastError).toMatch(c.outcome.reason);
        expect(shown.status).toBe('New');
        break;
      case 'failed':
        expect(row?.state).toBe('failed');
        expect(row?.lastError).toMatch(c.outcome.error);
        expect(shown.status).toBe('New');
        break;
    }
    // The batch-mates' accepts reached Partner Center, once.
    for (const r of good) {
      expect(harness.pc.store.get(r.id)).toMatchObject({ status: 'Active', substatus: 'Accepted' });
      expect((await rowOf(r.id))?.state).toBe('sent');
    }
  });
});
