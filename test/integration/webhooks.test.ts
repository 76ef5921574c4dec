// Partner Center webhooks end to end: simulator, signed callbacks, listener, early cycles, silence.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhooksConfigSchema, type WebhooksConfig } from '../../src/config/webhooks.js';
import { staticToken } from '../../src/core/auth.js';
import { silentLogger } from '../../src/core/log.js';
import { WebhookRegistrationClient } from '../../src/source/partner-center/webhooks.js';
import type { Runtime } from '../../src/sync/cycle.js';
import { WebhookTrigger } from '../../src/cli/webhook-trigger.js';
import { Worker } from '../../src/worker/worker.js';
import { startHarness, type Harness } from './support/harness.js';
import { newCustomerInquiry } from './support/referrals.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SIM_ROOT_CA = path.join(ROOT, 'src/simulators/partner-center/webhook-tls/ca.pem');

let harness: Harness;
let registration: WebhookRegistrationClient;

beforeAll(async () => {
  harness = await startHarness();
  registration = new WebhookRegistrationClient({
    baseUrl: harness.pc.url,
    credential: staticToken('pc-token'),
  });
});

afterAll(async () => {
  await harness.close();
});

function webhooksConfig(overrides: Record<string, unknown> = {}): WebhooksConfig {
  return webhooksConfigSchema.parse({
    enabled: true,
    port: 0,
    certificateUrlPrefixes: [`${harness.pc.url}/_sim/webhooks/certificate`],
    trustedIssuersFile: SIM_ROOT_CA,
    coalesceMs: 50,
    ...overrides,
  });
}

interface Captured {
  headers: Record<string, string>;
  body: string;
}

/** A plain receiver that keeps what Partner Center posts, to replay it at the worker's listener. */
async function captureServer(): Promise<{
  url: string;
  calls: Captured[];
  close(): Promise<void>;
}> {
  const calls: Captured[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      calls.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function post(url: string, headers: Record<string, string>, body: string): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body });
}

describe('the simulator registration API (partner-center-webhooks.md)', () => {
  afterEach(() => harness.pc.webhooks.clear());

  it('registers, shows, updates, removes; refuses unknown events and a second POST', async () => {
    expect(await registration.show()).toBeNull();
    const first = await registration.register('https://hooks.contoso.com/pc');
    expect(first.url).toBe('https://hooks.contoso.com/pc');
    expect(first.events).toEqual([
      'referral-created',
      'referral-updated',
      'related-referral-created',
      'related-referral-updated',
    ]);
    expect(first.subscriberId).toMatch(/^[0-9a-f-]{36}$/);
    const moved = await registration.register('https://hooks.contoso.com/pc2');
    expect(moved.subscriberId).toBe(first.subscriberId);
    expect((await registration.show())?.url).toBe('https://hooks.contoso.com/pc2');

    const headers = { Authorization: 'Bearer t', 'Content-Type': 'application/json' };
    const again = await post(
      `${harness.pc.url}/webhooks/v1/registration`,
      headers,
      JSON.stringify({ WebhookUrl: 'https://x.example/h', WebhookEvents: ['referral-created'] }),
    );
    expect(again.status).toBe(409);
    expect(await registration.remove()).toBe(true);
    expect(await registration.remove()).toBe(false);
    const unknown = await post(
      `${harness.pc.url}/webhooks/v1/registration`,
      headers,
      JSON.stringify({ WebhookUrl: 'https://x.example/h', WebhookEvents: ['referral-deleted'] }),
    );
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain(
      'unknown WebhookEvents "referral-deleted"',
    );
    const plain = await post(
      `${harness.pc.url}/webhooks/v1/registration`,
      headers,
      JSON.stringify({
        WebhookUrl: 'http://hooks.contoso.com/h',
        WebhookEvents: ['referral-created'],
      }),
    );
    expect(plain.status).toBe(400);
  });
});

