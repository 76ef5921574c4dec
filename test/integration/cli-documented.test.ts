// `leadbridge sync --once` against `leadbridge simulate --documented-links`: referrals served
// exactly as documented
// (http nextLinks, no list eTag, Tag objects, ids {}), plus unknown enum values and fields and a
// malformed field.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATORS } from '../../src/simulators/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');
const ODD = {
  objectsAndUnknowns: 'd0c00000-0000-4000-8000-000000000001',
  bareStringTags: 'd0c00000-0000-4000-8000-000000000002',
  malformed: 'd0c00000-0000-4000-8000-000000000003',
};

function run(args: string[]): {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  const env = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function admin(url: string, method: string, body?: unknown): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${url}`).toBeLessThan(300);
  return response.json();
}

describe('sync --once against the documented wire format', () => {
  let simulate: ReturnType<typeof run>;
  let urls: Record<string, string>;
  let tempDir: string;

  beforeAll(async () => {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-documented-'));
    simulate = run(['simulate', '--random-ports', '--referrals', '0', '--documented-links']);
    urls = await new Promise((resolve, reject) => {
      simulate.child.stdout!.on('data', () => {
        const lines = simulate.out().split('\n').filter(Boolean);
        if (lines.length >= SIMULATORS.length)
          resolve(Object.fromEntries(lines.map((line) => line.split(' '))));
      });
      void simulate.exited.then((code) =>
        reject(new Error(`simulate exited early (${code}): ${simulate.err()}`)),
      );
    });
  });

  afterAll(async () => {
    if (simulate.child.exitCode === null) simulate.child.kill('SIGKILL');
    await rm(tempDir, { recursive: true, force: true });
  });

  it(
    'syncs every referral of the seeded set into both CRMs, and names the path of a dropped ' +
      'malformed field',
    async () => {
      const pc = urls['partner-center']!;
      const seeded = await admin(`${pc}/_sim/seed`, 'POST', { count: 120, seed: 3 });
      // Odd referrals, stored as given: customer inquiries (Independent, Direct, not invited) built
      // on a seeded one.
      const template = await admin(`${pc}/_sim/referrals/${seeded.ids[0]}`, 'GET');
      const base = {
        ...template,
        type: 'Independent',
        qualification: 'Direct',
        inviteContext: null,
        status: 'New',
        substatus: 'Received',
        links: undefined,
      };
      await admin(`${pc}/_sim/referrals?raw=true`, 'POST', {
        ...base,
        id: ODD.objectsAndUnknowns,
        customerProfile: { ...template.customerProfile, ids: {}, size: 'Morethan100000employees' },
        details: {
          ...template.details,
          requirements: {
            industries: [{ id: 'Retail & Consumer Goods' }],
            products: [{ id: 'Azure' }],
            services: [{ id: 'DeploymentOrMigration' }],
            solutions: [],
            quantumNeeds: [{ id: 'Qubits' }],
          },
        },
        salesStage: 'Negotiate',
        brandNewVendorField: { since: '2027' },
      });
      await admin(`${pc}/_sim/referrals?raw=true`, 'POST', {
        ...base,
        id: ODD.bareStringTags,
        details: { ...template.details, requirements: { products: ['Azure', 'Teams'] } },
      });
      await admin(`${pc}/_sim/referrals?raw=true`, 'POST', {
        ...base,
        id: ODD.malformed,
        details: { ...template.details, closingDateTime: 'next spring' },
      });
      const all: any[] = [];
      for (const id of seeded.ids) all.push(await admin(`${pc}/_sim/referrals/${id}`, 'GET'));
      const wanted =
        all.filter(
          (r) => r.inviteContext === null || r.inviteContext?.invitedBy?.organizationId === 'msft',
        ).length + 3;

      const configFile = path.join(tempDir, 'both.yaml');
      await writeFile(
        configFile,
        [
          'source:',
          `  partnerCenter: { baseUrl: ${pc}, auth: { kind: static, token: sim-token } }`,
          'targets:',
          `  - { name: dynamics, kind: dynamics365, settings: { url: ${urls.dynamics365}, auth: ` +
            `{ kind: static, token: t } } }`,
          `  - { name: salesforce, kind: salesforce, settings: { instanceUrl: ${urls.salesforce}` +
            `, auth: { kind: accessToken, token: t } } }`,
          `ledger: { filename: ${path.join(tempDir, 'ledger.sqlite')} }`,
          'log: { level: warn, format: json }',
          '',
        ].join('\n'),
      );
      const sync = run(['--config', configFile, 'sync', '--once']);
      expect(await sync.exited).toBe(0);
      const summary = sync.out().split('\n');
      expect(summary[0]).toMatch(
        new RegExp(
          String.raw`^run sync-\S+: 123 referrals read in 2 pages, 0 invalid, 0 retried, 0` +
            String.raw` targets failed as a whole$`,
        ),
      );
      const counts = (target: string) =>
        `  ${target}: ${wanted} created, 0 updated, 0 unchanged, ${123 - wanted} skipped (lead ` +
        `kind), 0 skipped (archived), 0 skipped (lead converted), 0 failed, 0 quarantined`;
      expect(summary.slice(1, 4)).toEqual([
        counts('dynamics'),
        counts('salesforce'),
        `  partner-center: ${wanted} CRM ids written back to externalReferenceId`,
      ]);

      const warnings = sync
        .err()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const dropped = expect.objectContaining({
        level: 'warn',
        referralId: ODD.malformed,
        path: 'details.closingDateTime',
        problem: 'expected an ISO-8601 date-time (got "next spring")',
      });
      // Once per version: as listed, and again as the write-back's answer (that write rolled
      // updatedDateTime).
      expect(warnings.filter((w) => w.message === 'malformed referral field dropped')).toEqual([
        dropped,
        dropped,
      ]);
      expect(warnings.filter((w) => w.level === 'error')).toEqual([]);
      const traces = Object.values(ODD).map((id) => run(['--config', configFile, 'trace', id]));
      expect(await Promise.all(traces.map((trace) => trace.exited))).toEqual([0, 0, 0]);
      for (const [i, id] of Object.values(ODD).entries()) {
        expect(traces[i]!.out()).toMatch(/ dynamics created record=[0-9a-f-]{36}/);
        expect(traces[i]!.out()).toMatch(/ salesforce created record=00Q\w{15}/);
        // Written back with If-Match from a GET by id: documented list items carry no eTag.
        expect((await admin(`${pc}/_sim/referrals/${id}`, 'GET')).externalReferenceId).toMatch(
          /\S/,
        );
      }
    },
    120_000,
  );
});
