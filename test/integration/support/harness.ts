// Test harness: the simulators on loopback, a config pointing at them, and a runtime with a fresh
// SQLite ledger.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchemaFor, type LeadbridgeConfig } from '../../../src/config/index.js';
import { CRM_MODULES } from '../../../src/crm/modules.js';

import type { SimClock } from '../../../src/simulators/common/clock.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../../src/simulators/dynamics365/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../../src/simulators/salesforce/index.js';
import type { Runtime } from '../../../src/sync/cycle.js';
import { createRuntime } from '../../../src/cli/compose.js';

export interface Harness {
  pc: PartnerCenterSimulator;
  dynamics: DynamicsSimulator;
  /** Only with `salesforce: true`. */
  salesforce: SalesforceSimulator | null;
  dir: string;
  config: LeadbridgeConfig;
  /**
   * A runtime over the harness's ledger file; several may be opened one after another (a
   * "restart").
   */
  runtime(overrides?: (config: LeadbridgeConfig) => LeadbridgeConfig): Promise<Runtime>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  referrals?: number;
  seed?: number;
  salesforce?: boolean;
  /**
   * The Dataverse simulator's clock (e.g. one that stands still, so that writes share a modifiedon
   * second).
   */
  dynamicsClock?: SimClock;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const pc = createPartnerCenterSimulator({
    port: 0,
    referrals: options.referrals ?? 0,
    seed: options.seed ?? 7,
  });
  const dynamics = createDynamicsSimulator({
    port: 0,
    ...(options.dynamicsClock ? { clock: options.dynamicsClock } : {}),
  });
  const salesforce = options.salesforce ? createSalesforceSimulator({ port: 0 }) : null;
  await Promise.all([pc.start(), dynamics.start(), salesforce?.start()]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-it-'));
  const config = configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: {
        baseUrl: pc.url,
        auth: { kind: 'static', token: 'pc-token' },
        overlapSeconds: 60,
      },
    },
    targets: [
      {
        name: 'dynamics',
        kind: 'dynamics365',
        settings: { url: dynamics.url, auth: { kind: 'static', token: 'd365-token' } },
      },
      ...(salesforce
        ? [
            {
              name: 'salesforce',
              kind: 'salesforce',
              settings: {
                instanceUrl: salesforce.url,
                auth: { kind: 'accessToken', token: 'sf-token' },
              },
            },
          ]
        : []),
    ],
    ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
  });
  const opened: Runtime[] = [];
  return {
    pc,
    dynamics,
    salesforce,
    dir,
    config,
    async runtime(overrides) {
      const runtime = await createRuntime(overrides ? overrides(config) : config);
      opened.push(runtime);
      return runtime;
    },
    async close() {
      await Promise.allSettled(opened.map((r) => r.close()));
      await Promise.all([pc.stop(), dynamics.stop(), salesforce?.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
