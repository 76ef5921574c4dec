// AlertSender through @microsoft/microsoft-graph-client against the Graph simulator, with a real
// SQLite ledger.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Referral } from '../../src/core/referral.js';
import {
  auditForRun,
  openLedger,
  transitionSyncStates,
  type Ledger,
} from '../../src/ledger/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';
import { AlertSender, alertsConfigSchema, type AlertReferral } from '../../src/alerts/alerts.js';
import { WorkerMetrics } from '../../src/worker/metrics.js';

const SENDER = 'leads-bot@contoso.com';
const NOW = new Date('2026-11-24T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REQUEST_ID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

let graph: GraphSimulator;
let dir: string;
let ledger: Ledger;
let ledgerCount = 0;

beforeAll(async () => {
  graph = createGraphSimulator({ mailboxes: [SENDER] });
  await graph.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-alerts-'));
});
afterAll(async () => {
  await graph.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await fetch(`${graph.url}/_sim/reset`, { method: 'POST' });
  ledger = await openLedger({
    client: 'sqlite',
    filename: path.join(dir, `ledger-${++ledgerCount}.sqlite`),
  });
});
afterEach(() => ledger.close());

function alertSender(
  overrides: Record<string, unknown> = {},
  now: () => Date = () => NOW,
  metrics?: WorkerMetrics,
): AlertSender {
  const config = alertsConfigSchema.parse({
    graph: { baseUrl: graph.url, auth: { kind: 'static', token: 'graph-token' } },
    sender: SENDER,
    recipients: ['sales@contoso.com'],
    ...overrides,
  });
  return new AlertSender({
    config,
    ledger,
    now,
    metrics,
    referralLink: (id) => `https://partner.example/leads/${id}`,
  });
}

function referral(id: string, overrides: Partial<Referral> = {}): Referral {
  return {
    id,
    name: `Deal ${id}`,
    createdDateTime: '2026-11-23T09:30:00.0000000Z',
    updatedDateTime: '2026-11-23T09:30:00.0000000Z',
    expirationDateTime: '2026-12-07T09:30:00.0000000Z',
    status: 'New',
    substatus: 'Received',
    type: 'Independent',
    qualification: 'Direct',
    eTag: `"etag-${id}"`,
    customerProfile: {
      name: 'Fabrikam Ltd',
      address: { country: 'DE' },
      size: '51to250employees',
      team: [
        {
          firstName: 'Jane',
          lastName: 'Doe',
          email: 'jane@fabrikam.example',
          phoneNumber: '+49 30 1234',
        },
      ],
    },
    details: {
      notes: 'Needs 40 seats of Contoso CRM',
      customerRequestedContact: true,
      dealValue: 12000,
      currency: 'EUR',
    },
    ...overrides,
  };
}

function item(r: Referral, crmLinks?: AlertReferral['crmLinks']): AlertReferral {
  return { referral: r, leadKind: 'customerInquiry', ...(crmLinks ? { crmLinks } : {}) };
}

async function injectFault(rule: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${graph.url}/_sim/faults`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ rules: [rule] }),
  });
  expect(response.status).toBe(200);
}

describe('hot leads', () => {
  it('sends one mail per hot, unanswered referral, exactly once across three calls', async () => {
    const sender = alertSender();
    const items = [
      item(referral('r-hot'), [{ target: 'dynamics', crmRecordId: 'lead-42' }]),
      item(referral('r-cold', { details: { customerRequestedContact: false } })),
      item(referral('r-accepted', { status: 'Active', substatus: 'Accepted' })),
    ];
    expect(await sender.hotLeads(items, 'run-1')).toEqual({ sent: 1, failed: 0, errors: [] });
    expect(await sender.hotLeads(items, 'run-2')).toEqual({ sent: 0, failed: 0, errors: [] });
    expect(await sender.hotLeads(items, 'run-3')).toEqual({ sent: 0, failed: 0, errors: [] });

    expect(graph.mails).toHaveLength(1);
    const mail = graph.mails[0];
    expect(mail).toMatchObject({
      sender: SENDER,
      subject: 'Hot lead: Fabrikam Ltd asks to be contacted — Deal r-hot',
      contentType: 'Text',
      to: [{ address: 'sales@contoso.com', name: null }],
      importance: 'high',
    });
    // The client sends its own client-request-id, which the simulator echoes and records.
    expect(mail?.clientRequestId).toMatch(new RegExp(`^${REQUEST_ID}$`));
    expect(mail?.content).toBe(
      [
        'The customer asked interested partners to contact them directly. Reach out as soon as ' +
          'possible: a quick first contact raises your visibility in future customer searches.',
        '',
        'Partner Center flags the lead as hot for 72 hours after it arrives (until ' +
          '2026-11-26T09:30:00.000Z); after that it stays active but loses its urgent flag.',
        '',
        'Accept or decline it before 2026-12-07T09:30:00.0000000Z, when Partner Center ' +
          'archives it as expired.',
        '',
        'Customer: Fabrikam Ltd',
        'Contact: Jane Doe <jane@fabrikam.example>, phone +49 30 1234',
        'Country: DE',
        'Company size: 51to250employees',
        'Lead kind: customer inquiry (marketplace lead)',
        'Deal value: 12000 EUR',
        'Notes: Needs 40 seats of Contoso CRM',
        'Received: 2026-11-23T09:30:00.0000000Z',
        'Referral id: r-hot',
        'Portal: https://partner.example/leads/r-hot',
        'CRM records: dynamics: lead-42',
        'Contact by: 2026-11-26T09:30:00.000Z',
        '',
      ].join('\n'),
    );
    const audit = await auditForRun(ledger.db, 'run-1');
    expect(audit.map((e) => [e.referralId, e.action, e.detail])).toEqual([
      [
        'r-hot',
        'alert-sent',
        {
          kind: 'hot-lead',
          channel: 'mail',
          to: ['sales@contoso.com'],
          subject: 'Hot lead: Fabrikam Ltd asks to be contacted — Deal r-hot',
        },
      ],
    ]);
  });

  it('releases the alert when sending fails, so the next call sends it, once', async () => {
    const sender = alertSender();
    const items = [item(referral('r-hot'))];
    await injectFault({ kind: '5xx', status: 500, count: 1, pathContains: '/sendMail' });
    const failed = await sender.hotLeads(items, 'run-1');
    expect(failed).toMatchObject({ sent: 0, failed: 1 });
    expect(failed.errors).toHaveLength(1);
    expect(failed.errors[0]).toMatch(
      new RegExp(
        `^graph: sendMail from leads-bot@contoso\\.com to sales@contoso\\.com → 500 ` +
          `generalException: The service is temporarily unavailable\\. \\(request-id ` +
          `${REQUEST_ID}\\)$`,
      ),
    );
    expect(graph.mails).toHaveLength(0);
    expect(await auditForRun(ledger.db, 'run-1')).toEqual([]);

    expect(await sender.hotLeads(items, 'run-2')).toEqual({ sent: 1, failed: 0, errors: [] });
    expect(await sender.hotLeads(items, 'run-3')).toEqual({ sent: 0, failed: 0, errors: [] });
    expect(graph.mails).toHaveLength(1);
    // The 500 was not retried within the call: sendMail is not idempotent.
    expect(graph.server.requests().map((r) => r.status)).toEqual([500, 202]);
  });

  it('survives a 429 by waiting Retry-After and sending again within the same call', async () => {
    const metrics = new WorkerMetrics();
    const sender = alertSender({}, () => NOW, metrics);
    await injectFault({ kind: '429', count: 1, retryAfterSeconds: 0, pathContains: '/sendMail' });
    expect(await sender.hotLeads([item(referral('r-hot'))], 'run-1')).toEqual({
      sent: 1,
      failed: 0,
      errors: [],
    });
    expect(graph.mails).toHaveLength(1);
    expect(graph.server.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1.0/users/leads-bot%40contoso.com/sendMail 429',
      'POST /v1.0/users/leads-bot%40contoso.com/sendMail 202',
    ]);
    const text = await metrics.text();
    expect(text).toContain('leadbridge_api_calls_total{api="graph",method="POST",status="429"} 1');
    expect(text).toContain('leadbridge_api_calls_total{api="graph",method="POST",status="202"} 1');
    expect(text).toContain('leadbridge_api_throttled_total{api="graph"} 1');
    expect(text).toContain('leadbridge_alerts_sent_total{kind="hot-lead"} 1');
  });

  it(
    "honours Retry-After inside the Graph client's RetryHandler: waits the seconds asked, and " +
      'the mail arrives once',
    async () => {
      // maxAttempts 1: the sender's own retry loop cannot be what repeats the call.
      const retryPolicy = {
        maxAttempts: 1,
        baseDelayMs: 1,
        maxDelayMs: 1,
        maxRetryAfterMs: 0,
        retryableStatuses: [429],
      };
      const config = alertsConfigSchema.parse({
        graph: { baseUrl: graph.url, auth: { kind: 'static', token: 't' } },
        sender: SENDER,
        recipients: ['sales@contoso.com'],
      });
      await injectFault({ kind: '429', count: 1, retryAfterSeconds: 1, pathContains: '/sendMail' });
      const sender = new AlertSender({
        config,
        ledger,
        retryPolicy,
        referralLink: (id) => `https://partner.example/leads/${id}`,
      });
      expect(await sender.hotLeads([item(referral('r-hot'))], 'run-1')).toEqual({
        sent: 1,
        failed: 0,
        errors: [],
      });
      const [throttled, sent] = graph.server.requests();
      expect([throttled?.status, sent?.status, graph.server.requests().length]).toEqual([
        429, 202, 2,
      ]);
      expect(Date.parse(sent?.at ?? '') - Date.parse(throttled?.at ?? '')).toBeGreaterThanOrEqual(
        950,
      );
      expect(graph.mails).toHaveLength(1);
      // The retry carries the same client-request-id, so Graph's logs tie the two attempts
      // together.
      expect(graph.mails[0]?.clientRequestId).toMatch(new RegExp(`^${REQUEST_ID}$`));
    },
  );

  it(
    'retries a 503 that carries Retry-After, but never a 504 (the mail may have ' + 'gone)',
    async () => {
      const sender = alertSender();
      await injectFault({
        kind: '5xx',
        status: 503,
        retryAfterSeconds: 0,
        count: 1,
        pathContains: '/sendMail',
      });
      expect(await sender.hotLeads([item(referral('r-1'))], 'run-1')).toEqual({
        sent: 1,
        failed: 0,
        errors: [],
      });
      expect(graph.server.requests().map((r) => r.status)).toEqual([503, 202]);
      await injectFault({ kind: '5xx', status: 504, count: 1, pathContains: '/sendMail' });
      const result = await sender.hotLeads([item(referral('r-2'))], 'run-2');
      expect(result).toMatchObject({ sent: 0, failed: 1 });
      expect(graph.server.requests().map((r) => r.status)).toEqual([503, 202, 504]);
    },
  );

  it(
    'does not wait out a Retry-After longer than 10 s: the alert fails now, is released, and ' +
      'goes out on the next call',
    async () => {
      const sender = alertSender();
      await injectFault({
        kind: '429',
        count: 1,
        retryAfterSeconds: 30,
        pathContains: '/sendMail',
      });
      const started = Date.now();
      const first = await sender.hotLeads([item(referral('r-hot'))], 'run-1');
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(first).toMatchObject({ sent: 0, failed: 1 });
      expect(first.errors[0]).toMatch(
        new RegExp(
          `^graph: sendMail from leads-bot@contoso\\.com to sales@contoso\\.com → 429 ` +
            `TooManyRequests: Rate limit is exceeded\\. Try again later\\. \\(request-id ` +
            `${REQUEST_ID}\\)$`,
        ),
      );
      expect(await sender.hotLeads([item(referral('r-hot'))], 'run-2')).toEqual({
        sent: 1,
        failed: 0,
        errors: [],
      });
      expect(graph.mails).toHaveLength(1);
    },
  );

  it(
    'stops after a short Retry-After wait when the worker stops, and sends the alert on the ' +
      'next call',
    async () => {
      const sender = alertSender();
      await injectFault({ kind: '429', count: 1, retryAfterSeconds: 1, pathContains: '/sendMail' });
      const stopping = new AbortController();
      const pending = sender.hotLeads([item(referral('r-hot'))], 'run-1', {
        signal: stopping.signal,
      });
      await expect.poll(() => graph.server.requests().length).toBe(1);
      stopping.abort();
      expect(await pending).toEqual({
        sent: 0,
        failed: 1,
        errors: [
          'hot-lead mail "Hot lead: Fabrikam Ltd asks to be contacted — Deal r-hot" aborted: the ' +
            'worker is stopping',
        ],
      });
      expect(graph.server.requests()).toHaveLength(1);
      expect(await sender.hotLeads([item(referral('r-hot'))], 'run-2')).toEqual({
        sent: 1,
        failed: 0,
        errors: [],
      });
      expect(graph.mails).toHaveLength(1);
    },
  );

  it("names the sender and Graph's message when the mailbox is refused", async () => {
    const sender = alertSender({ sender: 'ghost@contoso.com' });
    const result = await sender.hotLeads([item(referral('r-hot'))], 'run-1');
    expect(result).toMatchObject({ sent: 0, failed: 1 });
    expect(result.errors[0]).toMatch(
      new RegExp(
        `^graph: sendMail from ghost@contoso\\.com to sales@contoso\\.com → 404 ` +
          `ErrorInvalidUser: The requested user 'ghost@contoso\\.com' is invalid\\. ` +
          `\\(request-id ${REQUEST_ID}\\)$`,
      ),
    );
  });

  it(
    'also posts each alert to Teams through the Workflows webhook, each channel once and ' +
      'independently',
    async () => {
      const sender = alertSender({ teams: { webhookUrl: graph.workflowUrl() } });
      const items = [item(referral('r-hot'))];
      await injectFault({ kind: '5xx', status: 502, count: 1, pathContains: '/workflows/' });
      const first = await sender.hotLeads(items, 'run-1');
      expect(first).toEqual({
        sent: 1,
        failed: 1,
        errors: [
          `Teams webhook ${new URL(graph.url).host} (workflow leadbridge-alerts) → 502 ` +
            `generalException: The service is temporarily unavailable.`,
        ],
      });
      expect(await sender.hotLeads(items, 'run-2')).toEqual({ sent: 1, failed: 0, errors: [] });
      expect(await sender.hotLeads(items, 'run-3')).toEqual({ sent: 0, failed: 0, errors: [] });

      expect(graph.mails).toHaveLength(1);
      expect(graph.channelMessages).toHaveLength(0);
      expect(graph.workflowRuns.map((r) => [r.status, r.error])).toEqual([['Succeeded', null]]);
      expect(graph.teamsWebhookPosts).toHaveLength(1);
      const card = graph.teamsWebhookPosts[0]?.card as {
        body: Array<Record<string, unknown>>;
        actions: unknown[];
        version: string;
      };
      expect(graph.teamsWebhookPosts[0]).toMatchObject({
        teamId: 'sim-team',
        channelId: '19:leadbridge-alerts@thread.tacv2',
      });
      expect(card.version).toBe('1.4');
      expect(card.body[0]).toEqual({
        type: 'TextBlock',
        text: 'Hot lead: Fabrikam Ltd asks to be contacted — Deal r-hot',
        weight: 'Bolder',
        size: 'Medium',
        wrap: true,
        color: 'Attention',
      });
      expect(card.body).toContainEqual({
        type: 'FactSet',
        facts: expect.arrayContaining([
          { title: 'Contact', value: 'Jane Doe <jane@fabrikam.example>, phone +49 30 1234' },
          { title: 'Portal', value: 'https://partner.example/leads/r-hot' },
        ]),
      });
      expect(card.actions).toEqual([
        {
          type: 'Action.OpenUrl',
          title: 'Open Portal',
          url: 'https://partner.example/leads/r-hot',
        },
      ]);
      const audit = await auditForRun(ledger.db, 'run-2');
      expect(audit.map((e) => e.detail)).toEqual([
        {
          kind: 'hot-lead',
          channel: 'teams',
          to: [`Teams webhook ${new URL(graph.url).host} (workflow leadbridge-alerts)`],
          subject: 'Hot lead: Fabrikam Ltd asks to be contacted — Deal r-hot',
        },
      ]);
    },
  );

  it('waits out a throttled webhook (429 Retry-After) and posts the card once', async () => {
    const sender = alertSender({ teams: { webhookUrl: graph.workflowUrl() } });
    await injectFault({ kind: '429', count: 1, retryAfterSeconds: 0, pathContains: '/workflows/' });
    expect(await sender.hotLeads([item(referral('r-hot'))], 'run-1')).toEqual({
      sent: 2,
      failed: 0,
      errors: [],
    });
    expect(graph.teamsWebhookPosts).toHaveLength(1);
    expect(graph.server.requests().map((r) => r.status)).toEqual([202, 429, 202]);
  });

  it('names the webhook, never its signature, when the URL is refused', async () => {
    const forged = graph.workflowUrl().replace(/sig=[^&]+/, 'sig=forged-secret');
    const result = await alertSender({ teams: { webhookUrl: forged } }).hotLeads(
      [item(referral('r-hot'))],
      'run-1',
    );
    expect(result).toEqual({
      sent: 1,
      failed: 1,
      errors: [
        `Teams webhook ${new URL(graph.url).host} (workflow leadbridge-alerts) → 401 ` +
          `DirectApiInvalidAuthorizationSignature: The provided authorization signature is not ` +
          `valid. (copy the workflow's URL again into alerts.teams.webhookUrl)`,
      ],
    });
    expect(graph.teamsWebhookPosts).toHaveLength(0);
  });

  it(
    'retries a refused connection (never processed) and reports it with the socket code when ' +
      'Graph stays down',
    async () => {
      const down = createGraphSimulator();
      const downUrl = await down.start();
      await down.stop();
      const config = alertsConfigSchema.parse({
        graph: { baseUrl: downUrl, auth: { kind: 'static', token: 't' } },
        sender: SENDER,
        recipients: ['sales@contoso.com'],
      });
      const retryPolicy = {
        maxAttempts: 2,
        baseDelayMs: 1,
        maxDelayMs: 1,
        maxRetryAfterMs: 0,
        retryableStatuses: [429],
      };
      const metrics = new WorkerMetrics();
      const sender = new AlertSender({ config, ledger, retryPolicy, metrics });
      const result = await sender.hotLeads([item(referral('r-hot'))], 'run-1');
      expect(result).toMatchObject({ sent: 0, failed: 1 });
      expect(result.errors).toEqual([
        `graph: sendMail from leads-bot@contoso.com to sales@contoso.com failed: POST ${downUrl}` +
          `/v1.0/users/leads-bot%40contoso.com/sendMail: ECONNREFUSED fetch failed`,
      ]);
      expect(await metrics.text()).toContain(
        'leadbridge_api_calls_total{api="graph",method="POST",status="none"} 2',
      );
    },
  );

  it('does nothing when alerts are switched off', async () => {
    const config = alertsConfigSchema.parse({ enabled: false, sender: 'half-filled' });
    const sender = new AlertSender({ config, ledger });
    expect(sender.enabled).toBe(false);
    expect(await sender.hotLeads([item(referral('r-hot'))], 'run-1')).toEqual({
      sent: 0,
      failed: 0,
      errors: [],
    });
    expect(await sender.quarantineDigest('run-1')).toEqual({ sent: 0, failed: 0, errors: [] });
    expect(graph.server.requests()).toEqual([]);
  });
});

