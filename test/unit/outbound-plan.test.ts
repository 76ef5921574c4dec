// Unit tests of the outbound decisions: outcome → outbox rows, quarantine of incomplete outcomes,
// re-planning a row, expiries.
import { describe, expect, it } from 'vitest';
import type { Referral } from '../../src/core/referral.js';
import type { CrmRecordState } from '../../src/crm/adapter.js';
import type { Link, OutboxRow, OutboxState } from '../../src/ledger/index.js';
import { parseMapping } from '../../src/mapping/index.js';
import { checkAction, readOutcomePayload } from '../../src/sync/actions/outcome.js';
import { expiredReflections } from '../../src/sync/actions/reflect-expired.js';
import {
  decideOutcome,
  outcomeOf,
  reconcileRows,
  recordView,
  type OutcomeDecision,
} from '../../src/sync/outbound-plan.js';

/**
 * The default mapping's status rules, with gaps to test: no loss reason default, no notes default.
 */
const MAPPING = parseMapping(
  `
version: 1
target: dynamics365
entity: lead
defaults: { currency: USD }
fields:
  lb_referralid: { source: $referralId }
status:
  accepted:
    - { entity: lead, when: { statecode: 1 } }
    - { entity: opportunity, when: { statecode: 0 } }
  declined: { entity: lead, when: { statecode: 2 } }
  won: { entity: opportunity, when: { statecode: 1 } }
  lost: { entity: opportunity, when: { statecode: 2 } }
  declineReasons: { field: lead.statuscode, map: { 5: "Customer didn't respond" }, default: Others }
  lossReasons: { field: opportunity.statuscode, map: { 5: Customer chose another vendor } }
  acceptFields:
    dealName: { source: [opportunity.name, referral.name], transforms: [trim, required] }
    dealValue:
      source: [opportunity.estimatedvalue, referral.details.dealValue]
      transforms: [number, required]
    currency: { source: referral.details.currency, transforms: [trim, upper] }
    closingDateTime:
      source: [opportunity.estimatedclosedate, referral.details.closingDateTime]
      transforms: [required, { date: iso }]
    notes: { source: [opportunity.description, referral.details.notes], transforms: [trim] }
  expiredReflection: { statecode: 2, statuscode: 7 }
`,
  'inline.yaml',
);

const REFERRAL = {
  id: 'R1',
  status: 'New',
  substatus: 'Received',
  eTag: '"e1"',
  name: 'Fabrikam - ERP',
  createdDateTime: '2026-01-01T00:00:00Z',
  updatedDateTime: '2026-01-01T00:00:00Z',
  details: { notes: 'Needs an ERP', currency: 'eur' },
} as Referral;

function record(
  lead: Record<string, unknown> | null,
  opportunity: Record<string, unknown> | null = null,
): CrmRecordState {
  return {
    referralId: 'R1',
    recordId: 'L1',
    entity: lead ? 'lead' : 'opportunity',
    modifiedAt: '2026-02-01T00:00:00Z',
    fields: lead ?? opportunity ?? {},
    opportunity:
      lead && opportunity
        ? { recordId: 'O1', modifiedAt: '2026-02-01T00:00:00Z', fields: opportunity }
        : null,
  };
}

function decide(state: CrmRecordState, referral: Partial<Referral> = {}): OutcomeDecision {
  const fresh = { ...REFERRAL, ...referral } as Referral;
  return decideOutcome(
    'd365',
    fresh,
    state.recordId,
    MAPPING.readOutcome(recordView(state, fresh)),
  );
}

const OPEN_DEAL = {
  statecode: 0,
  name: 'ERP rollout',
  estimatedvalue: 84000,
  estimatedclosedate: '2026-09-30',
  description: '40 seats',
};

describe('outcomeOf', () => {
  it('reads the most advanced outcome from the CRM fields alone', () => {
    expect(outcomeOf(MAPPING, record({ statecode: 0 }))).toBeNull();
    expect(outcomeOf(MAPPING, record({ statecode: 1 }, { ...OPEN_DEAL, statecode: 1 }))).toBe(
      'won',
    );
    expect(outcomeOf(MAPPING, record({ statecode: 2, statuscode: 7 }))).toBe('declined');
    expect(outcomeOf(MAPPING, record(null, { statecode: 2 }))).toBe('lost');
  });
});

