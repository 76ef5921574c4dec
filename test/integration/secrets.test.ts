// Planted secrets in every credential never show in logs, command output, ledger rows, /metrics or
// /healthz.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLogin } from '../../src/cli/login.js';
import { loadConfig } from '../../src/config/index.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  SIM_PUBLIC_CLIENT_ID,
  SIM_TENANT_ID,
  SIM_TLS_CERT_FILE,
  createEntraSimulator,
  type EntraSimulator,
} from '../../src/simulators/entra/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';
import {
  createHubSpotSimulator,
  type HubSpotSimulator,
} from '../../src/simulators/hubspot/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';
import { BIN, runCli, startNode, type ChildRun } from './support/cli-process.js';
import { newCustomerInquiry } from './support/referrals.js';

/** Distinctive values, one per credential; none may appear anywhere leadbridge writes. */
const SECRETS = {
  tokenCacheKey: '5ec4e7ca5ec4e7ca5ec4e7ca5ec4e7ca5ec4e7ca5ec4e7ca5ec4e7ca5ec4e7ca',
  partnerCenterClientSecret: 'PcSecret~Zq81vWm3Hk',
  dynamicsClientSecret: 'DynSecret~Lp47xQe9Rt',
  dynamicsToken: 'DynToken.Hs73kPq0Wz',
  salesforceToken: '00DSfToken!Vb62nKs8Yw',
  salesforceClientSecret: 'SfSecret~Mc93tJh5Ua',
  graphClientSecret: 'GraphSecret~Fd28pXz4Nc',
  graphToken: 'GraphToken.Ue51mBv7Lc',
  teamsSignature: 'TeamsSig8Kw3Rr6Qs2Pj',
  hubspotToken: 'pat-na1-5ec4e7ca-7d1e-4a2b-9c3d-6e5f4a3b2c1d',
  hubspotClientSecret: 'HsSecret~Qa71wEr3Ty',
  hubspotRefreshToken: 'HsRefresh~Ui58oPa2Sd',
  refusedTeamsSignature: 'TeamsSig0Ab9Cd8Ef7Gh',
} as const;
const DYNAMICS_APP = '1d1d1d1d-0000-4000-8000-000000000001';
const GRAPH_APP = '1d1d1d1d-0000-4000-8000-000000000002';
const WORKFLOW = { id: 'secret-alerts', teamId: 'sim-team', channelId: '19:alerts@thread.tacv2' };

let entra: EntraSimulator;
let pc: PartnerCenterSimulator;
let dynamics: DynamicsSimulator;
let salesforce: SalesforceSimulator;
let graph: GraphSimulator;
let hubspot: HubSpotSimulator;
let dir: string;
/** Everything leadbridge wrote that a person or another system can read, by where it came from. */
const seen = new Map<string, string>();

const env = {
  LEADBRIDGE_TOKEN_CACHE_KEY: SECRETS.tokenCacheKey,
  // msal's client-credentials requests to the HTTPS Entra simulator trust its certificate this way.
  NODE_EXTRA_CA_CERTS: SIM_TLS_CERT_FILE,
};

function teamsUrl(sig: string): string {
  const trigger = `workflows/${WORKFLOW.id}/triggers/manual/paths/invoke`;
  const query = `api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`;
  return `${graph.url}/powerautomate/automations/direct/${trigger}?${query}`;
}

/** An Entra ID client-credentials block (YAML flow mapping) for the Entra ID simulator. */
function entraApp(clientId: string, secret: string): string {
  return (
    `{ kind: clientCredentials, tenantId: ${SIM_TENANT_ID}, clientId: ${clientId}, ` +
    `clientSecret: "${secret}", authorityHost: ${entra.url} }`
  );
}

/**
 * The working config: every credential is a planted secret the simulators accept. The Entra ID
 * simulator issues tokens for the Partner Center API only, so Dynamics and Graph take planted
 * static tokens here; their client secrets are planted in the refused config.
 */
function goodConfig(): string {
  return [
    'source:',
    '  partnerCenter:',
    `    baseUrl: ${pc.url}`,
    '    auth:',
    '      kind: user',
    `      tenantId: ${SIM_TENANT_ID}`,
    `      clientId: ${SIM_PUBLIC_CLIENT_ID}`,
    `      authorityHost: ${entra.url}`,
    `      authorityCaFile: ${SIM_TLS_CERT_FILE}`,
    '      tokenCache: { key: "${LEADBRIDGE_TOKEN_CACHE_KEY}" }',
    '    overlapSeconds: 1',
    'targets:',
    '  - name: dynamics',
    '    kind: dynamics365',
    '    settings:',
    `      url: ${dynamics.url}`,
    `      auth: { kind: static, token: "${SECRETS.dynamicsToken}" }`,
    '  - name: salesforce',
    '    kind: salesforce',
    '    settings:',
    `      instanceUrl: ${salesforce.url}`,
    `      auth: { kind: accessToken, token: "${SECRETS.salesforceToken}" }`,
    '  - name: hubspot',
    '    kind: hubspot',
    '    settings:',
    `      baseUrl: ${hubspot.url}`,
    `      auth: { kind: privateApp, token: "${SECRETS.hubspotToken}" }`,
    'ledger: { filename: ./ledger.sqlite }',
    'worker: { intervalSeconds: 60, jitterSeconds: 0, health: { enabled: true, port: 0 } }',
    'alerts:',
    `  graph: { baseUrl: ${graph.url}, auth: { kind: static, token: "${SECRETS.graphToken}" } }`,
    '  sender: leads-bot@contoso.com',
    '  recipients: [sales@contoso.com]',
    `  teams: { webhookUrl: "${teamsUrl(SECRETS.teamsSignature)}" }`,
    '',
  ].join('\n');
}

