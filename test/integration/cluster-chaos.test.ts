// Chaos on PostgreSQL: 3 cluster workers, a worker SIGKILLed at random every few seconds and
// restarted; afterwards
// every tenant's referrals are in its CRMs exactly once, every outcome reached Partner Center once,
// no tenant's data
// in another's CRM.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  startSimulators,
  stopSimulators,
  type RunningSimulator,
} from '../../src/simulators/index.js';
import { BIN, runCli, startNode, type ChildRun } from './support/cli-process.js';
import { describeWithPg } from './support/pg.js';

const TENANTS = Number(process.env.LEADBRIDGE_CHAOS_TENANTS ?? 8);
const CHAOS_SECONDS = Number(process.env.LEADBRIDGE_CHAOS_SECONDS ?? 24);
const KILL_EVERY_MS = 3_000;
const FIRST_REFERRALS = 12;
const LATER_REFERRALS = 3;
const WORKERS = 3;

describeWithPg('cluster chaos (3 workers, SIGKILL, PostgreSQL)', (pgUrl) => {
  const tag = `lbchaos_${process.pid}_${Date.now() % 100_000}`;
  const tenants = Array.from({ length: TENANTS }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);
  let dir: string;
  let sims: RunningSimulator[];
  let url: Record<string, string>;
  let config: string;
  const env = { SIM_TOKEN: 'chaos' };
  const workers: ChildRun[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lb-chaos-'));
    sims = await startSimulators({
      host: '127.0.0.1',
      basePort: null,
      seed: 7,
      referrals: 0,
      orgs: true,
    });
    url = Object.fromEntries(sims.map((s) => [s.name, s.url]));
    config = path.join(dir, 'worker.yaml');
    await writeFile(config, workerConfig(pgUrl, tag));
    for (const tenant of tenants)
      await writeFile(path.join(dir, `${tenant}.yaml`), tenantFile(url, tenant));
  });

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await stopSimulators(sims ?? []);
    const db = knex({ client: 'pg', connection: pgUrl });
    const schemas = [tag, `${tag}_boss`, ...tenants.map((t) => `${tag}_t_${t}`)];
    for (const schema of schemas) await db.raw('drop schema if exists ?? cascade', [schema]);
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('syncs every tenant exactly once into its own CRMs while workers die', async () => {
    const referrals = new Map<string, string[]>();
    for (const tenant of tenants)
      referrals.set(tenant, await createReferrals(url, tenant, FIRST_REFERRALS));
    const added = await runCli(['--config', config, 'tenants', 'add', ...tenants.map(fileOf)], {
      cwd: dir,
      env,
    });
    expect(added.stderr).toBe('');
    expect(added.stdout.split('\n').filter(Boolean)).toHaveLength(TENANTS);
    for (let i = 0; i < WORKERS; i++) workers.push(startWorker(config, dir, env));

    // Customers send more leads and CRM users decline one lead per tenant while the workers die.
    const declined = new Map<string, string>();
    const activity = (async () => {
      for (const tenant of tenants)
        referrals.get(tenant)!.push(...(await createReferrals(url, tenant, LATER_REFERRALS)));
      for (const tenant of tenants) await declineOne(url, tenant, declined);
    })();
    const chaosEnds = Date.now() + CHAOS_SECONDS * 1000;
    let kills = 0;
    while (Date.now() < chaosEnds) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS * (0.5 + Math.random())));
      const victim = Math.floor(Math.random() * workers.length);
      workers[victim]!.child.kill('SIGKILL');
      await workers[victim]!.exited;
      kills++;
      workers[victim] = startWorker(config, dir, env);
    }
    await activity;
    expect(kills).toBeGreaterThanOrEqual(Math.floor(CHAOS_SECONDS / 4.5));

    await converged(url, tenants, referrals, declined);
    const allIds = [...referrals.values()].flat();
    expect(new Set(allIds).size).toBe(allIds.length); // orgs never share an id
    for (const tenant of tenants) {
      const mine = [...referrals.get(tenant)!].sort();
      expect(await dynamicsReferralIds(url, tenant)).toEqual(mine);
      expect(await salesforceReferralIds(url, tenant)).toEqual(mine);
      const patches = await successfulPatches(url, tenant);
      // One externalReferenceId write-back per referral, and the decline once.
      for (const id of mine)
        expect({ id, patches: patches.get(id) ?? 0 }).toEqual({
          id,
          patches: declined.get(tenant) === id ? 2 : 1,
        });
    }

    // One tenant's operator commands see its own ledger only.
    const [first, second] = [tenants[0]!, tenants[1]!];
    const own = await runCli(['--config', config, '--tenant', first, 'status', '--json'], {
      cwd: dir,
      env,
    });
    const report = JSON.parse(own.stdout) as {
      ledger: string;
      targets: Array<{ name: string; states: Record<string, number> }>;
    };
    expect(report.ledger).toBe(`postgresql (schema ${tag}_t_${first})`);
    expect(report.targets.map((t) => [t.name, t.states.applied])).toEqual([
      ['dynamics', FIRST_REFERRALS + LATER_REFERRALS],
      ['salesforce', FIRST_REFERRALS + LATER_REFERRALS],
    ]);
    const foreign = referrals.get(second)![0]!;
    const trace = await runCli(['--config', config, '--tenant', first, 'trace', foreign], {
      cwd: dir,
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

    // The cluster's status: three workers alive, every tenant caught up, its last cycle ok.
    // A worker killed last stays "alive" until three heartbeats pass unanswered: ask until
    // it is gone.
    type ClusterStatus = {
      workersAlive: number;
      tenants: Array<{ id: string; lagSeconds: number | null; lastResult: string | null }>;
    };
    const readStatus = async () =>
      JSON.parse(
        (await runCli(['--config', config, 'status', '--json'], { cwd: dir, env })).stdout,
      ) as ClusterStatus;
    let status = await readStatus();
    for (let tries = 0; status.workersAlive !== WORKERS && tries < 30; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      status = await readStatus();
    }
    expect(status.workersAlive).toBe(WORKERS);
    expect(status.tenants.map((t) => t.id)).toEqual(tenants);
    for (const t of status.tenants) {
      expect(t.lastResult).toBe('ok');
      expect(t.lagSeconds).not.toBeNull();
    }
  }, 240_000);
});

