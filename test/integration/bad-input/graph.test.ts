// Bad input, Graph: refusals of alert mails and Teams webhook posts; the other alerts of the run
// always go out.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertSender, alertsConfigSchema, type AlertReferral } from '../../../src/alerts/alerts.js';
import type { Referral } from '../../../src/core/referral.js';
import { openLedger, type Ledger } from '../../../src/ledger/index.js';
import { createGraphSimulator, type GraphSimulator } from '../../../src/simulators/graph/index.js';

const SENDER = 'leads-bot@contoso.com';
const SEND_MAIL = '/sendMail';
const WORKFLOW = '/workflows/';

let graph: GraphSimulator;
let dir: string;
let ledgers = 0;

beforeAll(async () => {
  graph = createGraphSimulator({ mailboxes: [SENDER] });
  await graph.start();
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-bad-graph-'));
});
afterAll(async () => {
  await graph.stop();
  await rm(dir, { recursive: true, force: true });
});

/** An unsigned JWT: the simulator reads its claims (scopes / roles) as Graph would. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.sig`;
}

interface Setup {
  token?: string;
  sender?: string;
  teams?: boolean;
}

function sender(ledger: Ledger, setup: Setup = {}): AlertSender {
  const config = alertsConfigSchema.parse({
    graph: { baseUrl: graph.url, auth: { kind: 'static', token: setup.token ?? 'graph-token' } },
    sender: setup.sender ?? SENDER,
    recipients: ['sales@contoso.com'],
    ...(setup.teams ? { teams: { webhookUrl: graph.workflowUrl() } } : {}),
  });
  return new AlertSender({ config, ledger, referralLink: (id) => `https://partner.example/${id}` });
}

function hot(id: string): AlertReferral {
  const referral: Referral = {
    id,
    name: `Deal ${id}`,
    createdDateTime: '2026-11-23T09:30:00.0000000Z',
    updatedDateTime: '2026-11-23T09:30:00.0000000Z',
    status: 'New',
    substatus: 'Received',
    type: 'Independent',
    qualification: 'Direct',
    customerProfile: { name: 'Fabrikam Ltd', team: [{ firstName: 'Jane', lastName: 'Doe' }] },
    details: { customerRequestedContact: true },
  };
  return { referral, leadKind: 'customerInquiry' };
}

type Outcome =
  /** Retried within the call: every alert goes out now. */
  | { kind: 'retried' }
  /**
   * The refused delivery fails now (error names status and code), is released, and goes out on the
   * next call.
   */
  | { kind: 'next-call'; error: RegExp }
  /**
   * The configuration is refused for every alert: none is marked sent; all go out once it is fixed.
   */
  | { kind: 'all-next-call'; error: RegExp; setup: Setup };

interface Case {
  name: string;
  fault?: Record<string, unknown>;
  setup?: Setup;
  outcome: Outcome;
}

const refused = (status: number, errorCode: string, message: string, pathContains: string) => ({
  kind: 'status',
  refuseStatus: status,
  errorCode,
  message,
  count: 1,
  pathContains,
});

const mailError = (status: number, code: string) =>
  new RegExp(
    `^graph: sendMail from leads-bot@contoso\\.com to sales@contoso\\.com → ${status} ${code}: `,
  );
const webhookError = (status: number) => new RegExp(`^Teams webhook .+ → ${status} `);