describe('decideOutcome', () => {
  it(
    'queues an accept with the five fields Partner Center requires, keyed by target, referral ' +
      'and action',
    () => {
      const decision = decide(record({ statecode: 1 }, OPEN_DEAL));
      expect(decision).toEqual({
        kind: 'enqueue',
        outcome: 'accepted',
        actions: ['accept'],
        rows: [
          {
            referralId: 'R1',
            target: 'd365',
            action: 'accept',
            dedupeKey: 'd365:R1:accept',
            payload: {
              outcome: 'accepted',
              crmRecordId: 'L1',
              fields: {
                dealName: 'ERP rollout',
                dealValue: 84000,
                currency: 'EUR',
                closingDateTime: '2026-09-30T00:00:00.000Z',
                notes: '40 seats',
              },
            },
          },
        ],
      });
    },
  );

  it('a deal won while the referral is New queues accept, then win', () => {
    const decision = decide(record({ statecode: 1 }, { ...OPEN_DEAL, statecode: 1 }));
    expect(
      decision.kind === 'enqueue' &&
        decision.rows.map((r) => [r.action, r.dedupeKey, r.payload.fields]),
    ).toEqual([
      [
        'accept',
        'd365:R1:accept',
        {
          dealName: 'ERP rollout',
          dealValue: 84000,
          currency: 'EUR',
          closingDateTime: '2026-09-30T00:00:00.000Z',
          notes: '40 seats',
        },
      ],
      ['win', 'd365:R1:win', {}],
    ]);
  });

  it('declines with the mapped reason', () => {
    const decision = decide(record({ statecode: 2, statuscode: 5 }));
    expect(
      decision.kind === 'enqueue' && decision.rows.map((r) => [r.action, r.payload.fields]),
    ).toEqual([['decline', { reason: "Customer didn't respond" }]]);
  });

  it(
    'sends nothing when the referral already shows the outcome, or when no legal transition ' +
      'leads there',
    () => {
      expect(
        decide(record({ statecode: 1 }, OPEN_DEAL), { status: 'Active', substatus: 'Accepted' }),
      ).toEqual({ kind: 'none', why: 'reflected', outcome: 'accepted' });
      expect(
        decide(record({ statecode: 2, statuscode: 7 }), { status: 'Closed', substatus: 'Expired' }),
      ).toEqual({ kind: 'none', why: 'no-legal-path', outcome: 'declined' });
      expect(
        decide(record({ statecode: 2, statuscode: 4 }), {
          status: 'Active',
          substatus: 'Accepted',
        }),
      ).toEqual({ kind: 'none', why: 'no-legal-path', outcome: 'declined' });
      expect(decide(record({ statecode: 0 }))).toEqual({
        kind: 'none',
        why: 'no-outcome',
        outcome: null,
      });
    },
  );

  it(
    'quarantines an accept without a deal value, naming the field and where it was looked ' + 'for',
    () => {
      const decision = decide(record({ statecode: 1 }, { ...OPEN_DEAL, estimatedvalue: null }));
      const reason =
        'the CRM record reads as accepted, but dealValue is missing to accept the referral ' +
        '(dealValue: value is required but opportunity.estimatedvalue | ' +
        'referral.details.dealValue is empty)';
      expect(decision).toMatchObject({
        kind: 'quarantine',
        outcome: 'accepted',
        actions: ['accept'],
        missing: ['dealValue'],
        reason,
      });
      expect(decision.kind === 'quarantine' && decision.row).toMatchObject({
        action: 'accept',
        payload: {
          outcome: 'accepted',
          actions: ['accept'],
          missing: ['dealValue'],
          reason,
          crmRecordId: 'L1',
        },
      });
      expect(decision.kind === 'quarantine' && decision.row.dedupeKey).toMatch(
        /^d365:R1:accept:quarantined:[0-9a-f]{12}$/,
      );
    },
  );

  it(
    'a lost deal of a New referral with no loss reason and no notes is quarantined whole, ' +
      'naming both gaps',
    () => {
      const decision = decide(
        record({ statecode: 1 }, { ...OPEN_DEAL, statecode: 2, statuscode: 4, description: null }),
        { details: {} },
      );
      expect(decision).toMatchObject({
        kind: 'quarantine',
        actions: ['accept', 'lose'],
        missing: ['notes', 'reason'],
        reason:
          'the CRM record reads as lost, but notes, reason are missing to accept and lose the ' +
          'referral ' +
          '(notes: the mapping gives no value; reason: 4 in opportunity.statuscode has no reason ' +
          'in status.lossReasons and there is no default)',
      });
      expect(decision.kind === 'quarantine' && decision.row.action).toBe('accept');
    },
  );
});

let nextId = 1;
function row(action: string, state: OutboxState, dedupeKey = `d365:R1:${action}`): OutboxRow {
  return {
    id: nextId++,
    referralId: 'R1',
    target: 'd365',
    action,
    payload: {},
    state,
    attempts: 0,
    lastError: null,
    lastErrorCode: null,
    nextAttemptAt: null,
    runId: null,
    claimedBy: null,
    leaseUntil: null,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    sentAt: null,
    dedupeKey,
  };
}

