// The console over HTTP on a real ledger: loopback, admin token, CSRF, audited actions, no secrets.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  consoleListener,
  serveConsole,
  type ConsoleParts,
  type ConsoleServer,
} from '../../src/cli/console.js';
import { startHealthServer } from '../../src/worker/health.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';
import { BIN, runCli, startNode, waitForStdout } from './support/cli-process.js';
import { configSchemaFor, type LeadbridgeConfig } from '../../src/config/index.js';
import { CRM_MODULES } from '../../src/crm/modules.js';
import { silentLogger } from '../../src/core/log.js';
import {
  addApiCallCounts,
  apiCallCountsSince,
  auditTrail,
  getSyncStates,
  listAnsweredSince,
  listUnansweredReferrals,
  openLedger,
  recordReferralFacts,
  transitionSyncStates,
  type Ledger,
} from '../../src/ledger/index.js';
import { describeWithPg } from './support/pg.js';

const SECRET = 'd365-secret-token-value-never-shown';
const REFERRAL = '6f1e2d3c-4b5a-4978-8a69-5b4c3d2e1f00';
const TOKEN = 'admin-token-0123456789abcdef';

let dir: string;
let ledger: Ledger;
let config: LeadbridgeConfig;
const servers: ConsoleServer[] = [];

function parts(): ConsoleParts {
  return {
    config: () => config,
    ledger: () => ledger,
    logger: silentLogger,
    cwd: dir,
    nextCycleHint: () => 'the next cycle tries again',
  };
}

async function start(token: string | null, host = '127.0.0.1'): Promise<ConsoleServer> {
  const server = await serveConsole(parts(), { bindHost: host, token, localUser: 'tester' }, 0);
  servers.push(server);
  return server;
}

/** A browser's cookie jar in one string, and the page's CSRF token. */
async function visit(
  url: string,
  cookie = '',
): Promise<{ cookie: string; csrf: string; text: string }> {
  const response = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  const set = response.headers.getSetCookie().map((c) => c.split(';')[0]);
  const text = await response.text();
  return {
    cookie: [cookie, ...set].filter(Boolean).join('; '),
    csrf: /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? '',
    text,
  };
}

