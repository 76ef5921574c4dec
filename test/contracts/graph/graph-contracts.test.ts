// Graph and Teams Workflows contracts: documented examples, JSON Schemas written from the docs, the
// client and the simulator held to both.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LeadbridgeError } from '../../../src/core/errors.js';
import { createGraphSimulator, type GraphSimulator } from '../../../src/simulators/graph/index.js';
import { renderAdaptiveCard } from '../../../src/alerts/alerts-content.js';
import { GraphAlertTransport } from '../../../src/alerts/alerts-graph.js';
import { TeamsWebhookTransport } from '../../../src/alerts/alerts-teams.js';

interface Fixture {
  source: string;
  request?: { method: string; path?: string; headers?: Record<string, string>; body: unknown };
  response?: { status: number; body: unknown };
}

const here = (name: string) => new URL(name, import.meta.url);
const read = <T>(name: string): T => JSON.parse(readFileSync(here(name), 'utf8')) as T;
const fixture = (name: string) => read<Fixture>(`${name}.json`);

// ajv-formats is CommonJS: under NodeNext its plugin is the module's `default` property.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const schema = (name: string): ValidateFunction => ajv.compile(read(`schemas/${name}.schema.json`));
const sendMailRequest = schema('send-mail-request');
const chatMessage = schema('chat-message');
const errorEnvelope = schema('error-envelope');
const workflowsMessage = schema('workflows-message');

function expectValid(validate: ValidateFunction, value: unknown): void {
  const ok = validate(value);
  expect(ok ? [] : ajv.errorsText(validate.errors).split(', ')).toEqual([]);
}

describe('the documented examples', () => {
  it('each names its source document', () => {
    for (const name of [
      'sendmail-request',
      'sendmail-response',
      'channel-message-response',
      'error-envelope',
      'app-only-channel-post-401',
      'workflows-webhook-payload',
    ]) {
      expect(fixture(name).source).toMatch(
        /microsoft-graph-docs-contrib|msteams-docs|learn\.microsoft\.com/,
      );
    }
  });

  it('validate against the schemas written from the docs', () => {
    expectValid(sendMailRequest, fixture('sendmail-request').request?.body);
    expectValid(chatMessage, fixture('channel-message-response').response?.body);
    expectValid(errorEnvelope, fixture('error-envelope').response?.body);
    expectValid(errorEnvelope, fixture('app-only-channel-post-401').response?.body);
    expectValid(workflowsMessage, fixture('workflows-webhook-payload').request?.body);
    expect(
      sendMailRequest({
        message: {
          subject: 's',
          body: { contentType: 'Markdown', content: 'x' },
          toRecipients: [],
        },
      }),
    ).toBe(false);
    expect(workflowsMessage({ '@type': 'MessageCard', text: 'x' })).toBe(false);
  });
});

/** A loopback server that records each request and answers with the next canned reply. */
class Recorder {
  readonly requests: Array<{
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: unknown;
  }> = [];
  replies: Array<{ status: number; body: unknown; headers?: Record<string, string> }> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      this.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      });
      const reply = this.replies.shift() ?? { status: 202, body: null };
      const payload = reply.body === null ? '' : JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        ...(payload ? { 'Content-Type': 'application/json' } : {}),
        ...reply.headers,
      });
      res.end(payload);
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const credential = {
  description: 'static token (alerts.graph.auth)',
  getToken: async () => 'graph-token',
};
const content = {
  subject: 'Hot lead: Fabrikam',
  paragraphs: ['Call today.'],
  fields: [{ label: 'Portal', value: 'https://partner.example/r-1' }],
  items: [],
};

