// Shared pieces of the bad-input suites: a batch of referrals with one bad apple, an engine on a
// test clock.
import { getSyncStates, type SyncStateRow } from '../../../src/ledger/index.js';
import type { Referral } from '../../../src/simulators/partner-center/payload.js';
import { expect } from 'vitest';
import type { Runtime } from '../../../src/sync/cycle.js';
import { InboundSync } from '../../../src/sync/inbound.js';
import type { InboundStats } from '../../../src/sync/types.js';
import type { Harness } from '../support/harness.js';
import { newCustomerInquiry } from '../support/referrals.js';

/** Two referrals that carry nothing wrong: they must land whatever happens to their batch-mate. */
export function goodPair(harness: Harness, label: string): Referral[] {
  return [1, 2].map((n) =>
    newCustomerInquiry(harness.pc.store, {
      name: `${label} deal ${n}`,
      customerProfile: {
        name: `${label} Company ${n}`,
        team: [{ firstName: 'Ana', lastName: `Good${n}`, email: `good${n}@example.com` }],
      },
    }),
  );
}

/**
 * An inbound engine over the runtime's parts whose clock the test moves (retries come due, attempts
 * run out).
 */
export class ClockedInbound {
  private nowMs = Date.parse('2027-01-04T08:00:00Z');
  private runs = 0;
  readonly engine: InboundSync;

  constructor(readonly runtime: Runtime) {
    this.engine = new InboundSync({
      ledger: runtime.ledger,
      source: runtime.source,
      targets: runtime.targets,
      writeBackTarget: null,
      referralLink: (id) => `https://partner.microsoft.com/referrals/${id}`,
      now: () => new Date(this.nowMs),
    });
  }

  /**
   * One inbound cycle, `hours` after the previous one (a failed write's retry is due within 1
   * hour).
   */
  cycle(hours = 0): Promise<InboundStats> {
    this.nowMs += hours * 3_600_000;
    return this.engine.runCycle({ runId: `bad-input-${++this.runs}` });
  }

  async state(target: string, referralId: string): Promise<SyncStateRow | undefined> {
    return (await getSyncStates(this.runtime.ledger.db, target, [referralId])).get(referralId);
  }

  /**
   * Cycles until the referral is quarantined or applied (at most `limit`), each 2 hours after the
   * last.
   */
  async settle(target: string, referralId: string, limit = 8): Promise<SyncStateRow | undefined> {
    for (let i = 0; i < limit; i++) {
      const state = await this.state(target, referralId);
      if (state?.state === 'quarantined' || state?.state === 'applied') return state;
      await this.cycle(2);
    }
    return this.state(target, referralId);
  }
}

/** Makes a CRM simulator refuse writes to the record keyed `key` with `rule` (/_sim/refusals). */
export async function refuse(
  simulatorUrl: string,
  key: string,
  rule: Record<string, unknown>,
): Promise<void> {
  const response = await fetch(`${simulatorUrl}/_sim/refusals`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ rules: [{ key, ...rule }] }),
  });
  expect(response.status).toBe(200);
}