function fileOf(tenant: string): string {
  return `${tenant}.yaml`;
}

function workerConfig(pgUrl: string, tag: string): string {
  return `source:
  partnerCenter:
    auth: { kind: static, token: unused }
ledger:
  client: pg
  connection: ${pgUrl}
  schema: ${tag}
cluster:
  enabled: true
  bossSchema: ${tag}_boss
  jobExpireSeconds: 20
  maintenanceSeconds: 2
  heartbeatSeconds: 2
  pollSeconds: 1
  maxPagesPerCycle: 1
log: { level: warn }
`;
}

function tenantFile(url: Record<string, string>, tenant: string): string {
  return (
    `source:
  partnerCenter:
    baseUrl: ${url['partner-center']}/orgs/${tenant}
    auth: { kind: static, token: "\${SIM_TOKEN}" }
    overlapSeconds: 1
    pageSize: 5
targets:
  - name: dynamics
    kind: dynamics365
    settings: { url: ${url.dynamics365}/orgs/` +
    `${tenant}, auth: { kind: static, token: "\${SIM_TOKEN}" } }
  - name: salesforce
    kind: salesforce
    settings:
      instanceUrl: ${url.salesforce}/orgs/${tenant}
      auth: { kind: accessToken, token: "\${SIM_TOKEN}" }
worker:
  intervalSeconds: 2
`
  );
}

function startWorker(config: string, cwd: string, env: Record<string, string>): ChildRun {
  // A heap flag of our own: the CLI then runs in this process (no re-exec), so SIGKILL hits the
  // worker itself.
  return startNode(['--max-old-space-size=256', BIN, '--config', config, 'run'], { cwd, env });
}