describe('the client', () => {
  const recorder = new Recorder();
  beforeAll(() => recorder.start());
  afterAll(() => recorder.stop());
  beforeEach(() => {
    recorder.requests.length = 0;
    recorder.replies = [];
  });

  it(
    'sends a sendMail request the schema accepts, to the documented path, with our ' + 'token',
    async () => {
      const transport = new GraphAlertTransport({ baseUrl: recorder.url, credential });
      await transport.sendMail('leads-bot@contoso.com', {
        subject: 's',
        body: { contentType: 'Text', content: 'c' },
        toRecipients: ['sales@contoso.com'],
        importance: 'high',
      });
      const [sent] = recorder.requests;
      expect([sent?.method, sent?.url, sent?.headers.authorization]).toEqual([
        'POST',
        '/v1.0/users/leads-bot%40contoso.com/sendMail',
        'Bearer graph-token',
      ]);
      expectValid(sendMailRequest, sent?.body);
    },
  );

  it('posts a Workflows message the schema accepts', async () => {
    await new TeamsWebhookTransport({
      url: `${recorder.url}/workflows/w1/triggers/manual/paths/invoke?sig=x`,
    }).post(renderAdaptiveCard(content, true));
    expectValid(workflowsMessage, recorder.requests[0]?.body);
    expect(recorder.requests[0]?.headers.authorization).toBeUndefined();
  });

  it("parses Graph's documented error envelope and the app-only refusal", async () => {
    const transport = new GraphAlertTransport({ baseUrl: recorder.url, credential });
    const mail = {
      subject: 's',
      body: { contentType: 'Text' as const, content: 'c' },
      toRecipients: ['sales@contoso.com'],
    };
    for (const name of ['error-envelope', 'app-only-channel-post-401']) {
      const { response } = fixture(name);
      recorder.replies = [{ status: response?.status ?? 0, body: response?.body }];
      const error = (await transport
        .sendMail('leads-bot@contoso.com', mail)
        .catch((e: unknown) => e)) as LeadbridgeError;
      expect(error).toBeInstanceOf(LeadbridgeError);
      expect({
        code: error.code,
        status: error.status,
        providerCode: error.providerCode,
        provider: error.provider,
      }).toEqual(
        name === 'error-envelope'
          ? {
              code: 'HTTP_ERROR',
              status: 416,
              providerCode: 'invalidRange',
              provider: response?.body,
            }
          : {
              code: 'AUTH_FAILED',
              status: 401,
              providerCode: 'Unauthorized',
              provider: response?.body,
            },
      );
    }
    expect(recorder.requests).toHaveLength(2);
  });

  it(
    "parses the Workflows trigger's error body without repeating the URL's " + 'signature',
    async () => {
      recorder.replies = [
        {
          status: 404,
          body: {
            error: { code: 'WorkflowNotFound', message: "The workflow 'w1' could not be found." },
          },
        },
      ];
      const url = `${recorder.url}/workflows/w1/triggers/manual/paths/invoke?sig=top-secret`;
      const error = (await new TeamsWebhookTransport({ url })
        .post(renderAdaptiveCard(content, false))
        .catch((e: unknown) => e)) as LeadbridgeError;
      expect([error.code, error.status, error.providerCode]).toEqual([
        'NOT_FOUND',
        404,
        'WorkflowNotFound',
      ]);
      expect(error.message).toBe(
        `Teams webhook ${new URL(recorder.url).host} (workflow w1) → 404 WorkflowNotFound: The ` +
          `workflow 'w1' could not be found. (the workflow was deleted or turned off)`,
      );
    },
  );
});

describe('the simulator', () => {
  let graph: GraphSimulator;
  const jwt = (claims: Record<string, unknown>) =>
    ['{"alg":"RS256"}', JSON.stringify(claims)]
      .map((part) => Buffer.from(part).toString('base64url'))
      .join('.') + '.c2ln';
  const post = async (path: string, body: unknown, token: string) => {
    const response = await fetch(`${graph.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
  };

  beforeAll(async () => {
    graph = createGraphSimulator();
    await graph.start();
  });
  afterAll(() => graph.stop());
  afterEach(() => fetch(`${graph.url}/_sim/reset`, { method: 'POST' }));

  it('accepts the documented sendMail request with the documented reply', async () => {
    const request = fixture('sendmail-request').request;
    const answer = await post(
      '/v1.0/users/frannis%40contoso.com/sendMail',
      request?.body,
      'app-token',
    );
    expect(answer).toEqual(fixture('sendmail-response').response);
  });

  it(
    'answers a delegated channel post with a chatMessage the schema accepts, and an app-only ' +
      "one with the service's 401 body",
    async () => {
      const path = '/v1.0/teams/team-1/channels/19%3Aabc%40thread.tacv2/messages';
      const created = await post(
        path,
        { body: { content: 'Hello World' } },
        jwt({ scp: 'ChannelMessage.Send' }),
      );
      expect(created.status).toBe(201);
      expectValid(chatMessage, created.body);
      const refused = await post(
        path,
        { body: { content: 'Hello World' } },
        jwt({ roles: ['Teamwork.Migrate.All'] }),
      );
      const documented = fixture('app-only-channel-post-401').response as {
        status: number;
        body: { error: { code: string; message: string } };
      };
      expect(refused.status).toBe(documented.status);
      expectValid(errorEnvelope, refused.body);
      expect(refused.body).toMatchObject({
        error: { code: documented.body.error.code, message: documented.body.error.message },
      });
    },
  );

  it('answers every error in the documented envelope', async () => {
    const bad = await post(
      '/v1.0/users/x%40contoso.com/sendMail',
      { message: { subject: 's' } },
      't',
    );
    const throttledRule = { rules: [{ kind: '429', count: 1, retryAfterSeconds: 1 }] };
    await fetch(`${graph.url}/_sim/faults`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(throttledRule),
    });
    const throttled = await post('/v1.0/users/x%40contoso.com/sendMail', {}, 't');
    const missing = await post('/v1.0/nothing-here', {}, 't');
    expect([bad.status, throttled.status, missing.status]).toEqual([400, 429, 404]);
    for (const answer of [bad, throttled, missing]) expectValid(errorEnvelope, answer.body);
  });

  it('takes the documented Workflows payload with 202 and posts its card', async () => {
    const { request, response } = fixture('workflows-webhook-payload');
    const answer = await fetch(graph.workflowUrl(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request?.body),
    });
    expect({ status: answer.status, body: (await answer.text()) || null }).toEqual(response);
    expect(graph.teamsWebhookPosts.map((p) => p.card)).toEqual([
      (request?.body as { attachments: Array<{ content: unknown }> }).attachments[0]?.content,
    ]);
  });
});
