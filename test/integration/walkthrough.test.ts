// The Quick start walk-through: the demo banner and README show the same steps, and `demo leads`
// shows the ids they need.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBanner, walkThrough } from '../../scripts/demo-banner.js';
import {
  startSimulators,
  stopSimulators,
  type RunningSimulator,
} from '../../src/simulators/index.js';
import { ROOT, runCli } from './support/cli-process.js';

const DEFAULT_URLS: Record<string, string> = {
  'partner-center': 'http://127.0.0.1:7401',
  dynamics365: 'http://127.0.0.1:7402',
  salesforce: 'http://127.0.0.1:7403',
  graph: 'http://127.0.0.1:7404',
  entra: 'https://127.0.0.1:7405',
  hubspot: 'http://127.0.0.1:7406',
};

describe('banner and README', () => {
  it("README shows the banner's walk-through, line for line, with the default ports", async () => {
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('CFG=.leadbridge-demo/leadbridge.yaml'));
    const lines = walkThrough((name) => DEFAULT_URLS[name]!);
    expect(lines.length).toBe(11);
    for (const line of lines) expect(block).toContain(`\n${line}\n`);
  });

  it(
    'the banner gives the close-date step before the win, and says what qualifying alone ' + 'does',
    () => {
      const banner = demoBanner({
        url: (name) => DEFAULT_URLS[name]!,
        console: 'http://127.0.0.1:7400/console',
        config: '/demo/.leadbridge-demo/leadbridge.yaml',
        referrals: '200',
        intervalSeconds: '15',
        newLeadEverySeconds: '20',
      });
      const lines = banner.split('\n');
      expect(lines).toContain('  CFG=/demo/.leadbridge-demo/leadbridge.yaml');
      expect(lines).toContain('  Open the console: http://127.0.0.1:7400/console');
      expect(lines).toContain(
        '  hubspot        http://127.0.0.1:7406   (contacts, companies and deals: ' +
          'http://127.0.0.1:7406/_sim/objects/deals)',
      );
      expect(lines).toContain(
        '  npx leadbridge --config $CFG demo leads         # referral id, Dynamics lead id, ' +
          'opportunity id, company, states',
      );
      const patch = lines.findIndex((line) =>
        line.includes(
          `-d '{"estimatedclosedate": "2027-03-31", "estimatedvalue": 50000}' ` +
            `http://127.0.0.1:7402/_sim/opportunities/<opportunityId>`,
        ),
      );
      const win = lines.indexOf(
        '  curl -s -X POST http://127.0.0.1:7402/_sim/opportunities/<opportunityId>/win',
      );
      expect(patch).toBeGreaterThan(0);
      expect(win).toBeGreaterThan(patch);
      expect(banner).toContain('without one the accept is quarantined');
      expect(banner).not.toContain('the referral becomes Active/Accepted), then win it');
    },
  );
});

describe('leadbridge demo leads', { timeout: 120_000 }, () => {
  let dir: string;
  let simulators: RunningSimulator[];
  let configFile: string;
  const url = (name: string) => simulators.find((s) => s.name === name)!.url;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-walk-'));
    simulators = await startSimulators({
      host: '127.0.0.1',
      basePort: null,
      seed: 7,
      referrals: 6,
    });
    configFile = path.join(dir, 'leadbridge.yaml');
    await writeFile(
      configFile,
      [
        'source:',
        '  partnerCenter:',
        `    baseUrl: ${url('partner-center')}`,
        '    auth: { kind: static, token: t }',
        'targets:',
        '  - name: dynamics',
        '    kind: dynamics365',
        '    settings:',
        `      url: ${url('dynamics365')}`,
        '      auth: { kind: static, token: t }',
        'ledger:',
        `  filename: ${path.join(dir, 'ledger.sqlite')}`,
        '',
      ].join('\n'),
    );
    const sync = await runCli(['--config', configFile, '--log-level', 'error', 'sync', '--once'], {
      cwd: dir,
    });
    expect(sync.code, sync.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await stopSimulators(simulators);
    await rm(dir, { recursive: true, force: true });
  });

  async function simLeads(): Promise<Array<Record<string, unknown>>> {
    return (
      (await (await fetch(`${url('dynamics365')}/_sim/leads`)).json()) as {
        value: Array<Record<string, unknown>>;
      }
    ).value;
  }

  it(
    'prints one row per synced lead; the lead just qualified comes first, with its ' +
      'opportunity id',
    async () => {
      const leads = await simLeads();
      expect(leads.length).toBeGreaterThan(1);
      const lead = leads[leads.length - 1]!;
      // Dataverse stamps modifiedon to the second: qualify in a later second than the sync, so
      // "changed last" is this lead.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const qualified = (await (
        await fetch(`${url('dynamics365')}/_sim/leads/${String(lead.leadid)}/qualify`, {
          method: 'POST',
        })
      ).json()) as {
        value: Array<{ opportunityid: string }>;
      };
      const opportunityId = qualified.value[0]!.opportunityid;

      const result = await runCli(['--config', configFile, 'demo', 'leads'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      const rows = result.stdout.trimEnd().split('\n');
      expect(rows[0]!.split(/\s{2,}/)).toEqual([
        'REFERRAL ID',
        'DYNAMICS LEAD ID',
        'OPPORTUNITY ID',
        'COMPANY',
        'CRM STATE',
        'REFERRAL',
      ]);
      expect(rows.length).toBe(leads.length + 1);
      expect(rows[1]!.split(/\s{2,}/)).toEqual([
        String(lead.lb_referralid),
        String(lead.leadid),
        opportunityId,
        String(lead.companyname),
        'Qualified, opportunity Open',
        'New/Received',
      ]);
      const others = rows.slice(2).map((row) => row.split(/\s{2,}/));
      for (const cells of others)
        expect([cells[2], cells[4], cells[5]]).toEqual(['-', 'Open', 'New/Received']);
    },
  );

  it('shows only the referrals named, and exits 1 for an id it does not know', async () => {
    const lead = (await simLeads())[0]!;
    const one = await runCli(
      ['--config', configFile, 'demo', 'leads', String(lead.lb_referralid)],
      { cwd: dir },
    );
    expect(one.code).toBe(0);
    expect(one.stdout.trimEnd().split('\n').length).toBe(2);
    expect(one.stdout).toContain(String(lead.leadid));
    const unknown = await runCli(
      ['--config', configFile, 'demo', 'leads', '00000000-0000-4000-8000-00000000dead'],
      { cwd: dir },
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      `leadbridge: demo leads: no lead in the Dynamics 365 simulator (${url('dynamics365')}) ` +
        `has the referral, lead or opportunity id 00000000-0000-4000-8000-00000000dead\n`,
    );
  });
});