/** The refused config: planted secrets every service refuses (errors are where leaks hide). */
function refusedConfig(): string {
  return [
    'source:',
    '  partnerCenter:',
    `    baseUrl: ${pc.url}`,
    `    auth: ${entraApp(GRAPH_APP, SECRETS.partnerCenterClientSecret)}`,
    'targets:',
    '  - name: dynamics',
    '    kind: dynamics365',
    '    settings:',
    `      url: ${dynamics.url}`,
    `      auth: ${entraApp(GRAPH_APP, SECRETS.dynamicsClientSecret)}`,
    '  - name: salesforce',
    '    kind: salesforce',
    '    settings:',
    `      instanceUrl: ${salesforce.url}`,
    '      auth:',
    '        kind: clientCredentials',
    '        clientId: lb-app',
    `        clientSecret: "${SECRETS.salesforceClientSecret}"`,
    `        loginUrl: ${salesforce.url}`,
    '  - name: hubspot',
    '    kind: hubspot',
    '    settings:',
    `      baseUrl: ${hubspot.url}`,
    '      auth:',
    '        kind: oauth',
    '        clientId: lb-hubspot',
    `        clientSecret: "${SECRETS.hubspotClientSecret}"`,
    `        refreshToken: "${SECRETS.hubspotRefreshToken}"`,
    'ledger: { filename: ./refused.sqlite }',
    'worker: { intervalSeconds: 60, jitterSeconds: 0, health: { enabled: true, port: 0 } }',
    'alerts:',
    '  graph:',
    `    baseUrl: ${graph.url}`,
    `    auth: ${entraApp(DYNAMICS_APP, SECRETS.graphClientSecret)}`,
    '  sender: leads-bot@contoso.com',
    '  recipients: [sales@contoso.com]',
    `  teams: { webhookUrl: "${teamsUrl(SECRETS.refusedTeamsSignature)}" }`,
    '',
  ].join('\n');
}

beforeAll(async () => {
  entra = createEntraSimulator({
    port: 0,
    clients: [
      { clientId: SIM_PUBLIC_CLIENT_ID },
      {
        clientId: DYNAMICS_APP,
        secret: SECRETS.dynamicsClientSecret,
        roles: ['user_impersonation'],
      },
      { clientId: GRAPH_APP, secret: SECRETS.graphClientSecret, roles: ['Mail.Send'] },
    ],
  });
  pc = createPartnerCenterSimulator({ port: 0, referrals: 12, seed: 18 });
  dynamics = createDynamicsSimulator({ port: 0 });
  // Salesforce knows another secret for lb-app: the refused config's client-credentials grant
  // fails.
  salesforce = createSalesforceSimulator({ port: 0, oauthClients: { 'lb-app': 'another-secret' } });
  graph = createGraphSimulator({
    port: 0,
    workflows: [{ ...WORKFLOW, sig: SECRETS.teamsSignature }],
  });
  // HubSpot knows another secret for lb-hubspot: the refused config's token refresh fails.
  hubspot = createHubSpotSimulator({
    port: 0,
    oauthApps: [{ clientId: 'lb-hubspot', clientSecret: 'other', refreshToken: 'other' }],
  });
  await Promise.all([
    entra.start(),
    pc.start(),
    dynamics.start(),
    salesforce.start(),
    graph.start(),
    hubspot.start(),
  ]);
  // A hot lead, so that an alert goes out by mail and to Teams.
  newCustomerInquiry(pc.store, { details: { customerRequestedContact: true, notes: 'call me' } });
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-secrets-'));
  await writeFile(path.join(dir, 'good.yaml'), goodConfig());
  await writeFile(path.join(dir, 'refused.yaml'), refusedConfig());
});

afterAll(async () => {
  await Promise.all([
    entra.stop(),
    pc.stop(),
    dynamics.stop(),
    salesforce.stop(),
    graph.stop(),
    hubspot.stop(),
  ]);
  await rm(dir, { recursive: true, force: true });
});

async function cli(name: string, args: string[]): Promise<number | null> {
  const result = await runCli(args, { cwd: dir, env });
  seen.set(`${name}: stdout`, result.stdout);
  seen.set(`${name}: stderr`, result.stderr);
  return result.code;
}

/**
 * `run` until its first cycle is done (or failed); the /healthz and /metrics bodies meanwhile; then
 * SIGTERM.
 */
