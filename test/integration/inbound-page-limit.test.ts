// A page-bounded cycle (cluster mode's maxPagesPerCycle) still moves on when a burst of changes
// larger than its page budget falls inside the source's overlap window.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('page-bounded inbound cycles', () => {
  it('catch up on 250 referrals changed in one overlap window, one page a cycle', async () => {
    harness = await startHarness({ referrals: 0 });
    // One burst: all 250 carry (nearly) the same updatedDateTime, well inside the 60 s overlap.
    for (let i = 0; i < 250; i++) newCustomerInquiry(harness.pc.store, { name: `burst ${i}` });
    const runtime = await harness.runtime();
    const more: boolean[] = [];
    for (let cycle = 1; cycle <= 8; cycle++) {
      const result = await runtime.syncOnce({ runId: `bounded-${cycle}`, maxPages: 1 });
      more.push(result.inbound.more);
      if (!result.inbound.more) break;
    }
    // Each cycle's cursor must pass the previous one: without that, every cycle re-read the same
    // first page of the window and reported more, for ever. (The stream holds each referral
    // twice: created, then its CRM id written back.)
    expect(more.at(-1)).toBe(false);
    expect(harness.dynamics.store.leads.size).toBe(250);
  });
});
