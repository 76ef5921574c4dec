// resync --since only widens what the next pass reads: the cursor moves back, never forward; a
// future date is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { formatResync, prepareResync } from '../../src/sync/operator.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import { getCursor, setCursor } from '../../src/ledger/index.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

let harness: Harness;
afterEach(async () => harness?.close());

const CURSOR = 'partner-center:dynamics';
const NOW = new Date('2026-12-04T12:00:00.000Z');

/** A New customer inquiry (synced by default). */
function inquiry(name: string): Referral {
  return newCustomerInquiry(harness.pc.store, { customerProfile: { name } });
}

describe('resync --since', () => {
  it(
    'refuses a future date, naming the option and the value, and leaves the cursor where it ' +
      'was',
    async () => {
      harness = await startHarness({ referrals: 0 });
      const runtime = await harness.runtime();
      await setCursor(runtime.ledger.db, CURSOR, '2026-12-01T08:00:00.0000000Z');
      await expect(
        prepareResync(runtime.ledger, runtime.config, { since: '2099-01-01' }, NOW),
      ).rejects.toThrow(
        'invalid --since:\n  - --since: "2099-01-01" is in the future (now ' +
          '2026-12-04T12:00:00.000Z): a resync re-reads what Partner Center already has, so it ' +
          'can only reach back',
      );
      await expect(
        prepareResync(runtime.ledger, runtime.config, { since: '2026-02-30' }, NOW),
      ).rejects.toThrow('--since: "2026-02-30" is not a calendar date');
      expect(await getCursor(runtime.ledger.db, CURSOR)).toBe('2026-12-01T08:00:00.0000000Z');
    },
  );

  it('moves the cursor back to an earlier date', async () => {
    harness = await startHarness({ referrals: 0 });
    const runtime = await harness.runtime();
    await setCursor(runtime.ledger.db, CURSOR, '2026-12-01T08:00:00.0000000Z');
    const result = await prepareResync(
      runtime.ledger,
      runtime.config,
      { since: '2026-11-15' },
      NOW,
    );
    expect(result).toEqual({
      dynamics: {
        forgotten: 0,
        cursorBefore: '2026-12-01T08:00:00.0000000Z',
        cursorAfter: '2026-11-15T00:00:00.0000000Z',
      },
    });
    expect(await getCursor(runtime.ledger.db, CURSOR)).toBe('2026-11-15T00:00:00.0000000Z');
    expect(formatResync(result, '2026-11-15')).toBe(
      'dynamics: resync of 0 linked referrals updated since 2026-11-15; cursor moved back from ' +
        '2026-12-01T08:00:00.0000000Z to 2026-11-15T00:00:00.0000000Z\n',
    );
  });

  it(
    'a past date after the cursor keeps the cursor, so a change between the two still reaches ' +
      'the CRM',
    async () => {
      harness = await startHarness({ referrals: 0 });
      // No overlap: the test shows what the cursor alone lets through.
      const runtime = await harness.runtime((config) => ({
        ...config,
        source: { partnerCenter: { ...config.source.partnerCenter, overlapSeconds: 0 } },
      }));
      const first = inquiry('Contoso Pharma');
      await runtime.syncOnce({ runId: 'initial' });
      const cursor = await getCursor(runtime.ledger.db, CURSOR);
      expect(cursor).not.toBeNull();

      await new Promise((resolve) => setTimeout(resolve, 20));
      const late = inquiry('Northwind Traders'); // changed after the cursor
      await new Promise((resolve) => setTimeout(resolve, 20));
      const since = new Date().toISOString(); // after that change, still in the past
      const result = await prepareResync(runtime.ledger, runtime.config, { since });
      expect(result.dynamics).toEqual({ forgotten: 0, cursorBefore: cursor, cursorAfter: cursor });
      expect(await getCursor(runtime.ledger.db, CURSOR)).toBe(cursor);
      expect(formatResync(result, since)).toContain(
        `cursor kept at ${cursor} (already before --since, so the window is re-read from there)`,
      );

      await runtime.syncOnce({ runId: 'after-resync' });
      expect(harness.dynamics.store.findLeadByKey(late.id)?.companyname).toBe('Northwind Traders');
      expect(harness.dynamics.store.findLeadByKey(first.id)?.companyname).toBe('Contoso Pharma');
    },
  );
});