const MAIL_CASES: Case[] = [
  ...[
    ['429 with Retry-After 0', { kind: '429', count: 1, retryAfterSeconds: 0 }],
    ['429 on every alert', { kind: '429', count: 3, retryAfterSeconds: 0 }],
    ['503 with Retry-After', { kind: '5xx', status: 503, count: 1, retryAfterSeconds: 0 }],
    ['503 twice', { kind: '5xx', status: 503, count: 2, retryAfterSeconds: 0 }],
  ].map(([name, fault]) => ({
    name: `mail: ${name as string}`,
    fault: { ...(fault as Record<string, unknown>), pathContains: SEND_MAIL },
    outcome: { kind: 'retried' as const },
  })),
  ...(
    [
      [
        '429 asking for 30 s (longer than a cycle waits)',
        { kind: '429', count: 1, retryAfterSeconds: 30 },
        429,
        'TooManyRequests',
      ],
      [
        '500 (sendMail is not idempotent: not repeated)',
        { kind: '5xx', status: 500, count: 1 },
        500,
        'generalException',
      ],
      ['502', { kind: '5xx', status: 502, count: 1 }, 502, 'generalException'],
      [
        '504 (the mail may have gone)',
        { kind: '5xx', status: 504, count: 1 },
        504,
        'generalException',
      ],
      [
        '401 token expired',
        refused(
          401,
          'InvalidAuthenticationToken',
          'Lifetime validation failed, the token is expired.',
          SEND_MAIL,
        ),
        401,
        'InvalidAuthenticationToken',
      ],
      [
        '403 access denied',
        refused(
          403,
          'ErrorAccessDenied',
          'Access is denied. Check credentials and try again.',
          SEND_MAIL,
        ),
        403,
        'ErrorAccessDenied',
      ],
      [
        '404 mailbox not found',
        refused(
          404,
          'ErrorInvalidUser',
          "The requested user 'leads-bot@contoso.com' is invalid.",
          SEND_MAIL,
        ),
        404,
        'ErrorInvalidUser',
      ],
      [
        '400 invalid recipients',
        refused(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.', SEND_MAIL),
        400,
        'ErrorInvalidRecipients',
      ],
      [
        '400 message too large',
        refused(
          400,
          'ErrorMessageSizeExceeded',
          'The message exceeds the maximum supported size.',
          SEND_MAIL,
        ),
        400,
        'ErrorMessageSizeExceeded',
      ],
      [
        '409 mailbox busy',
        refused(
          409,
          'ErrorIrresolvableConflict',
          'The send or update operation could not be performed.',
          SEND_MAIL,
        ),
        409,
        'ErrorIrresolvableConflict',
      ],
      [
        '503 mailbox store unavailable (no Retry-After)',
        refused(
          503,
          'ErrorMailboxStoreUnavailable',
          'The mailbox database is temporarily unavailable.',
          SEND_MAIL,
        ),
        503,
        'ErrorMailboxStoreUnavailable',
      ],
    ] as const
  ).map(([name, fault, status, code]) => ({
    name: `mail: ${name}`,
    fault: { ...fault, pathContains: SEND_MAIL },
    outcome: { kind: 'next-call' as const, error: mailError(status, code) },
  })),
  {
    name: 'mail: connection dropped',
    fault: { kind: 'drop', count: 1, pathContains: SEND_MAIL },
    outcome: {
      kind: 'next-call',
      error:
        /^graph: sendMail from leads-bot@contoso\.com .*(socket|ECONNRESET|network|fetch failed)/i,
    },
  },
];

const CONFIG_CASES: Case[] = [
  {
    name: 'config: sender mailbox unknown (404 ErrorInvalidUser)',
    setup: { sender: 'ghost@contoso.com' },
    outcome: {
      kind: 'all-next-call',
      error: /→ 404 ErrorInvalidUser: The requested user 'ghost@contoso\.com' is invalid\./,
      setup: {},
    },
  },
  {
    name: 'config: token is not a JWT payload (401 InvalidAuthenticationToken)',
    setup: { token: 'e30.bm90LWpzb24.sig' },
    outcome: { kind: 'all-next-call', error: / → 401 InvalidAuthenticationToken: /, setup: {} },
  },
  {
    name: 'config: app token without Mail.Send (403 ErrorAccessDenied)',
    setup: { token: jwt({ roles: ['User.Read.All'] }) },
    outcome: {
      kind: 'all-next-call',
      error: / → 403 ErrorAccessDenied: Access is denied\./,
      setup: {},
    },
  },
  {
    name: 'config: delegated token without Mail.Send (403)',
    setup: { token: jwt({ scp: 'User.Read' }) },
    outcome: { kind: 'all-next-call', error: / → 403 ErrorAccessDenied: /, setup: {} },
  },
];

const TEAMS_CASES: Case[] = [
  ...[
    ['429 with Retry-After 0', { kind: '429', count: 1, retryAfterSeconds: 0 }],
    ['429 twice', { kind: '429', count: 2, retryAfterSeconds: 0 }],
  ].map(([name, fault]) => ({
    name: `Teams webhook: ${name as string}`,
    setup: { teams: true },
    fault: { ...(fault as Record<string, unknown>), pathContains: WORKFLOW },
    outcome: { kind: 'retried' as const },
  })),
  ...(
    [
      // The trigger may have started a run: only a 429 (never processed) is sent again within the
      // call.
      ['503 with Retry-After', { kind: '5xx', status: 503, count: 1, retryAfterSeconds: 0 }, 503],
      ['500', { kind: '5xx', status: 500, count: 1 }, 500],
      ['502', { kind: '5xx', status: 502, count: 1 }, 502],
      [
        '400 card refused',
        refused(
          400,
          'InvalidRequestContent',
          'The input body for trigger manual of type Request did not match its schema definition.',
          WORKFLOW,
        ),
        400,
      ],
      [
        '401 signature invalid',
        refused(
          401,
          'DirectApiAuthorizationRequired',
          'The request must be authenticated only by Shared Access scheme.',
          WORKFLOW,
        ),
        401,
      ],
      [
        '403 workflow disabled',
        refused(
          403,
          'WorkflowTriggerIsNotEnabled',
          'Could not find a trigger that is enabled.',
          WORKFLOW,
        ),
        403,
      ],
      [
        '404 workflow deleted',
        refused(
          404,
          'WorkflowNotFound',
          "The workflow 'leadbridge-alerts' could not be found.",
          WORKFLOW,
        ),
        404,
      ],
    ] as const
  ).map(([name, fault, status]) => ({
    name: `Teams webhook: ${name}`,
    setup: { teams: true },
    fault: { ...fault, pathContains: WORKFLOW },
    outcome: { kind: 'next-call' as const, error: webhookError(status) },
  })),
  {
    name: 'Teams webhook: connection dropped',
    setup: { teams: true },
    fault: { kind: 'drop', count: 1, pathContains: WORKFLOW },
    outcome: { kind: 'next-call', error: /^POST Teams webhook .+: UND_ERR_SOCKET fetch failed$/ },
  },
];

const CASES = [...MAIL_CASES, ...CONFIG_CASES, ...TEAMS_CASES];

describe('bad input: Graph refusals of alerts (one refused delivery among three hot leads)', () => {
  it('has at least 30 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(30));

  it.each(CASES.map((c, i) => [i + 1, c.name, c] as const))('%i. %s', async (_n, _name, c) => {
    await fetch(`${graph.url}/_sim/reset`, { method: 'POST' });
    const ledger = await openLedger({
      client: 'sqlite',
      filename: path.join(dir, `ledger-${++ledgers}.sqlite`),
    });
    try {
      const items = ['r-1', 'r-2', 'r-3'].map(hot);
      const channels = c.setup?.teams ? 2 : 1;
      if (c.fault) graph.server.faults.configure({ rules: [c.fault] });
      const first = await sender(ledger, c.setup).hotLeads(items, 'run-1');
      graph.server.faults.clear();
      const fixed = sender(ledger, c.outcome.kind === 'all-next-call' ? c.outcome.setup : c.setup);
      const second = await fixed.hotLeads(items, 'run-2');
      const third = await fixed.hotLeads(items, 'run-3');
      if (c.outcome.kind === 'retried') {
        expect(first.errors).toEqual([]);
        expect(first).toEqual({ sent: 3 * channels, failed: 0, errors: [] });
        expect(graph.server.counters().faultsInjected).toBeGreaterThan(0);
      } else if (c.outcome.kind === 'next-call') {
        expect(first).toMatchObject({ sent: 3 * channels - 1, failed: 1 });
        expect(first.errors).toEqual([expect.stringMatching(c.outcome.error)]);
        expect(second).toEqual({ sent: 1, failed: 0, errors: [] });
      } else {
        expect(first).toMatchObject({ sent: 0, failed: 3 });
        expect(first.errors).toEqual(Array(3).fill(expect.stringMatching(c.outcome.error)));
        expect(second).toEqual({ sent: 3, failed: 0, errors: [] });
      }
      // Every alert went out exactly once per channel: none lost, none doubled.
      expect(third).toEqual({ sent: 0, failed: 0, errors: [] });
      expect(graph.mails.map((m) => m.message).length).toBe(3);
      if (c.setup?.teams) expect(graph.teamsWebhookPosts).toHaveLength(3);
    } finally {
      graph.server.faults.clear();
      await ledger.close();
    }
  });
});