async function json(method: string, target: string, body?: unknown): Promise<unknown> {
  const response = await fetch(target, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok)
    throw new Error(`${method} ${target}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

async function createReferrals(
  url: Record<string, string>,
  tenant: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = (await json('POST', `${url['partner-center']}/orgs/${tenant}/_sim/referrals`, {
      type: 'Independent',
      qualification: 'Direct',
      direction: 'Incoming',
      inviteContext: null,
      status: 'New',
      substatus: 'Received',
      name: `${tenant} inquiry ${i}`,
    })) as { id: string };
    ids.push(created.id);
  }
  return ids;
}

interface DynamicsLead {
  leadid: string;
  lb_referralid: string | null;
}

async function dynamicsLeads(url: Record<string, string>, tenant: string): Promise<DynamicsLead[]> {
  const body = (await json('GET', `${url.dynamics365}/orgs/${tenant}/_sim/leads`)) as {
    value: DynamicsLead[];
  };
  return body.value;
}

async function dynamicsReferralIds(url: Record<string, string>, tenant: string): Promise<string[]> {
  return (await dynamicsLeads(url, tenant)).map((lead) => String(lead.lb_referralid)).sort();
}

async function salesforceReferralIds(
  url: Record<string, string>,
  tenant: string,
): Promise<string[]> {
  const body = (await json('GET', `${url.salesforce}/orgs/${tenant}/_sim/leads`)) as {
    records?: Array<Record<string, unknown>>;
    value?: Array<Record<string, unknown>>;
  };
  const rows = body.records ?? body.value ?? [];
  return rows.map((row) => String(row.PartnerReferralId__c)).sort();
}

/**
 * A CRM user disqualifies one lead of the tenant that is already in Dynamics (→ decline in Partner
 * Center).
 */
async function declineOne(
  url: Record<string, string>,
  tenant: string,
  declined: Map<string, string>,
): Promise<void> {
  let leads = await dynamicsLeads(url, tenant);
  while (leads.length === 0) {
    await new Promise((r) => setTimeout(r, 250));
    leads = await dynamicsLeads(url, tenant);
  }
  const lead = leads[0]!;
  await json('POST', `${url.dynamics365}/orgs/${tenant}/_sim/leads/${lead.leadid}/state`, {
    statecode: 2,
    statuscode: 6,
  });
  declined.set(tenant, String(lead.lb_referralid));
}

/**
 * Waits (polling the simulators) until every tenant's CRMs hold its referrals and its decline has
 * arrived.
 */
async function converged(
  url: Record<string, string>,
  tenants: string[],
  referrals: Map<string, string[]>,
  declined: Map<string, string>,
): Promise<void> {
  const deadline = Date.now() + 150_000;
  for (const tenant of tenants) {
    const want = referrals.get(tenant)!.length;
    for (;;) {
      const d = await dynamicsReferralIds(url, tenant);
      const s = await salesforceReferralIds(url, tenant);
      const referral = (await json(
        'GET',
        `${url['partner-center']}/orgs/${tenant}/_sim/referrals/${declined.get(tenant)}`,
      )) as { substatus: string };
      if (d.length >= want && s.length >= want && referral.substatus === 'Declined') break;
      if (Date.now() > deadline)
        throw new Error(
          `${tenant} did not converge: dynamics ${d.length}/${want}, salesforce ${s.length}/` +
            `${want}, ` +
            `declined referral ${referral.substatus}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** 2xx PATCHes per referral id, from the tenant's Partner Center request log. */
async function successfulPatches(
  url: Record<string, string>,
  tenant: string,
): Promise<Map<string, number>> {
  const body = (await json('GET', `${url['partner-center']}/orgs/${tenant}/_sim/requests`)) as {
    requests: Array<{ method: string; path: string; status: number }>;
  };
  const counts = new Map<string, number>();
  for (const r of body.requests) {
    const match = /\/referrals\/([0-9a-f-]{36})/.exec(r.path);
    if (r.method !== 'PATCH' || !match || r.status >= 300) continue;
    counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  }
  return counts;
}