describe('signed callbacks and the listener', () => {
  afterEach(() => harness.pc.webhooks.clear());

  it('accepts a genuine callback once; unsigned, tampered, replayed, foreign: 401', async () => {
    const capture = await captureServer();
    await registration.register(capture.url, ['referral-created']);
    const referral = newCustomerInquiry(harness.pc.store);
    await harness.pc.webhooks.idle();
    expect(capture.calls).toHaveLength(1);
    const { headers, body } = capture.calls[0]!;
    expect(headers['x-ms-signature-algorithm']).toBe('rsa-sha256');
    expect(headers.authorization).toMatch(/^Signature [A-Za-z0-9+/=]+$/);
    expect(JSON.parse(body)).toMatchObject({
      EventName: 'referral-created',
      ResourceUri: `${harness.pc.url}/v1.0/engagements/referrals/${referral.id}`,
      ResourceName: 'referral',
      AuditUri: null,
    });

    const early: number[] = [];
    const trigger = new WebhookTrigger({
      config: webhooksConfig(),
      cwd: ROOT,
      worker: {
        requestEarlyCycle: (ms) => early.push(ms),
        problems: { raise: () => {}, clear: () => {} },
      },
      alert: async () => {},
      reregister: async () => {},
    });
    const url = await trigger.start();
    try {
      const forward = {
        'Content-Type': 'application/json',
        Authorization: headers.authorization!,
        'X-MS-Certificate-Url': headers['x-ms-certificate-url']!,
        'X-MS-Signature-Algorithm': headers['x-ms-signature-algorithm']!,
      };
      expect((await post(url, forward, body)).status).toBe(200);
      expect(early).toEqual([50]);
      // The same signed call again: a replay.
      const replay = await post(url, forward, body);
      expect(replay.status).toBe(401);
      expect(await replay.text()).toContain('replayed callback');
      const { Authorization: _a, ...unsigned } = forward;
      expect((await post(url, unsigned, body)).status).toBe(401);
      const tampered = body.replace('referral-created', 'referral-updated');
      expect((await post(url, forward, tampered)).status).toBe(401);
      const foreign = { ...forward, 'X-MS-Certificate-Url': 'https://evil.example/cert.cer' };
      const refused = await post(url, foreign, body);
      expect(refused.status).toBe(401);
      expect(await refused.text()).toContain('is not under webhooks.certificateUrlPrefixes');
      expect(early).toEqual([50]);
      expect(trigger.counts).toEqual({ accepted: 1, refused: 4 });
    } finally {
      await trigger.close();
      await capture.close();
    }
  });

  it('drops callbacks in the fault mode and logs them as dropped', async () => {
    const capture = await captureServer();
    await registration.register(capture.url);
    const fault = await fetch(`${harness.pc.url}/_sim/webhooks/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ dropCallbacks: true }),
    });
    expect(fault.status).toBe(200);
    newCustomerInquiry(harness.pc.store);
    await harness.pc.webhooks.idle();
    expect(capture.calls).toHaveLength(0);
    const log = (await (await fetch(`${harness.pc.url}/_sim/webhooks/deliveries`)).json()) as {
      deliveries: Array<{ eventName: string; outcome: unknown }>;
    };
    expect(log.deliveries).toEqual([
      expect.objectContaining({ eventName: 'referral-created', outcome: 'dropped' }),
    ]);
    await capture.close();
  });
});

describe('the worker with webhooks', () => {
  let runtime: Runtime;
  let worker: Worker;
  let trigger: WebhookTrigger;
  let clockOffsetMs = 0;
  const alerts: string[] = [];
  const reregistered: string[] = [];
  let cycles = 0;
  let cycleWaiters: Array<() => void> = [];

  const nextCycle = () => new Promise<void>((resolve) => cycleWaiters.push(resolve));
  /** Waits cycle by cycle (at most 20) until `done` holds. */
  const cyclesUntil = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 20 && !done(); i++) await nextCycle();
  };

  beforeAll(async () => {
    runtime = await harness.runtime();
    worker = new Worker({
      runtime: async () => runtime,
      // Only a callback can make the next cycle come soon: the interval is an hour, unless the test
      // shortens it.
      intervalMs: () => intervalMs,
      jitterMs: () => 0,
      logger: silentLogger,
      onCycle: async () => {
        cycles++;
        await trigger.afterCycle();
        const waiting = cycleWaiters;
        cycleWaiters = [];
        for (const resolve of waiting) resolve();
      },
      onReferralsSeen: (ids) => trigger.watch.polled(ids),
    });
    trigger = new WebhookTrigger({
      config: webhooksConfig({
        silenceMinutes: 1,
        reregister: true,
        publicUrl: 'https://hooks.contoso.com/pc',
      }),
      cwd: ROOT,
      worker,
      now: () => Date.now() + clockOffsetMs,
      alert: async (report) => {
        alerts.push(report.since);
      },
      reregister: async (url) => {
        reregistered.push(url);
      },
    });
    const url = await trigger.start();
    await registration.register(url);
    const first = nextCycle();
    void worker.run();
    await first;
  });

  let intervalMs = 3_600_000;

  afterAll(async () => {
    await worker.stop();
    await trigger.close();
  });

  it('a new referral reaches the CRM within seconds of its creation', async () => {
    const before = cycles;
    const created = Date.now();
    const referral = newCustomerInquiry(harness.pc.store);
    await nextCycle();
    expect(harness.dynamics.store.findLeadByKey(referral.id)).toBeDefined();
    expect(cycles).toBe(before + 1);
    // The interval is an hour: only the callback can have made this cycle run.
    expect(Date.now() - created).toBeLessThan(30_000);
  });

  it('with callbacks dropped, polling still syncs, and the silence is reported once', async () => {
    harness.pc.webhooks.dropCallbacks = true;
    const referral = newCustomerInquiry(harness.pc.store);
    intervalMs = 200;
    worker.requestEarlyCycle(0);
    await cyclesUntil(() => harness.dynamics.store.findLeadByKey(referral.id) !== undefined);
    expect(harness.dynamics.store.findLeadByKey(referral.id)).toBeDefined();
    expect(alerts).toEqual([]);
    clockOffsetMs = 61_000;
    await cyclesUntil(() => alerts.length > 0);
    expect(alerts).toHaveLength(1);
    expect(reregistered).toEqual(['https://hooks.contoso.com/pc']);
    expect(worker.problems.list().map((p) => p.cause)).toContain('partner-center-webhooks');
    await nextCycle();
    expect(alerts).toHaveLength(1);
    // Callbacks come back: the problem clears.
    harness.pc.webhooks.dropCallbacks = false;
    newCustomerInquiry(harness.pc.store);
    await harness.pc.webhooks.idle();
    expect(worker.problems.list().map((p) => p.cause)).not.toContain('partner-center-webhooks');
  });
});
