// Both CRM targets fed from the same poll, each with its own ledger state; one failing does not
// stop the other.
import { afterEach, describe, expect, it } from 'vitest';
import { collectStatus, formatStatus } from '../../src/cli/status.js';
import { auditTrail } from '../../src/ledger/index.js';
import { LEAD } from '../../src/simulators/salesforce/index.js';
import { startHarness, type Harness } from './support/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

/**
 * How many of the first N referrals seed 7 generates the default config syncs (the rest: co-sell or
 * archived).
 */
const SYNCED_OF: Readonly<Record<number, number>> = { 20: 19, 120: 111, 230: 216 };

function syncableCount(h: Harness): number {
  const synced = SYNCED_OF[h.pc.store.all().length];
  if (synced === undefined) throw new Error('no figure for this many seeded referrals');
  return synced;
}

describe('Dynamics 365 and Salesforce from one poll', () => {
  it('syncs every lead into both CRMs and status shows both', async () => {
    harness = await startHarness({ referrals: 230, salesforce: true });
    const runtime = await harness.runtime();
    const result = await runtime.syncOnce({ runId: 'both' });
    const expected = syncableCount(harness);

    expect(result.inbound.byTarget.dynamics).toMatchObject({
      created: expected,
      failed: 0,
      quarantined: 0,
    });
    expect(result.inbound.byTarget.salesforce).toMatchObject({
      created: expected,
      failed: 0,
      quarantined: 0,
    });
    expect(harness.dynamics.store.leads.size).toBe(expected);
    expect(harness.salesforce!.store.count(LEAD)).toBe(expected);
    // The Salesforce org has State and Country/Territory Picklists on (a new org's default): the
    // codes went into
    // CountryCode / StateCode; states the org does not list (Bavaria, Île-de-France...) were left
    // out, not the leads.
    const salesforceLeads = [...harness.salesforce!.store.rows(LEAD)];
    expect(salesforceLeads.filter((row) => typeof row.CountryCode === 'string')).toHaveLength(
      expected,
    );
    const address = (city: string) => salesforceLeads.find((row) => row.City === city);
    expect(address('Seattle')).toMatchObject({
      Country: 'United States',
      CountryCode: 'US',
      State: 'Washington',
      StateCode: 'WA',
    });
    expect(address('Toronto')).toMatchObject({
      CountryCode: 'CA',
      State: 'Ontario',
      StateCode: 'ON',
    });
    expect(address('London')).toMatchObject({ Country: 'United Kingdom', CountryCode: 'GB' });
    expect(address('Berlin')).toMatchObject({ Country: 'Germany', CountryCode: 'DE' });
    expect(address('Berlin')?.State).toBeUndefined();
    // Salesforce gets collection upserts of up to 200 records: two calls for this page count.
    const collectionCalls = harness
      .salesforce!.server.requests()
      .filter((r) => r.method === 'PATCH' && r.path.includes('/composite/sobjects/Lead/'));
    expect(collectionCalls).toHaveLength(Math.ceil(expected / 200));
    // Only the first target's record id goes to externalReferenceId.
    const lead = [...harness.dynamics.store.leads.values()][0]!;
    expect(harness.pc.store.get(String(lead.lb_referralid))!.externalReferenceId).toBe(lead.leadid);

    const status = await collectStatus(runtime.config, runtime.ledger, 'test ledger');
    expect(status.targets.map((t) => [t.name, t.states.applied])).toEqual([
      ['dynamics', expected],
      ['salesforce', expected],
    ]);

    // The write-back echo is quiet for both targets.
    const quiet = await runtime.syncOnce({ runId: 'again' });
    expect(quiet.inbound.byTarget.salesforce).toMatchObject({
      created: 0,
      updated: 0,
      unchanged: 0,
    });
    expect(quiet.inbound.byTarget.dynamics).toMatchObject({ created: 0, updated: 0, unchanged: 0 });
  });

  it(
    'a target that fails as a whole sits out; the other proceeds, and the failed one catches ' +
      'up next run',
    async () => {
      harness = await startHarness({ referrals: 120, salesforce: true });
      harness.salesforce!.setApiUsage(1_000_000); // the org's daily API allocation is used up
      const runtime = await harness.runtime();
      const first = await runtime.syncOnce({ runId: 'sf-down' });
      const expected = syncableCount(harness);
      expect(first.inbound.targetsDown).toBe(1);
      expect(first.inbound.byTarget.dynamics).toMatchObject({ created: expected });
      expect(harness.salesforce!.store.count(LEAD)).toBe(0);

      harness.salesforce!.setApiUsage(0);
      const second = await runtime.syncOnce({ runId: 'sf-back' });
      expect(second.inbound.targetsDown).toBe(0);
      expect(second.inbound.byTarget.salesforce).toMatchObject({ created: expected, failed: 0 });
      expect(second.inbound.byTarget.dynamics).toMatchObject({ created: 0, updated: 0 });
      expect(harness.salesforce!.store.count(LEAD)).toBe(expected);
      const someone = [...harness.dynamics.store.leads.values()][0]!;
      const trail = await auditTrail(runtime.ledger.db, String(someone.lb_referralid));
      expect(trail.filter((e) => e.action === 'created').map((e) => e.target)).toEqual([
        'dynamics',
        'salesforce',
      ]);
    },
  );

  it(
    'past the configured share of the daily API allocation, Salesforce outcome reads stop, ' +
      'writes go on, and status says so',
    async () => {
      harness = await startHarness({ referrals: 20, salesforce: true });
      harness.salesforce!.setApiUsage(85_000); // of 100,000: past the default maxDailyApiShare 0.8
      const runtime = await harness.runtime();
      const first = await runtime.syncOnce({ runId: 'share-used' });
      const expected = syncableCount(harness);
      expect(first.inbound.byTarget.salesforce).toMatchObject({ created: expected, failed: 0 });
      const queries = () =>
        harness.salesforce!.server.requests().filter((r) => r.path.includes('/query'));
      expect(queries()).toHaveLength(0);
      const report = formatStatus(
        await collectStatus(runtime.config, runtime.ledger, 'test ledger'),
      );
      expect(report).toMatch(
        new RegExp(
          String.raw`\n {4}API requests: 850\d\d\/100000 used \(85%\), past the 80% share:` +
            String.raw` outcome reads paused until the allocation frees up \(seen `,
        ),
      );

      harness.salesforce!.setApiUsage(1_000);
      await runtime.syncOnce({ runId: 'share-free' });
      expect(queries().length).toBeGreaterThan(0);
      const after = formatStatus(
        await collectStatus(runtime.config, runtime.ledger, 'test ledger'),
      );
      expect(after).toMatch(
        /\n {4}API requests: 10\d\d\/100000 used \(1%\), within the 80% share \(seen /,
      );
    },
  );
});
