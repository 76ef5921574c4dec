// The CLI as a user runs it: `node bin/leadbridge.js ...` as a child process, against the bundled
// simulators.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { referralSchema } from '../../src/core/referral.js';
import { SIMULATORS } from '../../src/simulators/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');

interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[], env: Record<string, string> = {}): CliRun {
  const baseEnv = { ...process.env };
  delete baseEnv.LEADBRIDGE_CONFIG;
  delete baseEnv.LEADBRIDGE_TOKEN_CACHE_KEY;
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...baseEnv, ...env },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function runCli(args: string[], env: Record<string, string> = {}) {
  const run = startCli(args, env);
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Resolves once stdout holds one line per simulator (the process is ready then). */
function simulatorLines(run: CliRun): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const lines = run.stdout().split('\n').filter(Boolean);
      if (lines.length >= SIMULATORS.length) resolve(lines);
    };
    run.child.stdout?.on('data', check);
    void run.exited.then(({ code }) =>
      reject(new Error(`simulate exited early (${code}): ${run.stderr()}`)),
    );
  });
}

async function getJson(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  // client-request-id: a new GUID on every call (partner-rest headers.md); the simulator requires
  // it.
  const headers: Record<string, string> = {
    'client-request-id': randomUUID(),
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  };
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

/**
 * The five referrals `leadbridge simulate --referrals 5` seeds (its default seed, 42), all
 * New/Received, and what
 * a first pass with the default lead kinds does with each: three sales-qualified leads and a
 * customer inquiry are
 * created, the co-sell opportunity is skipped.
 */
const SEEDED_PLAN: ReadonlyArray<{ referralId: string; action: string; reason?: string }> = [
  { referralId: 'e1fbf8dd-145c-4e87-9700-bff339b9ec1e', action: 'create' },
  { referralId: '9429ce8a-c6fd-44ea-a093-e61bc6ae68de', action: 'create' },
  { referralId: '4788339c-9dd5-497e-b11e-8f714e643b97', action: 'create' },
  {
    referralId: '4cc853f6-3795-41b6-b29a-6afad7cf4066',
    action: 'skip',
    reason: 'lead kind coSell is not synced (source.partnerCenter.leadKinds)',
  },
  { referralId: '126070cd-70c7-4d7d-86ce-d5ebbc915bd0', action: 'create' },
];

describe('leadbridge simulate', () => {
  let simulate: CliRun;
  let lines: string[];
  let partnerCenterUrl: string;
  let tempDir: string;

  beforeAll(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-cli-'));
    simulate = startCli(['simulate', '--random-ports', '--referrals', '5']);
    lines = await simulatorLines(simulate);
    partnerCenterUrl = urlOf('partner-center');
  });

  const urlOf = (name: string) =>
    lines.find((line) => line.startsWith(`${name} `))?.split(' ')[1] ?? '';

  afterAll(async () => {
    if (simulate.child.exitCode === null) simulate.child.kill('SIGKILL');
    await rm(tempDir, { recursive: true, force: true });
  });

  it(
    'prints exactly one "<name> <url>" line per simulator and the /_sim/ hint on ' + 'stderr',
    async () => {
      expect(lines.map((line) => line.split(' ')[0])).toEqual(
        SIMULATORS.map((simulator) => simulator.name),
      );
      // entra is the one HTTPS simulator: msal refuses an http authority.
      for (const line of lines)
        expect(line).toMatch(
          line.startsWith('entra ')
            ? /^entra https:\/\/127\.0\.0\.1:\d+$/
            : /^[a-z0-9-]+ http:\/\/127\.0\.0\.1:\d+$/,
        );
      // stderr is a separate pipe, so the hint may arrive a moment after the URLs
      await vi.waitFor(() =>
        expect(simulate.stderr()).toContain('admin endpoints under <url>/_sim/'),
      );
    },
  );

  it(
    'serves the documented referral list to a bearer token, and refuses a call without ' + 'one',
    async () => {
      const listUrl = `${partnerCenterUrl}/v1.0/engagements/referrals`;
      const { status, body } = await getJson(listUrl, 'sim-token');
      expect(status).toBe(200);
      const page = body as { value: unknown[]; '@odata.nextLink'?: unknown };
      expect(page.value).toHaveLength(5);
      expect(page['@odata.nextLink']).toBeUndefined();
      for (const item of page.value) {
        const parsed = referralSchema.safeParse(item);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        expect(parsed.data?.eTag).toMatch(/^".+"$/);
      }
      const refused = await getJson(listUrl);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({
        error: { code: expect.any(String), message: expect.any(String) },
      });
    },
  );

  it(
    'sync --once --dry-run --json plans a first pass (every synced kind created, the rest ' +
      'skipped with why) and writes nothing',
    async () => {
      const configFile = path.join(tempDir, 'dry-run.yaml');
      await writeFile(
        configFile,
        `source:\n  partnerCenter:\n    baseUrl: ${partnerCenterUrl}\n    auth: { kind: static, ` +
          `token: "\${PC_TOKEN}" }\n` +
          `targets:\n  - { name: dynamics, kind: dynamics365, settings: { url: ` +
          `${urlOf('dynamics365')}, auth: { kind: static, token: t } } }\n` +
          `ledger: { filename: ${path.join(tempDir, 'dry-run.sqlite')} }\nlog: { level: error }\n`,
      );
      const result = await runCli(
        ['--config', configFile, 'sync', '--once', '--dry-run', '--json'],
        {
          PC_TOKEN: 'sim-token',
        },
      );
      expect(result.stderr).toBe(
        `no ledger yet (sqlite ${path.join(tempDir, 'dry-run.sqlite')}): the plan is a first ` +
          `backfill; nothing is created\n`,
      );
      expect(result.code).toBe(0);
      await expect(stat(path.join(tempDir, 'dry-run.sqlite'))).rejects.toThrow(/ENOENT/);
      const plan = JSON.parse(result.stdout) as {
        since: string | null;
        referralsRead: number;
        targets: Array<{
          target: string;
          entries: Array<{ referralId: string; action: string; reason?: string }>;
        }>;
      };
      expect([plan.since, plan.referralsRead, plan.targets.map((t) => t.target)]).toEqual([
        null,
        5,
        ['dynamics'],
      ]);
      const entries = plan.targets[0]!.entries.map(({ referralId, action, reason }) => ({
        referralId,
        action,
        ...(reason ? { reason } : {}),
      }));
      const byId = (a: { referralId: string }, b: { referralId: string }) =>
        a.referralId.localeCompare(b.referralId);
      expect(entries.sort(byId)).toEqual([...SEEDED_PLAN].sort(byId));
      // Nothing written: the CRM has no record yet.
      const leads = await getJson(`${urlOf('dynamics365')}/_sim/leads`);
      expect(leads.body).toMatchObject({ value: [] });
    },
  );

  it('sync --once syncs into both CRM simulators; status and trace read the ledger', async () => {
    const configFile = path.join(tempDir, 'both.yaml');
    await writeFile(
      configFile,
      [
        'source:',
        `  partnerCenter: { baseUrl: ${partnerCenterUrl}, auth: { kind: static, token: ` +
          `sim-token } }`,
        'targets:',
        `  - { name: dynamics, kind: dynamics365, settings: { url: ${urlOf('dynamics365')}, ` +
          `auth: { kind: static, token: t } } }`,
        `  - { name: salesforce, kind: salesforce, settings: { instanceUrl: ` +
          `${urlOf('salesforce')}, auth: { kind: accessToken, token: t } } }`,
        `ledger: { filename: ${path.join(tempDir, 'ledger.sqlite')} }`,
        'log: { level: error }',
        '',
      ].join('\n'),
    );
    // Four of the five seeded referrals are of a synced kind (SEEDED_PLAN); the co-sell one is
    // skipped.
    const created = SEEDED_PLAN.filter((entry) => entry.action === 'create');
    expect(created).toHaveLength(4);

    const sync = await runCli(['--config', configFile, 'sync', '--once']);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    const summary = sync.stdout.split('\n');
    expect(summary[0]).toMatch(
      new RegExp(
        String.raw`^run sync-\S+: 5 referrals read in 1 pages, 0 invalid, 0 retried, 0` +
          String.raw` targets failed as a whole$`,
      ),
    );
    const counts = (target: string) =>
      `  ${target}: 4 created, 0 updated, 0 unchanged, 1 skipped (lead kind), ` +
      '0 skipped (archived), 0 skipped (lead converted), 0 failed, 0 quarantined';
    expect(summary.slice(1, 4)).toEqual([
      counts('dynamics'),
      counts('salesforce'),
      '  partner-center: 4 CRM ids written back to externalReferenceId',
    ]);
    expect(summary[4]).toBe(
      '  outcomes from the CRM: 0 read, 0 queued, 0 sent, 0 no longer needed, 0 quarantined, 0 ' +
        'conflicts, 0 expiries reflected',
    );

    const status = await runCli(['--config', configFile, 'status', '--json']);
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      targets: Array<{ name: string; states: Record<string, number> }>;
    };
    expect(report.targets.map((t) => [t.name, t.states.applied, t.states.failed])).toEqual([
      ['dynamics', 4, 0],
      ['salesforce', 4, 0],
    ]);

    const trace = await runCli(['--config', configFile, 'trace', created[0]!.referralId]);
    expect(trace.code).toBe(0);
    expect(trace.stdout).toContain(`referral ${created[0]!.referralId}`);
    expect(trace.stdout).toMatch(/ dynamics created record=[0-9a-f-]{36}/);
    expect(trace.stdout).toMatch(/ salesforce created record=00Q\w{15}/);
    expect(trace.stdout).toMatch(/ dynamics external-reference-written /);
  });

  it('stops the simulators on SIGTERM and exits 0', async () => {
    simulate.child.kill('SIGTERM');
    expect(await simulate.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${partnerCenterUrl}/_sim/health`)).rejects.toThrow();
  });
});

describe('leadbridge config check', () => {
  let tempDir: string;
  beforeAll(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-config-'));
  });
  afterAll(async () => {
    await rm(tempDir, { recursive: true, force: true });
  });

  it('accepts the shipped config, prints it redacted and says "config OK"', async () => {
    const key = '5f0e1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100';
    const result = await runCli(['config', 'check'], { LEADBRIDGE_TOKEN_CACHE_KEY: key });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('baseUrl: http://127.0.0.1:7401');
    expect(result.stdout).toContain('url: http://127.0.0.1:7402');
    expect(result.stdout).toContain('kind: user');
    expect(result.stdout).not.toContain(key);
    expect(result.stdout).not.toContain('sim-token');
    expect(result.stdout.endsWith('config OK\n')).toBe(true);
  });

  it(
    'refuses the shipped config without LEADBRIDGE_TOKEN_CACHE_KEY, naming the variable, and ' +
      'exits 2',
    async () => {
      const result = await runCli(['config', 'check']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        'source.partnerCenter.auth.tokenCache.key: environment variable ' +
          'LEADBRIDGE_TOKEN_CACHE_KEY is not set (use ${LEADBRIDGE_TOKEN_CACHE_KEY:-default} ' +
          'to give a default)',
      );
    },
  );

  it(
    'lists every problem of a broken config (named by LEADBRIDGE_CONFIG) and ' + 'exits 2',
    async () => {
      const file = path.join(tempDir, 'broken.yaml');
      await writeFile(
        file,
        [
          'source:',
          '  partnerCenter:',
          '    auth: { kind: static, token: "${MISSING_TOKEN}" }',
          '    pageSize: 0',
          'targets:',
          '  - name: crm',
          '    kind: pipedrive',
          'ledger:',
          '  client: pg',
          '',
        ].join('\n'),
      );
      const result = await runCli(['config', 'check'], { LEADBRIDGE_CONFIG: file });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        `leadbridge: invalid config ${file} (4 problems):\n` +
          `  - ${file}:3: source.partnerCenter.auth.token: environment variable MISSING_TOKEN is ` +
          `not set (use \${MISSING_TOKEN:-default} to give a default)\n` +
          `  - ${file}:4: source.partnerCenter.pageSize: must be at least 1\n` +
          `  - ${file}:7: targets[0].kind: unknown kind "pipedrive" (expected one of: ` +
          `dynamics365, salesforce, hubspot)\n` +
          // an absent key is reported at its parent's line
          `  - ${file}:8: ledger.connection: required when client is pg\n`,
      );
    },
  );

  it('prefers --config over LEADBRIDGE_CONFIG and exits 2 when the file is missing', async () => {
    const missing = path.join(tempDir, 'absent.yaml');
    const result = await runCli(['--config', missing, 'config', 'check'], {
      LEADBRIDGE_CONFIG: 'config/leadbridge.yaml',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`leadbridge: cannot read config file ${missing}: no such file\n`);
  });

  it('shows the help for an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: unknown command 'frobnicate'");
    expect(result.stderr).toContain('Usage: leadbridge [options] [command]');
  });
});
