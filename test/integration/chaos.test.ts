// The chaos suite's short version (CI): a few SIGKILLs during backfill and outcome sends, faults on
// every API.
import { describe, expect, it } from 'vitest';
import { formatChaosReport } from '../../scripts/chaos/report.js';
import { runChaos, type ChaosOptions, type ChaosReport } from '../../scripts/chaos/run.js';
import { describeWithPg } from './support/pg.js';

function shortRun(
  ledger: ChaosOptions['ledger'],
  kills: number,
  intervalSeconds: number,
): Promise<ChaosReport> {
  return runChaos({
    seed: 1818,
    referrals: 50,
    outcomes: 8,
    kills: { backfill: kills, outcomes: kills },
    faultRate: 0.1,
    killAfterMs: [100, 1_500],
    intervalSeconds,
    ledger,
    convergeTimeoutMs: 90_000,
    progress: () => {},
  });
}

/** What "nothing duplicated, lost, sent wrongly or left waiting" means, as literals. */
function expectConverged(report: ChaosReport): void {
  const text = formatChaosReport(report);
  console.log(text);
  expect(report.backfill.kills + report.outcomePhase.kills, text).toBeGreaterThan(0);
  expect(report.expected, text).toBeGreaterThan(40);
  expect(report.outcomes, text).toBe(8);
  expect(report.faultsInjected, text).toBeGreaterThan(0);
  expect(report.crm, text).toEqual({
    duplicates: { dynamics: 0, salesforce: 0 },
    missing: { dynamics: 0, salesforce: 0 },
    externalReferenceMissing: 0,
    externalReferenceWrong: 0,
    outcomesMissing: 0,
    outcomesWrong: 0,
    transitionsTwice: 0,
    unexpectedTransitions: 0,
  });
  expect(report.ledger.outboxWaiting, text).toBe(0);
  expect(report.ledger.syncWaiting, text).toBe(0);
  // The bound: after the last restart everything is right within one poll interval.
  const interval = report.options.intervalSeconds;
  expect(report.backfill.convergedSeconds, text).not.toBeNull();
  expect(report.backfill.convergedSeconds!, text).toBeLessThanOrEqual(interval);
  expect(report.outcomePhase.convergedSeconds, text).not.toBeNull();
  expect(report.outcomePhase.convergedSeconds!, text).toBeLessThanOrEqual(interval);
}

describe('chaos (short): SIGKILLs with faults on every API, SQLite ledger', () => {
  it('converges with nothing duplicated, missing or wrong, and an intact ledger file', async () => {
    const report = await shortRun({ client: 'sqlite' }, 3, 60);
    expectConverged(report);
    expect(report.ledger.integrity).toBe('ok');
  }, 240_000);
});

describeWithPg('chaos (short): SIGKILLs with faults on every API, PostgreSQL ledger', (url) => {
  it('converges with nothing duplicated, missing or wrong', async () => {
    // A killed worker's claims come back when their lease (half the interval, at most 30 s) runs
    // out: the restarted worker wakes then, not at its next cycle.
    const report = await shortRun({ client: 'pg', connection: url }, 2, 60);
    expectConverged(report);
  }, 240_000);
});
