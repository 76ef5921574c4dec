// `config check` loads every enabled target's mapping file offline; `sync --once` checks mappings
// against the CRM before writing.
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSyncOnce } from '../../src/cli/sync.js';
import { silentLogger } from '../../src/core/log.js';
import { startHarness, type Harness } from './support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');

function runCli(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('config check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-config-check-'));
    const salesforce = await readFile(salesforceModule.mappingFile, 'utf8');
    const lastName = '    transforms: [trim, { default: "(unknown)" }, { truncate: 80 }, required]';
    expect(salesforce).toContain(lastName);
    await writeFile(
      path.join(dir, 'typo.yaml'),
      salesforce.replace(lastName, lastName.replace('default', 'defualt')),
    );
    const dynamics = await readFile(dynamics365Module.mappingFile, 'utf8');
    expect(dynamics).toContain('\n  companyname:\n');
    await writeFile(
      path.join(dir, 'unparsable.yaml'),
      dynamics.replace('\n  companyname:\n', '\n  companyname: customerProfile.name\n'),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const config = (targets: string[]) =>
    [
      'source:',
      '  partnerCenter: { baseUrl: "http://127.0.0.1:9", auth: { kind: static, token: t } }',
      'targets:',
      ...targets,
      'ledger: { filename: ./ledger.sqlite }',
      '',
    ].join('\n');
  const dynamicsTarget = (mapping: string) =>
    `  - { name: d, kind: dynamics365, mapping: ${mapping}, settings: { url: ` +
    `"http://127.0.0.1:9", auth: { kind: static, token: t } } }`;
  const salesforceTarget = (mapping: string) =>
    `  - { name: s, kind: salesforce, mapping: ${mapping}, settings: { instanceUrl: ` +
    `"http://127.0.0.1:9", auth: { kind: accessToken, token: t } } }`;

  it(
    'exits 2 naming a missing mapping file, an unknown transform and a field that does not ' +
      'parse, with file, line and path',
    async () => {
      await writeFile(
        path.join(dir, 'broken.yaml'),
        config([
          dynamicsTarget('missing.yaml'),
          salesforceTarget('typo.yaml'),
          dynamicsTarget('unparsable.yaml').replace('name: d', 'name: d2'),
        ]),
      );
      const result = await runCli(['--config', 'broken.yaml', 'config', 'check'], dir);
      expect(result.code).toBe(2);
      expect(result.stdout).not.toContain('config OK');
      expect(result.stderr).toContain('leadbridge: config broken.yaml: the mapping files have ');
      expect(result.stderr).toContain(
        '  - targets[0].mapping: target "d": the mapping file missing.yaml cannot be read (no ' +
          'such file)\n',
      );
      expect(result.stderr).toMatch(
        / {2}- typo\.yaml:28: fields\.LastName\.transforms\[1\]: unknown transform "defualt"/,
      );
      expect(result.stderr).toMatch(/ {2}- unparsable\.yaml:\d+: /);
      expect(result.stderr).not.toContain('    at ');
    },
  );

  it('exits 2 naming a mapping written for another CRM kind, at its target line', async () => {
    await writeFile(
      path.join(dir, 'sf.yaml'),
      await readFile(salesforceModule.mappingFile, 'utf8'),
    );
    await writeFile(path.join(dir, 'crossed.yaml'), config([dynamicsTarget('sf.yaml')]));
    const result = await runCli(['--config', 'crossed.yaml', 'config', 'check'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      / {2}- sf\.yaml:\d+: target: the mapping is for salesforce, but target "d" is dynamics365\n/,
    );
  });

  it('says OK when every enabled mapping loads, and skips disabled targets', async () => {
    await writeFile(
      path.join(dir, 'good.yaml'),
      config([
        salesforceTarget(salesforceModule.mappingFile),
        dynamicsTarget('missing.yaml').replace('mapping:', 'enabled: false, mapping:'),
      ]),
    );
    const result = await runCli(['--config', 'good.yaml', 'config', 'check'], dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '# mappings of s parsed; "leadbridge mappings check" compares them with the CRM\nconfig OK\n',
    );
  });
});

describe('sync --once', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ referrals: 10, salesforce: true });
  });
  afterAll(() => harness.close());

  it(
    'checks every mapping against its CRM first: a field Salesforce does not have stops it ' +
      'before Dynamics is written',
    async () => {
      const original = await readFile(salesforceModule.mappingFile, 'utf8');
      expect(original).toContain('\n  Company:\n');
      const mapping = path.join(harness.dir, 'salesforce.yaml');
      await writeFile(mapping, original.replace('\n  Company:\n', '\n  Compnay:\n'));
      const config = {
        ...harness.config,
        targets: harness.config.targets.map((t) =>
          t.kind === 'salesforce' ? { ...t, mapping } : t,
        ),
      };
      const out = new PassThrough();
      const run = runSyncOnce({
        config,
        logger: silentLogger,
        cwd: harness.dir,
        out,
        progress: new PassThrough(),
      });
      await expect(run).rejects.toMatchObject({
        code: 'MAPPING_INVALID',
        message: expect.stringContaining(
          'sync --once does not run: the field mappings do not fit the CRM; nothing was written',
        ),
      });
      await expect(run).rejects.toMatchObject({
        issues: expect.arrayContaining([
          expect.objectContaining({
            path: 'fields.Compnay',
            message: 'unknown CRM field "Compnay" on Lead (did you mean "Company"?)',
          }),
        ]),
      });
      expect(harness.dynamics.store.leads.size).toBe(0);
      const salesforceLeads = (await (
        await fetch(`${harness.salesforce!.url}/_sim/leads`)
      ).json()) as unknown;
      expect(salesforceLeads).toEqual(expect.objectContaining({ records: [] }));
    },
  );
});