async function runOnce(name: string, config: string): Promise<void> {
  const run: ChildRun = startNode(
    [BIN, '--config', config, '--log-format', 'json', '--log-level', 'debug', 'run'],
    { cwd: dir, env },
  );
  try {
    const deadline = Date.now() + 40_000;
    while (!/"message":"cycle (done|failed)/.test(run.stderr())) {
      if (Date.now() > deadline || run.child.exitCode !== null)
        throw new Error(`${name}: no cycle done: ${run.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = /"healthz":"(http:\/\/127\.0\.0\.1:\d+)\/healthz"/.exec(run.stderr())![1]!;
    seen.set(`${name}: /healthz`, await (await fetch(`${base}/healthz`)).text());
    seen.set(`${name}: /metrics`, await (await fetch(`${base}/metrics`)).text());
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    seen.set(`${name}: logs`, run.stdout() + run.stderr());
  }
}

async function ledgerRows(file: string): Promise<string> {
  const db = knex({ client: 'sqlite3', connection: { filename: file }, useNullAsDefault: true });
  try {
    const tables = (await db('sqlite_master').where({ type: 'table' }).pluck('name')) as string[];
    const dump: string[] = [];
    for (const table of tables) dump.push(`${table}: ${JSON.stringify(await db(table).select())}`);
    return dump.join('\n');
  } finally {
    await db.destroy();
  }
}

/**
 * The secret as written, and the forms it could leak in (URL- and base64-encoded, and a distinctive
 * middle).
 */
function forms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret).toString('base64'),
    secret.slice(4, 16),
  ];
}

describe('secrets stay secret', () => {
  it('working setup: login, config check, sync, status, trace, mappings, run', async () => {
    let loginOutput = '';
    const config = await loadConfig({
      file: path.join(dir, 'good.yaml'),
      env,
      cwd: dir,
      kinds: CRM_MODULES,
    });
    await runLogin({
      config,
      logger: {
        debug() {},
        info() {},
        warn() {},
        error() {},
        child() {
          return this;
        },
      },
      out: { write: (text: string) => ((loginOutput += text), true) } as NodeJS.WritableStream,
      // The user enters the code on the verification page (the simulator's grant store, in
      // process).
      onCode: (code) => {
        entra.grants.answerDeviceCode(code.userCode, {
          approve: true,
          upn: 'admin@contoso.example',
        });
      },
    });
    seen.set('login', loginOutput);
    const good = ['--config', 'good.yaml'];
    expect(await cli('config check', [...good, 'config', 'check'])).toBe(0);
    expect(await cli('sync --once', [...good, '--log-level', 'debug', 'sync', '--once'])).toBe(0);
    expect(graph.mails.length).toBeGreaterThan(0);
    const [referral] = pc.store.all();
    for (const [name, args] of [
      ['status', ['status']],
      ['status --json', ['status', '--json']],
      ['trace', ['trace', referral!.id]],
      ['trace --json', ['trace', referral!.id, '--json']],
      ['quarantine list', ['quarantine', 'list']],
      ['mappings check', ['mappings', 'check']],
      ['trace of an unknown id', ['trace', 'no-such-referral']],
    ] as const)
      await cli(name, [...good, ...args]);
    await runOnce('run', 'good.yaml');
    // The worker applies the retention by itself on its first cycle (then at most daily).
    expect(seen.get('run: logs')).toContain('"message":"ledger pruned"');
    seen.set('ledger rows', await ledgerRows(path.join(dir, 'ledger.sqlite')));
  }, 150_000);

  it('refused setup: every service refuses the planted secrets', async () => {
    const refused = ['--config', 'refused.yaml'];
    expect(await cli('refused config check', [...refused, 'config', 'check'])).toBe(0);
    expect(
      await cli('refused sync --once', [...refused, '--log-level', 'debug', 'sync', '--once']),
    ).toBe(1);
    await runOnce('refused run', 'refused.yaml');
    await cli('refused status', [...refused, 'status']);
    seen.set('refused ledger rows', await ledgerRows(path.join(dir, 'refused.sqlite')));
    // The refusals happened, so the error paths (where a request's body or URL could leak) were
    // taken.
    expect(seen.get('refused sync --once: stderr')).toContain(
      'AADSTS7000215: Invalid client secret',
    );
    expect(seen.get('refused run: logs')).toContain('client-credentials token request');
    expect(seen.get('refused run: logs')).toContain('invalid_client');
  }, 90_000);

  it('no planted secret (in any form) appears in anything collected above', () => {
    expect(seen.size).toBeGreaterThan(20);
    const leaks: string[] = [];
    for (const [where, text] of seen)
      for (const [name, secret] of Object.entries(SECRETS))
        for (const form of forms(secret))
          if (text.includes(form)) leaks.push(`${name} in ${where}`);
    expect(leaks).toEqual([]);
    // The command outputs show a redacted config, so the check above looked at the right places.
    expect(seen.get('config check: stdout')).toContain('[redacted]');
  });
});