describe('expiry warnings', () => {
  const expiringIn = (id: string, ms: number, overrides: Partial<Referral> = {}) =>
    item(
      referral(id, {
        expirationDateTime: new Date(NOW.getTime() + ms).toISOString(),
        details: { customerRequestedContact: false },
        ...overrides,
      }),
    );

  it('warns once about unanswered referrals inside the window only', async () => {
    let now = NOW;
    const sender = alertSender({ expiryWarningDays: 2 }, () => now);
    const items = [
      expiringIn('r-soon', DAY + 5 * HOUR),
      expiringIn('r-later', 3 * DAY),
      expiringIn('r-gone', -HOUR),
      expiringIn('r-answered', DAY, { status: 'Active', substatus: 'Accepted' }),
      item(referral('r-no-expiry', { expirationDateTime: null })),
    ];
    expect(await sender.expiryWarnings(items, 'run-1')).toEqual({ sent: 1, failed: 0, errors: [] });
    expect(await sender.expiryWarnings(items, 'run-2')).toEqual({ sent: 0, failed: 0, errors: [] });
    expect(graph.mails.map((m) => m.subject)).toEqual([
      'Lead expires in 1 day 5 hours unanswered: Fabrikam Ltd — Deal r-soon',
    ]);
    expect(graph.mails[0]?.content).toContain(
      'This lead has been neither accepted nor declined. Partner Center archives it as expired ' +
        'at 2026-11-25T15:00:00.000Z (1 day 5 hours from now) and tells whoever sent it.',
    );
    expect(graph.mails[0]?.content).toContain('Expires: 2026-11-25T15:00:00.000Z\n');

    now = new Date(NOW.getTime() + DAY + HOUR); // r-later now has 1 day 23 hours left
    expect(await sender.expiryWarnings(items, 'run-3')).toEqual({ sent: 1, failed: 0, errors: [] });
    expect(graph.mails.map((m) => m.subject)).toEqual([
      'Lead expires in 1 day 5 hours unanswered: Fabrikam Ltd — Deal r-soon',
      'Lead expires in 1 day 23 hours unanswered: Fabrikam Ltd — Deal r-later',
    ]);
  });
});

