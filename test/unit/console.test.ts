// The console's pure parts: lead order, response weeks, reason groups, issue rows, charts, access.
import { describe, expect, it } from 'vitest';
import type { ReferralFacts } from '../../src/ledger/index.js';
import { leadsNeedingHuman, weekOf, weeklyResponseTimes } from '../../src/console/leads.js';
import { duration, when } from '../../src/console/layout.js';
import { fieldOfIssue } from '../../src/console/mappings.js';
import { apiChartSeries, bucketsBetween } from '../../src/console/overview.js';
import { reasonKey } from '../../src/console/quarantine.js';
import { timelineOf } from '../../src/console/referral.js';
import { assertAccessIsSafe, isLoopback } from '../../src/console/security.js';

function facts(id: string, fields: Partial<ReferralFacts>): ReferralFacts {
  return {
    referralId: id,
    customerName: `Customer ${id}`,
    leadKind: 'customerInquiry',
    hot: false,
    status: 'New',
    substatus: 'Received',
    receivedAt: '2026-12-01T00:00:00.000Z',
    answeredAt: null,
    referralUpdatedAt: null,
    ...fields,
  };
}

describe('leads that need a human', () => {
  const now = new Date('2026-12-10T00:00:00.000Z');

  it('puts hot leads first, then the least time left before the 14-day expiry', () => {
    const leads = leadsNeedingHuman(
      [
        facts('a', { receivedAt: '2026-12-09T00:00:00.000Z' }),
        facts('b', { receivedAt: '2026-11-27T12:00:00.000Z' }),
        facts('c', { receivedAt: '2026-12-08T00:00:00.000Z', hot: true }),
        facts('d', { receivedAt: '2026-12-09T12:00:00.000Z', hot: true }),
        facts('e', { receivedAt: '2026-11-20T00:00:00.000Z', answeredAt: '2026-11-21T00:00:00Z' }),
      ],
      now,
    );
    expect(leads.map((l) => l.facts.referralId)).toEqual(['c', 'd', 'b', 'a']);
    expect(leads[0]).toMatchObject({
      waitedMs: 2 * 86_400_000,
      timeLeftMs: 12 * 86_400_000,
      hotWindowLeftMs: 24 * 3_600_000,
    });
    expect(leads[2]).toMatchObject({ timeLeftMs: 36 * 3_600_000, hotWindowLeftMs: null });
  });

  it('groups response times by the Monday of the week of receipt, against 72 h', () => {
    const weeks = weeklyResponseTimes([
      facts('a', { receivedAt: '2026-11-30T08:00:00Z', answeredAt: '2026-11-30T10:00:00Z' }),
      facts('b', { receivedAt: '2026-12-02T00:00:00Z', answeredAt: '2026-12-06T00:00:00Z' }),
      facts('c', { receivedAt: '2026-12-06T00:00:00Z', answeredAt: '2026-12-06T06:00:00Z' }),
      facts('d', { receivedAt: '2026-12-07T00:00:00Z', answeredAt: '2026-12-07T01:30:00Z' }),
      facts('e', { receivedAt: '2026-12-08T00:00:00Z' }),
    ]);
    expect(weeks).toEqual([
      { week: '2026-11-30', answered: 3, medianHours: 6, slowestHours: 96, over72h: 1 },
      { week: '2026-12-07', answered: 1, medianHours: 1.5, slowestHours: 1.5, over72h: 0 },
    ]);
    expect(weekOf('2026-12-06T23:59:59Z')).toBe('2026-11-30');
    expect(weekOf('2026-12-07T00:00:00Z')).toBe('2026-12-07');
  });
});

describe('quarantine reasons', () => {
  it('groups mapping failures by the fields they name', () => {
    expect(
      reasonKey('mapping failed: companyname: a value is required; lastname: a value is required'),
    ).toBe('mapping failed: companyname, lastname');
    expect(reasonKey('mapping failed: companyname: a value is required')).toBe(
      'mapping failed: companyname',
    );
  });

  it('takes ids, numbers and quoted values out of other reasons', () => {
    expect(
      reasonKey(
        'the CRM rejected it 5 times: record 6f1e2d3c-4b5a-4978-8a69-5b4c3d2e1f00 ' +
          'field "Email" invalid',
      ),
    ).toBe('the CRM rejected it N times: record … field "…" invalid');
  });
});

describe('mapping issues on their rows', () => {
  it('names the CRM field of a field issue, none for the file as a whole', () => {
    expect(fieldOfIssue({ path: 'fields.emial' })).toBe('emial');
    expect(fieldOfIssue({ path: 'fields.Rating.transforms[0].lookup.false' })).toBe('Rating');
    expect(fieldOfIssue({ path: 'entity' })).toBeNull();
  });
});