function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-console-'));
  config = configSchemaFor(CRM_MODULES).parse({
    source: {
      partnerCenter: { baseUrl: 'http://127.0.0.1:9', auth: { kind: 'static', token: SECRET } },
    },
    targets: [
      {
        name: 'dynamics',
        kind: 'dynamics365',
        settings: { url: 'http://127.0.0.1:9', auth: { kind: 'static', token: SECRET } },
      },
    ],
    ledger: { client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') },
  });
  ledger = await openLedger({ client: 'sqlite', filename: path.join(dir, 'ledger.sqlite') });
  await transitionSyncStates(ledger.db, 'dynamics', [
    {
      referralId: REFERRAL,
      to: 'quarantined',
      quarantineReason: 'mapping failed: companyname: value is required',
      runId: 'run-1',
    },
  ]);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await ledger?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the console on loopback', () => {
  it('answers its pages with a strict content security policy, never a secret', async () => {
    const server = await start(null);
    for (const page of ['', '/leads', '/quarantine', `/referral?q=${REFERRAL}`]) {
      const response = await fetch(`${server.url}${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      const text = await response.text();
      expect(text).not.toContain(SECRET);
    }
    const quarantine = await (await fetch(`${server.url}/quarantine`)).text();
    expect(quarantine).toContain('mapping failed: companyname: value is required');
  });

  it('refuses a request whose Host is not loopback (DNS rebinding)', async () => {
    const server = await start(null);
    // fetch never sends a Host of its choosing; node:http sends what it is given, as a rebinding
    // browser would.
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.get(server.url, { headers: { host: 'attacker.example:80' } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      request.on('error', reject);
    });
    expect(response.status).toBe(403);
    expect(response.body).toBe(
      'the console answers only on loopback addresses, not "attacker.example"',
    );
  });

  it('refuses an action without the CSRF token, or from another origin', async () => {
    const server = await start(null);
    const { cookie, csrf } = await visit(`${server.url}/quarantine`);
    const bare = await post(
      `${server.url}/actions/retry`,
      { item: `dynamics|${REFERRAL}` },
      { cookie },
    );
    expect(bare.status).toBe(403);
    expect(await bare.text()).toBe('refused: the form has no CSRF token (reload the page)');
    const foreign = await post(
      `${server.url}/actions/retry`,
      { item: `dynamics|${REFERRAL}`, _csrf: csrf },
      { cookie, origin: 'http://attacker.example' },
    );
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toBe(
      'refused: the form came from http://attacker.example, not from this console',
    );
    const otherSession = await post(`${server.url}/actions/retry`, {
      item: `dynamics|${REFERRAL}`,
      _csrf: csrf,
    });
    expect(otherSession.status).toBe(403);
    const state = (await getSyncStates(ledger.db, 'dynamics', [REFERRAL])).get(REFERRAL);
    expect(state?.state).toBe('quarantined');
  });

  it('retries with the token, and the audit trail says who did it', async () => {
    const server = await start(null);
    const { cookie, csrf } = await visit(`${server.url}/quarantine`);
    const response = await post(
      `${server.url}/actions/retry`,
      { item: `dynamics|${REFERRAL}`, _csrf: csrf, back: '/quarantine' },
      { cookie, origin: new URL(server.url).origin },
    );
    expect(response.status).toBe(303);
    expect(decodeURIComponent(response.headers.get('location') ?? '')).toBe(
      '/console/quarantine?ok=Retry scheduled: 1 sync and 0 outcomes; the next cycle tries again.',
    );
    const state = (await getSyncStates(ledger.db, 'dynamics', [REFERRAL])).get(REFERRAL);
    expect(state).toMatchObject({ state: 'failed', attempts: 0, quarantineReason: null });
    const audit = await auditTrail(ledger.db, REFERRAL);
    expect(audit.at(-1)).toMatchObject({
      action: 'retry-requested',
      target: 'dynamics',
      detail: { who: 'tester (console, from 127.0.0.1)', via: 'console' },
    });
  });

  it('sends a refused action back with its reason: an id the ledger never saw', async () => {
    const server = await start(null);
    const { cookie, csrf } = await visit(`${server.url}/referral?q=${REFERRAL}`);
    const response = await post(
      `${server.url}/actions/retry`,
      { referralId: 'no-such-referral', _csrf: csrf, back: '/referral?q=no-such-referral' },
      { cookie },
    );
    expect(response.status).toBe(303);
    const location = decodeURIComponent(response.headers.get('location') ?? '');
    expect(location).toContain('/console/referral?q=no-such-referral&error=nothing retried:');
    expect(location).toContain('unknown referral no-such-referral');
  });

  it('does not listen on another address without an admin token', async () => {
    await expect(start(null, '0.0.0.0')).rejects.toThrow(
      'the console would listen on 0.0.0.0, which is not loopback: set LEADBRIDGE_CONSOLE_TOKEN',
    );
  });
});

describe('the sign-in banner', () => {
  it('says what to run when nobody has signed in to Partner Center (auth.kind: user)', async () => {
    const signedOut = configSchemaFor(CRM_MODULES).parse({
      ...config,
      source: {
        partnerCenter: {
          baseUrl: 'http://127.0.0.1:9',
          auth: {
            kind: 'user',
            tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
            clientId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
            tokenCache: { key: 'ab'.repeat(32), file: path.join(dir, 'no-cache.json') },
          },
        },
      },
    });
    const server = await serveConsole(
      { ...parts(), config: () => signedOut },
      { bindHost: '127.0.0.1', token: null, localUser: 'tester' },
      0,
    );
    servers.push(server);
    const text = await (await fetch(server.url)).text();
    expect(text).toContain('<strong>Partner Center sign-in needed.</strong>');
    expect(text).toContain('<code>leadbridge login partner-center</code>');
    expect(text).toContain('Why: nobody has signed in yet');
    expect(text).not.toContain('ab'.repeat(32));
  });
});

describe('the console with an admin token', () => {
  it('sends a visitor to sign in, refuses a wrong token, and lets the right one in', async () => {
    const server = await start(TOKEN);
    const first = await visit(server.url);
    expect(first.text).toBe('');
    const signIn = await visit(`${server.url}/sign-in`, first.cookie);
    const wrong = await post(
      `${server.url}/sign-in`,
      { token: 'not-the-token', _csrf: signIn.csrf },
      { cookie: signIn.cookie },
    );
    expect(wrong.status).toBe(401);
    const right = await post(
      `${server.url}/sign-in`,
      { token: TOKEN, _csrf: signIn.csrf },
      { cookie: signIn.cookie },
    );
    expect(right.status).toBe(303);
    const cookie = [
      signIn.cookie,
      ...right.headers.getSetCookie().map((c) => c.split(';')[0]),
    ].join('; ');
    const page = await visit(server.url, cookie);
    expect(page.text).toContain('admin token holder (console, from 127.0.0.1)');
    expect(page.text).not.toContain(TOKEN);
  });

  it('redirects an unsigned visitor and accepts the token as a bearer header', async () => {
    const server = await start(TOKEN);
    const anonymous = await fetch(server.url, { redirect: 'manual' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/console/sign-in');
    const bearer = await fetch(server.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
  });
});

describe('where the console is served', () => {
  it('the worker mounts it under /console beside /healthz', async () => {
    const health = await startHealthServer({
      port: 0,
      metrics: new WorkerMetrics(),
      health: () => ({ lastSuccessAt: null, startedAt: new Date(), maxAgeSeconds: 600 }),
      mounts: [
        {
          prefix: '/console',
          listener: consoleListener(parts(), {
            bindHost: '127.0.0.1',
            token: null,
            localUser: 'w',
          }),
        },
      ],
    });
    try {
      const page = await fetch(`${health.url}/console/quarantine`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<h1>Quarantine</h1>');
      expect((await fetch(`${health.url}/healthz`)).status).toBe(200);
    } finally {
      await health.close();
    }
  });

  it('`leadbridge console` serves the ledger until SIGTERM; 0.0.0.0 needs a token', async () => {
    const file = path.join(dir, 'console.yaml');
    await writeFile(
      file,
      `source:\n  partnerCenter:\n    baseUrl: http://127.0.0.1:9\n` +
        `    auth: { kind: static, token: pc-token }\n` +
        `targets:\n  - name: dynamics\n    kind: dynamics365\n` +
        `    settings: { url: "http://127.0.0.1:9", auth: { kind: static, token: t } }\n` +
        `ledger: { filename: "${path.join(dir, 'ledger.sqlite')}" }\nlog: { level: error }\n`,
    );
    const refused = await runCli(['--config', file, 'console', '--host', '0.0.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('set LEADBRIDGE_CONSOLE_TOKEN');
    const run = startNode([BIN, '--config', file, 'console', '--port', '0']);
    const out = await waitForStdout(run, (text) => /console http:\S+\n/.test(text));
    const url = /console (http:\S+)\n/.exec(out)![1]!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
    const page = await fetch(url);
    expect(await page.text()).toContain('This console reads the ledger on its own.');
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
  });
});

function ledgerFacts(open: () => Promise<Ledger>): void {
  it('keeps referral facts (first answer kept) and sums API calls per bucket', async () => {
    const db = await open();
    try {
      const base = {
        customerName: 'Fabrikam',
        leadKind: 'customerInquiry',
        hot: true,
        status: 'New',
        substatus: 'Received',
        receivedAt: '2026-12-01T10:00:00.000Z',
        referralUpdatedAt: '2026-12-01T10:00:00.000Z',
        answered: false,
      };
      await recordReferralFacts(db.db, [{ ...base, referralId: 'r1' }]);
      expect((await listUnansweredReferrals(db.db, 10)).map((f) => f.referralId)).toEqual(['r1']);
      await recordReferralFacts(db.db, [
        {
          ...base,
          referralId: 'r1',
          status: 'Active',
          substatus: 'Accepted',
          answered: true,
          referralUpdatedAt: '2026-12-02T09:00:00.000Z',
        },
      ]);
      await recordReferralFacts(db.db, [
        {
          ...base,
          referralId: 'r1',
          status: 'Closed',
          substatus: 'Won',
          answered: true,
          referralUpdatedAt: '2026-12-20T09:00:00.000Z',
        },
      ]);
      expect(await listUnansweredReferrals(db.db, 10)).toEqual([]);
      expect(await listAnsweredSince(db.db, '2026-11-01T00:00:00.000Z')).toMatchObject([
        { referralId: 'r1', hot: true, answeredAt: '2026-12-02T09:00:00.000Z', substatus: 'Won' },
      ]);
      const bucket = '2026-12-04T10:05:00.000Z';
      await addApiCallCounts(db.db, [
        { bucket, api: 'salesforce', calls: 3, throttled: 1, errors: 0 },
      ]);
      await addApiCallCounts(db.db, [
        { bucket, api: 'salesforce', calls: 2, throttled: 0, errors: 1 },
      ]);
      expect(await apiCallCountsSince(db.db, '2026-12-04T10:00:00.000Z')).toEqual([
        { bucket, api: 'salesforce', calls: 5, throttled: 1, errors: 1 },
      ]);
    } finally {
      await db.close();
    }
  });
}

describe('console ledger tables on SQLite', () => {
  ledgerFacts(() => openLedger({ client: 'sqlite', filename: path.join(dir, 'facts.sqlite') }));
});

describeWithPg('console ledger tables on PostgreSQL', (url) => {
  const schema = `lb_console_${process.pid}`;
  ledgerFacts(() => openLedger({ client: 'pg', connection: url, schema }));
  afterAll(async () => {
    const db = await openLedger({ client: 'pg', connection: url, schema });
    await db.db.raw('drop schema if exists ?? cascade', [schema]);
    await db.close();
  });
});
