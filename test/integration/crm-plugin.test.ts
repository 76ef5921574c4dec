// The CRM plug-in boundary: a kind registered from test code is configured and synced.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/cli/compose.js';
import { parseConfig } from '../../src/config/index.js';
import { ValidationError } from '../../src/core/errors.js';
import type { CrmModule } from '../../src/crm/module.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import { MemoryCrm, memoryModule } from './support/memory-crm.js';
import { newCustomerInquiry } from './support/referrals.js';

let pc: PartnerCenterSimulator;
let dir: string;
let crm: MemoryCrm;
let modules: CrmModule[];

beforeEach(async () => {
  pc = createPartnerCenterSimulator({ port: 0, referrals: 0, seed: 7 });
  await pc.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-plugin-'));
  crm = new MemoryCrm();
  modules = [...CRM_MODULES, memoryModule(crm, dir)];
});

afterEach(async () => {
  await pc.stop();
  await rm(dir, { recursive: true, force: true });
});

function configText(settings: string): string {
  return `source:
  partnerCenter:
    baseUrl: ${pc.url}
    auth: { kind: static, token: pc-token }
    overlapSeconds: 0
targets:
  - name: mem
    kind: memory
    settings: ${settings}
ledger:
  filename: ledger.sqlite
`;
}

describe('a CRM kind registered from test code', () => {
  it('validates its settings through its module, with file, line and path', () => {
    let thrown: unknown;
    try {
      parseConfig(configText('{ region: mars, colour: red }'), {
        env: {},
        file: 'test.yaml',
        cwd: dir,
        kinds: modules,
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).issues).toEqual([
      {
        file: 'test.yaml',
        line: 9,
        path: 'targets[0].settings.region',
        message: 'expected eu | us, got "mars"',
      },
      {
        file: 'test.yaml',
        line: 9,
        path: 'targets[0].settings.colour',
        message: 'unknown key (allowed keys: region)',
      },
    ]);
  });

  it('runs full cycles through it: records created, ids written back, a decline sent', async () => {
    const ids = ['Fabrikam', 'Contoso', 'Northwind'].map(
      (name) => newCustomerInquiry(pc.store, { customerProfile: { name } }).id,
    );
    const config = parseConfig(configText('{}'), { env: {}, cwd: dir, kinds: modules });
    expect(config.targets[0]).toMatchObject({
      limits: { concurrency: 3, requestsPerMinute: 0 },
      mapping: path.join(dir, 'memory-mapping.yaml'),
      settings: { region: 'eu' },
    });
    const runtime = await createRuntime(config, { modules });
    try {
      const first = await runtime.syncOnce({ runId: 'first' });
      expect(first.inbound.byTarget.mem).toMatchObject({ created: 3, failed: 0, quarantined: 0 });
      expect([...crm.records.values()].map((r) => [r.recordId, r.fields.company])).toEqual([
        ['mem-1', 'Fabrikam'],
        ['mem-2', 'Contoso'],
        ['mem-3', 'Northwind'],
      ]);
      expect(ids.map((id) => pc.store.get(id)?.externalReferenceId)).toEqual([
        'mem-1',
        'mem-2',
        'mem-3',
      ]);

      crm.edit(ids[1]!, { state: 'declined' });
      const second = await runtime.syncOnce({ runId: 'second' });
      expect(second.targetsDown).toEqual([]);
      expect(pc.store.get(ids[1]!)).toMatchObject({ status: 'Closed', substatus: 'Declined' });
      expect(pc.store.get(ids[0]!)).toMatchObject({ status: 'New' });
    } finally {
      await runtime.close();
    }
  });
});
