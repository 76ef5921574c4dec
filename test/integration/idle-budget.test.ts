// The call budget of an idle cycle, counted at the simulators: at most 1 Partner Center call and 2
// per CRM.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchemaFor } from '../../src/config/index.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import { SimClock } from '../../src/simulators/common/clock.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { createRuntime } from '../../src/cli/compose.js';

/**
 * A Dataverse clock that stands still: every record gets the same modifiedon, as hundreds of
 * records written in one
 * second do on the real service (modifiedon has whole seconds). The outbound cursor's own second
 * then holds more
 * than one page (500) of leads, which is what made every idle cycle read three pages.
 */
class StoppedClock extends SimClock {
  private readonly at = Date.now();
  override now(): Date {
    return new Date(this.at);
  }
  override nowMs(): number {
    return this.at;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let pc: PartnerCenterSimulator;
let dynamics: DynamicsSimulator;
let salesforce: SalesforceSimulator;
let dir: string;
let runtime: Runtime;

beforeAll(async () => {
  pc = createPartnerCenterSimulator({ port: 0, referrals: 700, seed: 11 });
  dynamics = createDynamicsSimulator({ port: 0, clock: new StoppedClock() });
  salesforce = createSalesforceSimulator({ port: 0 });
  await Promise.all([pc.start(), dynamics.start(), salesforce.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-idle-'));
  const config = configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: {
        baseUrl: pc.url,
        auth: { kind: 'static', token: 'pc-token' },
        overlapSeconds: 1,
      },
    },
    targets: [
      {
        name: 'dynamics',
        kind: 'dynamics365',
        settings: { url: dynamics.url, auth: { kind: 'static', token: 'd365-token' } },
      },
      {
        name: 'salesforce',
        kind: 'salesforce',
        settings: { instanceUrl: salesforce.url, auth: { kind: 'accessToken', token: 'sf-token' } },
      },
    ],
    ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
  });
  runtime = await createRuntime(config);
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await Promise.all([pc?.stop(), dynamics?.stop(), salesforce?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

describe('an idle cycle', () => {
  it('costs 1 Partner Center call, 2 Dataverse calls and 2 Salesforce calls', async () => {
    const backfill = await runtime.syncOnce({ runId: 'backfill' });
    expect(backfill.inbound.byTarget.dynamics?.created).toBeGreaterThan(500);
    // The next scheduled poll, past the overlap window and a full stamp second: it reads back our
    // write-backs.
    await sleep(2_200);
    await runtime.syncOnce({ runId: 'echo' });
    const before = {
      pc: pc.server.counters().total,
      dynamics: dynamics.server.counters().total,
      salesforce: salesforce.server.counters().total,
    };
    const idle = await runtime.syncOnce({ runId: 'idle' });
    const calls = {
      pc: pc.server.counters().total - before.pc,
      dynamics: dynamics.server.counters().total - before.dynamics,
      salesforce: salesforce.server.counters().total - before.salesforce,
    };
    expect(calls).toEqual({ pc: 1, dynamics: 2, salesforce: 2 });
    expect(idle.inbound.created + idle.inbound.updated + idle.outbox.sent).toBe(0);
  }, 60_000);
});
