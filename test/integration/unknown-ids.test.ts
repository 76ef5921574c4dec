// Operator input the ledger cannot act on: trace and retry on unknown or skipped ids, resync to a
// future date; a clear answer and exit code.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import { startHarness, type Harness } from './support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');
const NEVER_SEEN = '0b7f7a5e-1111-4222-8333-944455566677';

let harness: Harness;
let configFile: string;
let coSell: Referral;
let inquiry: Referral;

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  const child = spawn(process.execPath, [BIN, '--config', configFile, ...args], {
    cwd: harness.dir,
    env,
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

beforeAll(async () => {
  harness = await startHarness({ referrals: 0 });
  const base = { direction: 'Incoming', status: 'New', substatus: 'Received' };
  coSell = harness.pc.store.create({
    ...base,
    type: 'Shared',
    qualification: 'SalesQualified',
    inviteContext: {
      invitedBy: {
        organizationId: 'a1b2c3d4-0000-4000-8000-000000000001',
        organizationName: 'Fabrikam Partners',
      },
    },
    customerProfile: { name: 'Woodgrove Bank' },
  });
  inquiry = harness.pc.store.create({
    ...base,
    type: 'Independent',
    qualification: 'Direct',
    inviteContext: null,
    customerProfile: { name: 'Litware GmbH' },
  });
  const runtime = await harness.runtime();
  await runtime.syncOnce({ runId: 'first' });
  await runtime.close();
  configFile = path.join(harness.dir, 'leadbridge.yaml');
  await writeFile(
    configFile,
    [
      `source: { partnerCenter: { baseUrl: "${harness.pc.url}", auth: { kind: static, token: t ` +
        `} } }`,
      'targets:',
      `  - { name: dynamics, kind: dynamics365, settings: { url: "${harness.dynamics.url}", ` +
        `auth: { kind: static, token: t } } }`,
      `ledger: { filename: "${path.join(harness.dir, 'ledger.sqlite')}" }`,
      'log: { level: error }',
      '',
    ].join('\n'),
  );
}, 30_000);
afterAll(async () => harness?.close());

describe('trace and retry on ids that did not come through', () => {
  it('trace of an id never read says "unknown referral" and exits 1', async () => {
    const result = await runCli(['trace', NEVER_SEEN]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `leadbridge: unknown referral ${NEVER_SEEN}: the ledger has no record of it ` +
        `(never read from Partner Center; check the id, or that a sync has run since it arrived)\n`,
    });
  });

  it('trace of a co-sell referral that was read says it was skipped and why', async () => {
    const result = await runCli(['trace', coSell.id]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').slice(0, 2)).toEqual([
      `referral ${coSell.id}`,
      '  dynamics: skipped: lead kind coSell is not synced (source.partnerCenter.leadKinds)',
    ]);
    expect(result.stdout).toContain(' dynamics skipped-kind {"leadKind":"coSell","status":"New"}');
  });

  it(
    'retry of an unknown and of a skipped id names both, schedules nothing and ' + 'exits 1',
    async () => {
      const result = await runCli(['retry', NEVER_SEEN, coSell.id]);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'leadbridge: nothing retried:\n' +
          `  - unknown referral ${NEVER_SEEN} (never read from Partner Center)\n` +
          `  - ${coSell.id}: skipped: lead kind coSell is not synced ` +
          `(source.partnerCenter.leadKinds)\n`,
      });
    },
  );

  it('retry of a synced referral still runs (nothing failed, so 0 scheduled)', async () => {
    const result = await runCli(['retry', inquiry.id]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('dynamics: 0 referrals scheduled for retry');
  });
});

describe('resync on the command line', () => {
  it(
    'refuses a future --since before touching the ledger: exit 1, naming the option and the ' +
      'value',
    async () => {
      const result = await runCli(['resync', '--since', '2099-01-01']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          String.raw`^leadbridge: invalid --since:\n {2}- --since: "2099-01-01" is in the` +
            String.raw` future \(now \d{4}-\d{2}-\d{2}T[\d:.]+Z\): a resync re-reads what` +
            String.raw` Partner Center already has, so it can only reach back\n$`,
        ),
      );
    },
  );
});
