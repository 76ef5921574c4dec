// App+User sign-in end to end: device code login through the Entra ID simulator, sync, silent
// refresh, revocation, login again.
import { CRM_MODULES } from '../../src/crm/modules.js';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLogin } from '../../src/cli/login.js';
import { collectStatus, formatStatus } from '../../src/cli/status.js';
import { loadConfig, type LeadbridgeConfig } from '../../src/config/index.js';
import type { Referral } from '../../src/simulators/partner-center/payload.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  SIM_CONFIDENTIAL_CLIENT_ID,
  SIM_CONFIDENTIAL_CLIENT_SECRET,
  SIM_PUBLIC_CLIENT_ID,
  SIM_TENANT_ID,
  SIM_TLS_CERT_FILE,
  createEntraSimulator,
  type EntraSimulator,
} from '../../src/simulators/entra/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import { startHealthServer, type HealthServer } from '../../src/worker/health.js';
import { userSignInFor } from '../../src/cli/compose.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { createRuntime } from '../../src/cli/compose.js';
import { Worker } from '../../src/worker/worker.js';
import { newCustomerInquiry } from './support/referrals.js';

const CACHE_KEY = '8f3a61c2d4b7e90f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081';
const USER = 'referrals.admin@contoso.example';
const SIGN_IN_ALERT =
  'Partner Center sign-in needed: leadbridge has paused reading and updating referrals';
const CA = readFileSync(SIM_TLS_CERT_FILE);

let entra: EntraSimulator;
let pc: PartnerCenterSimulator;
let dynamics: DynamicsSimulator;
let graph: GraphSimulator;
let dir: string;
let config: LeadbridgeConfig;

/**
 * A request to the HTTPS Entra simulator, trusting its certificate the way the config's
 * authorityCaFile does.
 */