describe('API call chart', () => {
  it('fills every 5-minute bucket of every API, zero where nothing was recorded', () => {
    const buckets = bucketsBetween(
      new Date('2026-12-04T10:03:00Z'),
      new Date('2026-12-04T10:16:00Z'),
    );
    expect(buckets).toEqual([
      '2026-12-04T10:00:00.000Z',
      '2026-12-04T10:05:00.000Z',
      '2026-12-04T10:10:00.000Z',
      '2026-12-04T10:15:00.000Z',
    ]);
    const series = apiChartSeries(
      [
        {
          bucket: '2026-12-04T10:05:00.000Z',
          api: 'salesforce',
          calls: 4,
          throttled: 1,
          errors: 0,
        },
        {
          bucket: '2026-12-04T10:00:00.000Z',
          api: 'dynamics365',
          calls: 7,
          throttled: 0,
          errors: 2,
        },
      ],
      buckets,
    );
    expect(series).toEqual({
      labels: ['10:00', '10:05', '10:10', '10:15'],
      apis: [
        { api: 'dynamics365', calls: [7, 0, 0, 0], throttled: [0, 0, 0, 0], errors: [2, 0, 0, 0] },
        { api: 'salesforce', calls: [0, 4, 0, 0], throttled: [0, 1, 0, 0], errors: [0, 0, 0, 0] },
      ],
    });
  });
});

describe('timeline of one referral', () => {
  it('interleaves audit entries and outbox rows by time, with the reason of each', () => {
    const timeline = timelineOf(
      [
        {
          at: '2026-12-04T10:00:00.000Z',
          runId: 'r1',
          referralId: 'x',
          target: 'dynamics',
          action: 'quarantined',
          detail: { reason: 'mapping failed: companyname: a value is required' },
        },
        {
          at: '2026-12-04T10:10:00.000Z',
          runId: 'console-1',
          referralId: 'x',
          target: null,
          action: 'retry-requested',
          detail: { who: 'ana (console, from 127.0.0.1)', via: 'console' },
        },
      ],
      [
        {
          id: 1,
          referralId: 'x',
          target: 'dynamics',
          action: 'accept',
          payload: {},
          state: 'quarantined',
          attempts: 0,
          lastError: 'accept needs closingDateTime',
          lastErrorCode: null,
          nextAttemptAt: null,
          runId: 'r1',
          createdAt: '2026-12-04T10:05:00.000Z',
          updatedAt: '2026-12-04T10:05:00.000Z',
          sentAt: null,
          dedupeKey: 'k',
          claimedBy: null,
          leaseUntil: null,
        },
      ],
    );
    expect(timeline).toEqual([
      {
        at: '2026-12-04T10:00:00.000Z',
        source: 'audit',
        target: 'dynamics',
        what: 'quarantined',
        why: 'reason: mapping failed: companyname: a value is required',
      },
      {
        at: '2026-12-04T10:05:00.000Z',
        source: 'outbox',
        target: 'dynamics',
        what: 'accept: quarantined',
        why: 'accept needs closingDateTime',
      },
      {
        at: '2026-12-04T10:10:00.000Z',
        source: 'audit',
        target: null,
        what: 'retry-requested',
        why: 'who: ana (console, from 127.0.0.1)',
      },
    ]);
  });
});

describe('console access', () => {
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.0.3.4', '::1', 'localhost'].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '10.0.0.5', 'example.org'].map(isLoopback)).toEqual([false, false, false]);
  });

  it('refuses another bind without an admin token of 16 characters or more', () => {
    expect(() => assertAccessIsSafe({ bindHost: '0.0.0.0', token: null, localUser: 'x' })).toThrow(
      'the console would listen on 0.0.0.0, which is not loopback: set LEADBRIDGE_CONSOLE_TOKEN',
    );
    expect(() =>
      assertAccessIsSafe({ bindHost: '0.0.0.0', token: 'short', localUser: 'x' }),
    ).toThrow('at least 16 characters');
    expect(() =>
      assertAccessIsSafe({ bindHost: '0.0.0.0', token: 'a'.repeat(24), localUser: 'x' }),
    ).not.toThrow();
    expect(() =>
      assertAccessIsSafe({ bindHost: '127.0.0.1', token: null, localUser: 'x' }),
    ).not.toThrow();
  });
});

describe('formatting', () => {
  it('says durations and instants for people', () => {
    expect(duration(42_000)).toBe('42 s');
    expect(duration(5 * 60_000 + 3_000)).toBe('5 min 3 s');
    expect(duration(3 * 3_600_000 + 12 * 60_000)).toBe('3 h 12 min');
    expect(duration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(when('2026-12-04T17:24:39.123Z')).toBe('2026-12-04 17:24 UTC');
    expect(when(null)).toBe('-');
  });
});