describe('reconcileRows', () => {
  const wonDeal = () => decide(record({ statecode: 1 }, { ...OPEN_DEAL, statecode: 1 }));

  it(
    'records the plan when nothing is recorded yet, and nothing more when every step has a ' +
      'live row',
    () => {
      expect(reconcileRows(wonDeal(), []).add.map((r) => r.dedupeKey)).toEqual([
        'd365:R1:accept',
        'd365:R1:win',
      ]);
      expect(reconcileRows(wonDeal(), [row('accept', 'sent'), row('win', 'pending')])).toEqual({
        retire: [],
        add: [],
      });
    },
  );

  it(
    'after a quarantined or refused step, retires the unsent rows and records the steps again ' +
      'in order, under new keys',
    () => {
      const refused = row('accept', 'quarantined');
      const waiting = row('win', 'pending');
      const other = row('set-external-reference', 'pending', 'set-external-reference:R1:L1');
      const change = reconcileRows(wonDeal(), [other, refused, waiting]);
      expect(change.retire).toEqual([refused, waiting]);
      expect(change.add.map((r) => [r.action, r.dedupeKey])).toEqual([
        ['accept', 'd365:R1:accept:2'],
        ['win', 'd365:R1:win:2'],
      ]);
    },
  );

  it('never records again a step that is sent or being sent', () => {
    const change = reconcileRows(wonDeal(), [row('accept', 'sending'), row('win', 'superseded')]);
    expect(change.add.map((r) => r.dedupeKey)).toEqual(['d365:R1:win:2']);
    expect(change.retire).toEqual([]);
  });

  it(
    'a quarantined reading replaces an earlier different one, and the same gap read again ' +
      'adds nothing',
    () => {
      const gap = decide(record({ statecode: 1 }, { ...OPEN_DEAL, estimatedvalue: null }));
      if (gap.kind !== 'quarantine') throw new Error('expected a quarantine');
      const earlier = row('accept', 'quarantined', 'd365:R1:accept:quarantined:000000000000');
      expect(reconcileRows(gap, [earlier])).toEqual({ retire: [earlier], add: [gap.row] });
      const same = row('accept', 'quarantined', gap.row.dedupeKey);
      expect(reconcileRows(gap, [same])).toEqual({ retire: [], add: [] });
    },
  );

  it('a reading with nothing to send retires quarantined rows only', () => {
    const stale = row('accept', 'quarantined');
    const none = decide(record({ statecode: 1 }, OPEN_DEAL), {
      status: 'Active',
      substatus: 'Accepted',
    });
    expect(reconcileRows(none, [stale, row('win', 'pending')])).toEqual({
      retire: [stale],
      add: [],
    });
  });
});

describe('checkAction', () => {
  it('sends only the next legal step; archived referrals are never written', () => {
    expect(checkAction('accept', 'won', { status: 'New', substatus: 'Received' })).toEqual({
      kind: 'send',
    });
    expect(checkAction('win', 'won', { status: 'Active', substatus: 'Accepted' })).toEqual({
      kind: 'send',
    });
    expect(checkAction('accept', 'won', { status: 'Active', substatus: 'Accepted' })).toEqual({
      kind: 'reflected',
    });
    expect(checkAction('accept', 'accepted', { status: 'Active', substatus: 'Accepted' })).toEqual({
      kind: 'reflected',
    });
    expect(checkAction('win', 'won', { status: 'New', substatus: 'Received' })).toEqual({
      kind: 'out-of-order',
      first: 'accept',
    });
    expect(checkAction('decline', 'declined', { status: 'Active', substatus: 'Accepted' })).toEqual(
      { kind: 'no-legal-path' },
    );
    expect(checkAction('win', 'won', { status: 'Closed', substatus: 'Won' })).toEqual({
      kind: 'closed',
      expired: false,
    });
    expect(checkAction('decline', 'declined', { status: 'Closed', substatus: 'Expired' })).toEqual({
      kind: 'closed',
      expired: true,
    });
  });
});

describe('readOutcomePayload', () => {
  it('reads what decideOutcome wrote and refuses anything else', () => {
    expect(readOutcomePayload({ outcome: 'won', fields: {}, crmRecordId: 'L1' })).toEqual({
      outcome: 'won',
      fields: {},
      crmRecordId: 'L1',
    });
    expect(readOutcomePayload({ outcome: 'maybe', fields: {} })).toBeNull();
    expect(readOutcomePayload({ outcome: 'won', fields: [] })).toBeNull();
  });
});

describe('expiredReflections', () => {
  const link = (referralId: string, crmRecordId: string | null): Link => ({
    referralId,
    target: 'd365',
    crmRecordId,
    referralETag: null,
    payloadHash: null,
    mappingVersion: null,
    referralUpdatedAt: null,
    leadKind: null,
    referralStatus: null,
    crmModifiedAt: null,
    createdAt: '',
    updatedAt: '',
  });

  it(
    'asks for one reflection per expired referral that has a CRM record on the links’ ' + 'target',
    () => {
      const links = new Map([
        ['A', link('A', 'LA')],
        ['B', link('B', 'LB')],
        ['C', link('C', null)],
      ]);
      const items = [
        { referral: { id: 'A', status: 'Closed', substatus: 'Expired' } },
        { referral: { id: 'B', status: 'Closed', substatus: 'Declined' } },
        { referral: { id: 'C', status: 'Closed', substatus: 'Expired' } },
        { referral: { id: 'D', status: 'Closed', substatus: 'Expired' } },
        { referral: { id: 'E', status: 'New', substatus: 'Received' } },
      ];
      expect(expiredReflections(items, links)).toEqual([
        {
          referralId: 'A',
          target: 'd365',
          action: 'reflect-expired',
          payload: { crmRecordId: 'LA' },
          dedupeKey: 'd365:A:reflect-expired',
        },
      ]);
    },
  );
});