function entraRequest(
  method: string,
  url: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      { method, ca: CA, headers: body ? { 'Content-Type': contentType } : {} },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `leadbridge login partner-center`, with the user approving the code on the simulator's
 * verification page.
 */
async function login(): Promise<string> {
  let out = '';
  const stream = {
    write: (text: string) => ((out += text), true),
  } as unknown as NodeJS.WritableStream;
  await runLogin({
    config,
    logger: silent,
    out: stream,
    onCode: async (code) => {
      const answer = await entraRequest(
        'POST',
        `${entra.url}/_sim/devicecodes/approve`,
        JSON.stringify({ userCode: code.userCode, user: USER }),
      );
      expect(answer.status).toBe(200);
    },
  });
  return out;
}

const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const signInMails = () =>
  graph.mails.filter((mail) => (mail.message as { subject?: string }).subject === SIGN_IN_ALERT);

beforeAll(async () => {
  entra = createEntraSimulator({ port: 0, accessTokenLifetimeSeconds: 2, pollIntervalSeconds: 1 });
  pc = createPartnerCenterSimulator({ port: 0, referrals: 0 });
  dynamics = createDynamicsSimulator({ port: 0 });
  graph = createGraphSimulator({ port: 0 });
  await Promise.all([entra.start(), pc.start(), dynamics.start(), graph.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-sign-in-'));
  const file = path.join(dir, 'leadbridge.yaml');
  await writeFile(
    file,
    [
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
      `  - { name: dynamics, kind: dynamics365, settings: { url: ${dynamics.url}, auth: { ` +
        `kind: static, token: t } } }`,
      'ledger: { filename: ./ledger.sqlite }',
      'alerts:',
      `  graph: { baseUrl: ${graph.url}, auth: { kind: static, token: t } }`,
      '  sender: leads-bot@contoso.com',
      '  recipients: [sales@contoso.com]',
      '',
    ].join('\n'),
  );
  config = await loadConfig({
    file,
    env: { LEADBRIDGE_TOKEN_CACHE_KEY: CACHE_KEY },
    cwd: dir,
    kinds: CRM_MODULES,
  });
});

afterAll(async () => {
  await Promise.all([entra.stop(), pc.stop(), dynamics.stop(), graph.stop()]);
  await rm(dir, { recursive: true, force: true });
});

function newReferral(name: string): Referral {
  return newCustomerInquiry(pc.store, {
    customerProfile: { name },
    details: {
      dealValue: 20_000,
      currency: 'EUR',
      closingDateTime: '2027-03-31T00:00:00Z',
      notes: `lead of ${name}`,
    },
  });
}

const leadFor = (id: string) => dynamics.store.findLeadByKey(id);

describe('Partner Center App+User sign-in (device code) end to end', () => {
  let runtime: Runtime;
  let worker: Worker;
  let health: HealthServer;
  let running: Promise<void>;

  afterAll(async () => {
    await worker?.stop();
    await running;
    await health?.close();
    await runtime?.close();
  });

  it(
    'signs in, syncs, refreshes, survives a revocation (503, one alert, status), and resumes ' +
      'after a new login with nothing lost',
    async () => {
      const output = await login();
      expect(output).toContain(`signed in to Partner Center as ${USER}`);
      const cacheFile = path.join(dir, 'partner-center-token-cache.json');
      expect((await stat(cacheFile)).mode & 0o777).toBe(0o600);
      const stored = await readFile(cacheFile, 'utf8');
      expect(stored).not.toContain(USER);
      expect(stored).not.toContain('RefreshToken');

      const first = [newReferral('Fabrikam'), newReferral('Contoso')];
      runtime = await createRuntime(config);
      worker = new Worker({
        runtime: async () => runtime,
        intervalMs: () => 300,
        jitterMs: () => 0,
        logger: silent,
      });
      health = await startHealthServer({
        port: 0,
        metrics: new WorkerMetrics(),
        health: () => worker.healthSnapshot(600),
      });
      running = worker.run();
      await waitFor('the first referrals in Dynamics', () =>
        first.every((r) => leadFor(r.id) !== undefined),
      );

      // Past the 2-second token lifetime: only a refresh-token grant can have produced the token
      // that
      // reads this one.
      await new Promise((r) => setTimeout(r, 2_100));
      const afterExpiry = newReferral('Northwind');
      await waitFor(
        'a referral read with a refreshed token',
        () => leadFor(afterExpiry.id) !== undefined,
      );
      expect(entra.grants.counts.refreshed).toBeGreaterThanOrEqual(1);

      const revoked = await entraRequest(
        'POST',
        `${entra.url}/_sim/users/${encodeURIComponent(USER)}/revoke`,
      );
      expect(revoked.status).toBe(200);
      const duringOutage = newReferral('Tailspin');
      // A CRM user qualifies a lead meanwhile: the outcome must reach Partner Center once the
      // sign-in
      // is back.
      const qualified = await fetch(
        `${dynamics.url}/_sim/leads/${String(leadFor(first[0]!.id)?.leadid)}/qualify`,
        { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' },
      );
      expect(qualified.status).toBe(200);
      await waitFor('the lost sign-in to show', () =>
        worker.problems.list().some((p) => p.cause === 'partner-center-sign-in'),
      );
      const cyclesAtLoss = worker.cycles;
      await waitFor('two more failing cycles', () => worker.cycles >= cyclesAtLoss + 2);

      const healthz = await fetch(`${health.url}/healthz`);
      expect(healthz.status).toBe(503);
      const report = (await healthz.json()) as {
        status: string;
        problems: Array<{ cause: string; reason: string; failing: boolean }>;
      };
      // A cycle that ran between the revocation and the token's end may also list a target whose
      // outcome read failed
      // (not failing yet: its threshold is maxAgeSeconds); the sign-in is the problem that fails
      // the
      // check at once.
      const signIn = report.problems.find((listed) => listed.cause === 'partner-center-sign-in');
      expect(signIn?.failing, JSON.stringify(report.problems)).toBe(true);
      const problem = { name: signIn!.cause, cause: signIn!.reason };
      expect(report.status).toBe('failing');
      expect(problem.name).toBe('partner-center-sign-in');
      expect(problem.cause).toContain(`the sign-in of ${USER} is no longer valid`);
      expect(problem.cause).toContain('AADSTS50173');
      expect(problem.cause).toContain('sign in again: leadbridge login partner-center');
      expect(signInMails()).toHaveLength(1);
      const status = formatStatus(await collectStatus(config, runtime.ledger, 'test ledger'));
      expect(status).toContain(
        'partner center sign-in: sign in again: leadbridge login partner-center (partner-center: ' +
          'the sign-in of referrals.admin@contoso.example is no longer valid',
      );
      expect(leadFor(duringOutage.id)).toBeUndefined();

      await login();
      await waitFor(
        'the referral created during the outage in Dynamics',
        () => leadFor(duringOutage.id) !== undefined,
      );
      await waitFor('a healthy worker', () => worker.problems.list().length === 0);
      await waitFor(
        'the qualified lead accepted in Partner Center',
        () => pc.store.get(first[0]!.id)?.status === 'Active',
      );
      expect(pc.store.get(first[0]!.id)?.substatus).toBe('Accepted');
      expect((await fetch(`${health.url}/healthz`)).status).toBe(200);
      for (const r of [...first, afterExpiry, duringOutage])
        expect(pc.store.get(r.id)?.externalReferenceId).toBe(leadFor(r.id)?.leadid);
      expect(signInMails()).toHaveLength(1);
      expect(formatStatus(await collectStatus(config, runtime.ledger, 'test ledger'))).toMatch(
        /partner center sign-in: referrals\.admin@contoso\.example, signed in \d{4}-/,
      );
    },
    60_000,
  );
});

describe('the Partner Center simulator and app-only tokens', () => {
  it('refuses a client-credentials token (roles, no scp) with 403 accessDenied', async () => {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: SIM_CONFIDENTIAL_CLIENT_ID,
      client_secret: SIM_CONFIDENTIAL_CLIENT_SECRET,
      scope: 'https://api.partner.microsoft.com/.default',
    });
    const token = await entraRequest(
      'POST',
      `${entra.url}/${SIM_TENANT_ID}/oauth2/v2.0/token`,
      form.toString(),
      'application/x-www-form-urlencoded',
    );
    expect(token.status).toBe(200);
    const accessToken = String(token.body.access_token);
    const claims = JSON.parse(
      Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    expect(claims.roles).toEqual(['Simulator.AppOnly']);
    expect(claims.scp).toBeUndefined();
    const response = await fetch(`${pc.url}/v1.0/engagements/referrals`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('accessDenied');
    expect(body.error.message).toBe(
      "The caller doesn't have permission to perform the action: referrals take App+User " +
        '(delegated) tokens, and this is an app-only token (roles, no scp).',
    );
  });

  it(
    'refuses an expired delegated token, and one for another audience, with 401 ' +
      'unauthenticated',
    async () => {
      const jwt = (claims: Record<string, unknown>) =>
        ['{"typ":"JWT","alg":"RS256"}', JSON.stringify(claims), 'sig']
          .map((part, i) => (i < 2 ? Buffer.from(part).toString('base64url') : part))
          .join('.');
      const nowS = Math.floor(Date.now() / 1000);
      const expired = await fetch(`${pc.url}/v1.0/engagements/referrals`, {
        headers: {
          Authorization: `Bearer ${jwt({
            aud: 'https://api.partner.' + 'microsoft.com',
            exp: nowS - 5,
            scp: 'user_impersonation',
          })}`,
        },
      });
      expect(expired.status).toBe(401);
      expect(expired.headers.get('www-authenticate')).toBe(
        'Bearer error="invalid_token", error_description="the access token has expired"',
      );
      expect(await expired.json()).toEqual({
        error: {
          code: 'unauthenticated',
          message: 'The caller is not authenticated: the access token has expired.',
        },
      });
      const graphToken = await fetch(`${pc.url}/v1.0/engagements/referrals`, {
        headers: {
          Authorization: `Bearer ${jwt({
            aud: 'https://graph.' + 'microsoft.com',
            exp: nowS + 600,
            scp: 'Mail.Send',
          })}`,
        },
      });
      expect(graphToken.status).toBe(401);
      expect(((await graphToken.json()) as { error: { message: string } }).error.message).toBe(
        "The caller is not authenticated: the token's audience is " +
          '"https://graph.microsoft.com", not https://api.partner.microsoft.com.',
      );
    },
  );

  it(
    'answers an unknown refresh token as the identity platform does (invalid_grant, AADSTS ' +
      'code, trace and correlation ids, timestamp)',
    async () => {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: SIM_PUBLIC_CLIENT_ID,
        refresh_token: 'not-a-token',
      });
      const answer = await entraRequest(
        'POST',
        `${entra.url}/${SIM_TENANT_ID}/oauth2/v2.0/token`,
        form.toString(),
        'application/x-www-form-urlencoded',
      );
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('invalid_grant');
      expect(answer.body.error_codes).toEqual([70000]);
      expect(String(answer.body.error_description)).toMatch(
        new RegExp(
          String.raw`^AADSTS70000: The refresh token is malformed, unknown, or was issued` +
            String.raw` to another client\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID:` +
            String.raw` [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`,
        ),
      );
      expect(Object.keys(answer.body).sort()).toEqual([
        'correlation_id',
        'error',
        'error_codes',
        'error_description',
        'error_uri',
        'timestamp',
        'trace_id',
      ]);
    },
  );
});

describe('leadbridge login partner-center (the command)', () => {
  const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/leadbridge.js');

  it('prints the code and the page, waits for the user, and exits 0 once signed in', async () => {
    const configFile = path.join(dir, 'cli-login.yaml');
    const yaml = (await readFile(path.join(dir, 'leadbridge.yaml'), 'utf8')).replace(
      'tokenCache: { key: "${LEADBRIDGE_TOKEN_CACHE_KEY}" }',
      `tokenCache: { key: "\${LEADBRIDGE_TOKEN_CACHE_KEY}", file: ./cli-cache.json }`,
    );
    await writeFile(configFile, yaml);
    const child = spawn(
      process.execPath,
      [BIN, '--config', configFile, 'login', 'partner-center'],
      {
        cwd: dir,
        env: { ...process.env, LEADBRIDGE_TOKEN_CACHE_KEY: CACHE_KEY },
        stdio: 'pipe',
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    await waitFor(
      'the device code on stdout',
      () => /enter the code [A-Z0-9]{8} /.test(stdout),
      60_000,
    );
    const userCode = /enter the code ([A-Z0-9]{8}) /.exec(stdout)![1]!;
    expect(stdout).toContain(
      `To sign in, use a web browser to open the page ${entra.url}/_sim/devicelogin and enter ` +
        `the code ${userCode} to authenticate.`,
    );
    expect(
      (
        await entraRequest(
          'POST',
          `${entra.url}/_sim/devicecodes/approve`,
          JSON.stringify({ userCode, user: 'referrals.user@contoso.example' }),
        )
      ).status,
    ).toBe(200);
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(
      `signed in to Partner Center as referrals.user@contoso.example; the token cache is ` +
        `${path.join(dir, 'cli-cache.json')} (owner-only, encrypted).`,
    );
    expect((await stat(path.join(dir, 'cli-cache.json'))).mode & 0o777).toBe(0o600);
  }, 90_000);
});

describe('UserSignIn token reuse and invalidate', () => {
  it(
    'reuses an hour-long token for concurrent callers without asking Entra again; ' +
      'invalidate() (after a 401) forces exactly one refresh',
    async () => {
      const hourLong = createEntraSimulator({ port: 0, pollIntervalSeconds: 1 });
      await hourLong.start();
      try {
        const auth = config.source.partnerCenter.auth;
        if (auth.kind !== 'user') throw new Error('the test config signs in as a user');
        const signIn = userSignInFor(
          {
            ...auth,
            authorityHost: hourLong.url,
            tokenCache: { ...auth.tokenCache, file: path.join(dir, 'reuse-cache.json') },
          },
          silent,
        );
        await signIn.login(async (code) => {
          await entraRequest(
            'POST',
            `${hourLong.url}/_sim/devicecodes/approve`,
            JSON.stringify({ userCode: code.userCode }),
          );
        });
        const tokenCalls = () =>
          hourLong.server.requests().filter((r) => r.path.includes('/oauth2/v2.0/token')).length;
        const afterLogin = tokenCalls();
        const tokens = await Promise.all(Array.from({ length: 20 }, () => signIn.getToken()));
        expect(new Set(tokens).size).toBe(1);
        expect(await signIn.getToken()).toBe(tokens[0]);
        expect(tokenCalls()).toBe(afterLogin);
        signIn.invalidate();
        const renewed = await signIn.getToken();
        expect(renewed).not.toBe(tokens[0]);
        expect(tokenCalls()).toBe(afterLogin + 1);
        expect(hourLong.grants.counts).toEqual({ deviceCodes: 1, refreshed: 1, refused: 0 });
      } finally {
        await hourLong.stop();
      }
    },
  );
});
