// Chaos on PostgreSQL (short, for CI): 3 cluster workers, one SIGKILLed at random every few seconds
// and restarted; afterwards every tenant's referrals are in its CRMs exactly once, every outcome
// reached Partner Center exactly once, no tenant's data is in another's CRM
// (scripts/chaos/cluster.ts).
import knex from 'knex';
import { expect, it } from 'vitest';
import { runClusterChaos, type ClusterChaosRun } from '../../scripts/chaos/cluster.js';
import { runCli } from './support/cli-process.js';
import { describeWithPg } from './support/pg.js';

const TENANTS = Number(process.env.LEADBRIDGE_CHAOS_TENANTS ?? 8);
const CHAOS_SECONDS = Number(process.env.LEADBRIDGE_CHAOS_SECONDS ?? 24);

describeWithPg('cluster chaos (3 workers, SIGKILL, PostgreSQL)', (pgUrl) => {
  it('syncs every tenant exactly once into its own CRMs while workers die', async () => {
    const report = await runClusterChaos({
      pgUrl,
      tenants: TENANTS,
      workers: 3,
      seconds: CHAOS_SECONDS,
      killEveryMs: 3_000,
      firstReferrals: 12,
      laterReferrals: 3,
      outcomesPerTenant: 5,
      convergeTimeoutMs: 150_000,
      whileConverged: (run) => operatorViews(run, pgUrl),
    });
    expect(report.kills).toBeGreaterThanOrEqual(Math.floor(CHAOS_SECONDS / 4.5));
    expect(report.convergedSeconds).not.toBeNull();
    expect(report.referrals).toBe(TENANTS * 15);
    expect(report.outcomes).toBe(TENANTS * 5);
    expect(report.failures).toEqual([]);
    expect(report.crm).toEqual({
      duplicates: { dynamics: 0, salesforce: 0 },
      missing: { dynamics: 0, salesforce: 0 },
      externalReferenceMissing: 0,
      externalReferenceWrong: 0,
      outcomesMissing: 0,
      outcomesWrong: 0,
      transitionsTwice: 0,
      unexpectedTransitions: 0,
    });
    expect(report.crossTenant).toBe(0);
    expect(report.ledger).toMatchObject({ outboxWaiting: 0, syncWaiting: 0 });
    // Every cycle a kill interrupted ran again; with this config (scheduler every 2 s, poll 1 s)
    // well within 15 s (see README, "A worker that dies loses nothing").
    expect(report.rerunSeconds.notRerun).toBe(0);
    expect(report.rerunSeconds.max ?? 0).toBeLessThan(15);
  }, 300_000);
});

/** One tenant's operator commands see its own ledger only; `status` shows the whole cluster. */
async function operatorViews(run: ClusterChaosRun, pgUrl: string): Promise<void> {
  const { dir: cwd, configFile: config, env, tag } = run;
  const [first, second] = [run.tenants[0]!, run.tenants[1]!];
  const own = await runCli(['--config', config, '--tenant', first, 'status', '--json'], {
    cwd,
    env,
  });
  const report = JSON.parse(own.stdout) as {
    ledger: string;
    targets: Array<{ name: string; states: Record<string, number> }>;
  };
  expect(report.ledger).toBe(`postgresql (schema ${tag}_t_${first})`);
  expect(report.targets.map((t) => [t.name, t.states.applied])).toEqual([
    ['dynamics', 15],
    ['salesforce', 15],
  ]);
  const foreign = run.referrals.get(second)![0]!;
  const trace = await runCli(['--config', config, '--tenant', first, 'trace', foreign], {
    cwd,
    env,
  });
  expect({ code: trace.code, stderr: trace.stderr.trim() }).toEqual({
    code: 1,
    stderr:
      `leadbridge: unknown referral ${foreign}: the ledger has no record of it (never read ` +
      'from Partner Center; check the id, or that a sync has run since it arrived)',
  });

  // Every row of a tenant's ledger carries that tenant.
  const db = knex({ client: 'pg', connection: pgUrl });
  try {
    const stamped = await db
      .withSchema(`${tag}_t_${first}`)
      .table('lb_sync_states')
      .distinct('tenant');
    expect(stamped).toEqual([{ tenant: first }]);
  } finally {
    await db.destroy();
  }

  // Three workers alive (a worker killed last stays "alive" until three heartbeats pass
  // unanswered: ask until it is gone), every tenant caught up, its last cycle ok.
  type ClusterStatus = {
    workersAlive: number;
    tenants: Array<{ id: string; lagSeconds: number | null; lastResult: string | null }>;
  };
  const readStatus = async () =>
    JSON.parse(
      (await runCli(['--config', config, 'status', '--json'], { cwd, env })).stdout,
    ) as ClusterStatus;
  let status = await readStatus();
  for (let tries = 0; status.workersAlive !== 3 && tries < 30; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    status = await readStatus();
  }
  expect(status.workersAlive).toBe(3);
  expect(status.tenants.map((t) => t.id)).toEqual(run.tenants);
  for (const t of status.tenants) {
    expect(t.lastResult).toBe('ok');
    expect(t.lagSeconds).not.toBeNull();
  }
}