describe('quarantine digest', () => {
  it(
    'lists newly quarantined referrals once, and sends nothing when there is nothing ' + 'new',
    async () => {
      const sender = alertSender();
      expect(await sender.quarantineDigest('run-0')).toEqual({ sent: 0, failed: 0, errors: [] });
      await transitionSyncStates(ledger.db, 'dynamics', [
        {
          referralId: 'r-q1',
          to: 'quarantined',
          quarantineReason: 'country "Germany" is not a 2-letter code',
          runId: 'run-0',
        },
        {
          referralId: 'r-q2',
          to: 'quarantined',
          quarantineReason: 'the referral no longer exists in Partner Center',
          runId: 'run-0',
        },
      ]);
      expect(await sender.quarantineDigest('run-1')).toEqual({ sent: 1, failed: 0, errors: [] });
      expect(await sender.quarantineDigest('run-2')).toEqual({ sent: 0, failed: 0, errors: [] });
      expect(graph.mails).toHaveLength(1);
      expect(graph.mails[0]?.subject).toBe('2 referrals quarantined since the last digest');
      expect(graph.mails[0]?.importance).toBe('normal');
      const lines =
        graph.mails[0]?.content.split('\n').filter((line) => line.startsWith('- ')) ?? [];
      expect(lines.map((line) => line.replace(/ \(since .*\)$/, ''))).toEqual([
        '- r-q1 → dynamics: country "Germany" is not a 2-letter code',
        '- r-q2 → dynamics: the referral no longer exists in Partner Center',
      ]);
      expect(
        (await auditForRun(ledger.db, 'run-1')).map((e) => [
          e.referralId,
          e.target,
          e.detail?.kind,
        ]),
      ).toEqual([
        ['r-q1', 'dynamics', 'quarantine-digest'],
        ['r-q2', 'dynamics', 'quarantine-digest'],
      ]);

      await transitionSyncStates(ledger.db, 'dynamics', [
        {
          referralId: 'r-q3',
          to: 'quarantined',
          quarantineReason: 'the CRM rejected it 5 times',
          runId: 'run-2',
        },
      ]);
      expect(await sender.quarantineDigest('run-3')).toEqual({ sent: 1, failed: 0, errors: [] });
      expect(graph.mails[1]?.subject).toBe('1 referral quarantined since the last digest');
      expect(graph.mails[1]?.content).toMatch(
        /^- r-q3 → dynamics: the CRM rejected it 5 times \(since .+\)$/m,
      );
      expect(graph.mails[1]?.content).not.toContain('r-q1');
    },
  );

  it('sends no digest when quarantineDigest is off', async () => {
    const sender = alertSender({ quarantineDigest: false });
    await transitionSyncStates(ledger.db, 'dynamics', [
      { referralId: 'r-q1', to: 'quarantined', quarantineReason: 'bad', runId: 'run-0' },
    ]);
    expect(await sender.quarantineDigest('run-1')).toEqual({ sent: 0, failed: 0, errors: [] });
    expect(graph.mails).toHaveLength(0);
  });
});
