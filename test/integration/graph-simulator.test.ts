// The Graph simulator over real HTTP: sendMail and channel messages accepted, strict 400s, 401,
// 404, faults, admin routes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGraphSimulator, type GraphSimulator } from '../../src/simulators/graph/index.js';

const SENDER = 'leads-bot@contoso.com';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let graph: GraphSimulator;

/**
 * An unsigned JWT with these claims, shaped like an Entra access token (the simulator reads, never
 * verifies, it).
 */
function jwt(claims: Record<string, unknown>): string {
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${segment({ typ: 'JWT', alg: 'RS256' })}.${segment({
    aud: 'https://graph.' + 'microsoft.com',
    ...claims,
  })}.c2lnbmF0dXJl`;
}

const DELEGATED = {
  Authorization: `Bearer ${jwt({
    scp: 'ChannelMessage.Send ' + 'User.Read',
    oid: 'user-oid-1',
    name: 'Alex Wilber',
  })}`,
};
const APP_ONLY = {
  Authorization: `Bearer ${jwt({ roles: ['Teamwork.Migrate.All', 'Mail.Send'] })}`,
};
const APP_ONLY_BODY =
  'Message POST is allowed in application-only context only for import purposes. Refer to ' +
  'https://learn.microsoft.com/microsoftteams/platform/graph-api/import-messages/' +
  'import-external-messages-to-teams for more details.';

beforeAll(async () => {
  graph = createGraphSimulator({ mailboxes: [SENDER, '11111111-2222-3333-4444-555555555555'] });
  await graph.start();
});
afterAll(() => graph.stop());
beforeEach(async () => {
  await fetch(`${graph.url}/_sim/reset`, { method: 'POST' });
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { Authorization: 'Bearer t0ken' },
): Promise<Answer> {
  const response = await fetch(`${graph.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
}

function sendMail(
  body: unknown,
  sender = SENDER,
  headers?: Record<string, string>,
): Promise<Answer> {
  return post(`/v1.0/users/${encodeURIComponent(sender)}/sendMail`, body, headers);
}

function validMessage(overrides: Record<string, unknown> = {}) {
  return {
    subject: 'Hot lead: Fabrikam asks to be contacted',
    body: { contentType: 'Text', content: 'Call Jane today.' },
    toRecipients: [{ emailAddress: { address: 'sales@contoso.com', name: 'Sales' } }],
    ...overrides,
  };
}

/** Asserts Graph's error envelope, with the ids of the response headers in innerError. */
function expectGraphError(answer: Answer, status: number, code: string, message: string): void {
  expect(answer.status).toBe(status);
  const requestId = answer.headers.get('request-id');
  expect(requestId).toMatch(GUID);
  expect(answer.json).toEqual({
    error: {
      code,
      message,
      innerError: {
        date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/),
        'request-id': requestId,
        'client-request-id': answer.headers.get('client-request-id'),
      },
    },
  });
}

describe('sendMail', () => {
  it(
    'accepts a valid mail with 202 and no body, echoes client-request-id and records the ' + 'mail',
    async () => {
      const answer = await sendMail(
        {
          message: validMessage({
            ccRecipients: [{ emailAddress: { address: 'lead@contoso.com' } }],
            importance: 'High',
          }),
          saveToSentItems: false,
        },
        SENDER,
        { Authorization: 'Bearer t0ken', 'client-request-id': 'abc-123' },
      );
      expect(answer.status).toBe(202);
      expect(answer.text).toBe('');
      expect(answer.headers.get('client-request-id')).toBe('abc-123');
      const requestId = answer.headers.get('request-id');
      expect(requestId).toMatch(GUID);
      expect(graph.mails).toHaveLength(1);
      expect(graph.mails[0]).toMatchObject({
        id: 'mail-1',
        sender: SENDER,
        requestId,
        clientRequestId: 'abc-123',
        subject: 'Hot lead: Fabrikam asks to be contacted',
        contentType: 'Text',
        content: 'Call Jane today.',
        to: [{ address: 'sales@contoso.com', name: 'Sales' }],
        cc: [{ address: 'lead@contoso.com', name: null }],
        bcc: [],
        importance: 'high',
        saveToSentItems: false,
      });
      const admin = (await (await fetch(`${graph.url}/_sim/mails`)).json()) as {
        count: number;
        value: Array<{ subject: string }>;
      };
      expect(admin.count).toBe(1);
      expect(admin.value[0]?.subject).toBe('Hot lead: Fabrikam asks to be contacted');
    },
  );

  it('addresses the mailbox by user id as well, and takes HTML bodies', async () => {
    const answer = await sendMail(
      { message: validMessage({ body: { contentType: 'html', content: '<p>Hi</p>' } }) },
      '11111111-2222-3333-4444-555555555555',
    );
    expect(answer.status).toBe(202);
    expect(graph.mails[0]).toMatchObject({
      sender: '11111111-2222-3333-4444-555555555555',
      contentType: 'HTML',
      saveToSentItems: true,
      importance: 'normal',
    });
  });

  it('refuses a request without a bearer token with 401 InvalidAuthenticationToken', async () => {
    const answer = await sendMail({ message: validMessage() }, SENDER, {});
    expectGraphError(answer, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    expect(graph.mails).toHaveLength(0);
  });

  it.each([
    ['an empty payload', undefined, 'BadRequest', 'Empty Payload. JSON content expected.'],
    [
      'no message',
      { saveToSentItems: true },
      'ErrorInvalidParameter',
      "The value of the parameter 'Message' is empty.",
    ],
    [
      'no subject',
      { message: validMessage({ subject: undefined }) },
      'ErrorInvalidParameter',
      'The message has no subject: message.subject must be a non-empty string.',
    ],
    [
      'a blank subject',
      { message: validMessage({ subject: '  ' }) },
      'ErrorInvalidParameter',
      'The message has no subject: message.subject must be a non-empty string.',
    ],
    [
      'no body',
      { message: validMessage({ body: undefined }) },
      'ErrorInvalidParameter',
      'The message has no body: message.body must be an object {contentType, content}.',
    ],
    [
      'no recipients',
      { message: validMessage({ toRecipients: [] }) },
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., A message can't be sent because it contains no " +
        'recipients.',
    ],
    [
      'missing toRecipients',
      { message: validMessage({ toRecipients: undefined }) },
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., A message can't be sent because it contains no " +
        'recipients.',
    ],
    [
      'an invalid address',
      {
        message: validMessage({
          toRecipients: [{ emailAddress: { address: 'sales at contoso' } }],
        }),
      },
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., Recipient 'sales at contoso' isn't resolved. All " +
        'recipients must be resolved before a message can be submitted.',
    ],
    [
      'a recipient without emailAddress',
      { message: validMessage({ toRecipients: [{ address: 'sales@contoso.com' }] }) },
      'ErrorInvalidRecipients',
      "At least one recipient isn't valid., Each entry of toRecipients needs an emailAddress " +
        '{address, name?}.',
    ],
    [
      'an unknown content type',
      { message: validMessage({ body: { contentType: 'Markdown', content: 'x' } }) },
      'RequestBodyRead',
      "Cannot convert the literal 'Markdown' to the expected type 'microsoft.graph.bodyType'.",
    ],
    [
      'an unknown importance',
      { message: validMessage({ importance: 'urgent' }) },
      'RequestBodyRead',
      "Cannot convert the literal 'urgent' to the expected type 'microsoft.graph.importance'.",
    ],
    [
      'an unknown message property',
      { message: validMessage({ priority: 1 }) },
      'RequestBodyRead',
      "The property 'priority' does not exist on type 'microsoft.graph.message'. Make sure to " +
        'only use property names that are defined by the type or mark the type as open type.',
    ],
    [
      'a non-boolean saveToSentItems',
      { message: validMessage(), saveToSentItems: 'yes' },
      'RequestBodyRead',
      "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'.",
    ],
  ])('refuses %s with 400', async (_case, body, code, message) => {
    expectGraphError(await sendMail(body), 400, code, message);
    expect(graph.mails).toHaveLength(0);
  });

  it('refuses a mailbox it does not know with 404 ErrorInvalidUser', async () => {
    expectGraphError(
      await sendMail({ message: validMessage() }, 'nobody@contoso.com'),
      404,
      'ErrorInvalidUser',
      "The requested user 'nobody@contoso.com' is invalid.",
    );
  });

  it('throttles with 429 and Retry-After when a fault is injected, once', async () => {
    const faults = {
      rules: [{ kind: '429', count: 1, retryAfterSeconds: 3, pathContains: '/sendMail' }],
    };
    expect(
      (
        await fetch(`${graph.url}/_sim/faults`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(faults),
        })
      ).status,
    ).toBe(200);
    const throttled = await sendMail({ message: validMessage() });
    expectGraphError(throttled, 429, 'TooManyRequests', 'Rate limit is exceeded. Try again later.');
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await sendMail({ message: validMessage() })).status).toBe(202);
    expect(graph.mails).toHaveLength(1);
  });
});

describe('channel messages', () => {
  const path = '/v1.0/teams/team-1/channels/19%3Aabc%40thread.tacv2/messages';

  it(
    'creates a chatMessage with 201 for a delegated token, posted as its user, and ' + 'records it',
    async () => {
      const answer = await post(
        path,
        {
          subject: 'Hot lead',
          body: { contentType: 'html', content: '<p>Call now</p>' },
          importance: 'high',
        },
        DELEGATED,
      );
      expect(answer.status).toBe(201);
      expect(answer.headers.get('request-id')).toMatch(GUID);
      const created = answer.json as Record<string, unknown>;
      expect(created).toMatchObject({
        '@odata.context':
          `${graph.url}` +
          `/v1.0/$metadata#teams('team-1')/channels('19:abc@thread.tacv2')/messages/$entity`,
        messageType: 'message',
        subject: 'Hot lead',
        importance: 'high',
        body: { contentType: 'html', content: '<p>Call now</p>' },
        channelIdentity: { teamId: 'team-1', channelId: '19:abc@thread.tacv2' },
        replyToId: null,
        attachments: [],
        from: {
          application: null,
          device: null,
          user: { id: 'user-oid-1', displayName: 'Alex Wilber', userIdentityType: 'aadUser' },
        },
      });
      expect(created.id).toMatch(/^\d+$/);
      expect(created.createdDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(graph.channelMessages).toHaveLength(1);
      expect(graph.channelMessages[0]).toMatchObject({
        teamId: 'team-1',
        channelId: '19:abc@thread.tacv2',
        message: { id: created.id },
      });
      const admin = (await (await fetch(`${graph.url}/_sim/channel-messages`)).json()) as {
        count: number;
      };
      expect(admin.count).toBe(1);
    },
  );

  it('refuses a message without body content, and one with an unknown content type', async () => {
    expectGraphError(
      await post(path, { subject: 'x' }, DELEGATED),
      400,
      'BadRequest',
      'Missing body: a chatMessage needs body {contentType, content}.',
    );
    expectGraphError(
      await post(path, { body: { contentType: 'markdown', content: 'x' } }, DELEGATED),
      400,
      'RequestBodyRead',
      "Cannot convert the literal 'markdown' to the expected type 'microsoft.graph.bodyType'.",
    );
    expect(graph.channelMessages).toHaveLength(0);
  });

  it('refuses a request without a bearer token', async () => {
    expectGraphError(
      await post(path, { body: { content: 'x' } }, {}),
      401,
      'InvalidAuthenticationToken',
      'Access token is empty.',
    );
  });

  it(
    'refuses an app-only token (roles, no scp) with 401 Unauthorized: application context may ' +
      'only import',
    async () => {
      expectGraphError(
        await post(path, { body: { content: 'Hot lead' } }, APP_ONLY),
        401,
        'Unauthorized',
        APP_ONLY_BODY,
      );
      expect(graph.channelMessages).toHaveLength(0);
    },
  );

  it(
    'treats a token that is not a JWT as app-only, and refuses a JWT whose payload is not ' +
      'JSON',
    async () => {
      expectGraphError(
        await post(path, { body: { content: 'Hot lead' } }, { Authorization: 'Bearer t0ken' }),
        401,
        'Unauthorized',
        APP_ONLY_BODY,
      );
      expectGraphError(
        await post(
          path,
          { body: { content: 'Hot lead' } },
          { Authorization: 'Bearer eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln' },
        ),
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. The token payload is not a JSON object.',
      );
      expect(graph.channelMessages).toHaveLength(0);
    },
  );

  it(
    'still lets an app-only token send mail (Mail.Send is an application ' + 'permission)',
    async () => {
      expect((await sendMail({ message: validMessage() }, SENDER, APP_ONLY)).status).toBe(202);
    },
  );

  it(
    'refuses a delegated token without ChannelMessage.Send with 403, naming the scopes ' +
      'required and held',
    async () => {
      const userRead = { Authorization: `Bearer ${jwt({ scp: 'User.Read openid' })}` };
      expectGraphError(
        await post(path, { body: { content: 'Hot lead' } }, userRead),
        403,
        'Forbidden',
        "Missing scope permissions on the request. API requires one of 'ChannelMessage.Send, " +
          "Group.ReadWrite.All'. Scopes on the request 'User.Read, openid'",
      );
      expect(graph.channelMessages).toHaveLength(0);
    },
  );

  it(
    'refuses sendMail to a JWT without Mail.Send (role or scope) with 403 ' + 'ErrorAccessDenied',
    async () => {
      for (const claims of [{ roles: ['User.Read.All'] }, { scp: 'User.Read' }]) {
        expectGraphError(
          await sendMail({ message: validMessage() }, SENDER, {
            Authorization: `Bearer ${jwt(claims)}`,
          }),
          403,
          'ErrorAccessDenied',
          'Access is denied. Check credentials and try again.',
        );
      }
      expect(graph.mails).toHaveLength(0);
    },
  );
});

describe('admin', () => {
  it('reset clears mails and channel messages', async () => {
    await sendMail({ message: validMessage() });
    await post('/v1.0/teams/t/channels/c/messages', { body: { content: 'hello' } }, DELEGATED);
    expect([graph.mails.length, graph.channelMessages.length]).toEqual([1, 1]);
    expect((await fetch(`${graph.url}/_sim/reset`, { method: 'POST' })).status).toBe(204);
    expect([graph.mails.length, graph.channelMessages.length]).toEqual([0, 0]);
    expect((await sendMail({ message: validMessage() })).status).toBe(202);
    expect(graph.mails[0]?.id).toBe('mail-1');
  });

  it('answers an unknown API path with 404 in Graph envelope', async () => {
    expectGraphError(
      await post('/v1.0/users/x/sendmessage', {}),
      404,
      'itemNotFound',
      'No resource at /v1.0/users/x/sendmessage',
    );
  });
});

describe('Teams Workflows webhook', () => {
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [{ type: 'TextBlock', text: 'Hot lead' }],
  };
  const message = {
    type: 'message',
    attachments: [
      { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
    ],
  };
  const oversized = {
    ...message,
    attachments: [
      {
        ...message.attachments[0],
        content: { ...card, body: [{ type: 'TextBlock', text: 'x'.repeat(28 * 1024) }] },
      },
    ],
  };

  async function trigger(body: unknown, url = graph.workflowUrl()): Promise<Answer> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      json: text ? JSON.parse(text) : undefined,
    };
  }

  it(
    'accepts an Adaptive Card message with 202 and no body, without a bearer token, and posts ' +
      'the card to its channel',
    async () => {
      const url = graph.workflowUrl();
      expect(url).toBe(
        `${graph.url}/powerautomate/automations/direct/workflows/leadbridge-alerts` +
          '/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0' +
          '&sig=c2ltdWxhdGVkLXdvcmtmbG93LXNpZ25hdHVyZQ',
      );
      const answer = await trigger(message, url);
      expect([answer.status, answer.text]).toEqual([202, '']);
      expect(answer.headers.get('x-ms-workflow-run-id')).toBe('08584000000000000001CU00');
      const admin = (await (await fetch(`${graph.url}/_sim/teams-webhook`)).json()) as Record<
        string,
        unknown
      >;
      expect(admin).toMatchObject({
        count: 1,
        value: [
          {
            runId: '08584000000000000001CU00',
            workflowId: 'leadbridge-alerts',
            teamId: 'sim-team',
            channelId: '19:leadbridge-alerts@thread.tacv2',
            card,
          },
        ],
        runs: [{ status: 'Succeeded', error: null }],
        workflows: [{ id: 'leadbridge-alerts', url }],
      });
    },
  );

  it.each([
    [
      'a connector MessageCard',
      { '@type': 'MessageCard', '@context': 'http://schema.org/extensions', text: 'x' },
      'Workflows post Adaptive Cards only; a connector MessageCard is not supported.',
    ],
    [
      'a message without attachments',
      { type: 'message', attachments: [] },
      'The expression "triggerBody()?[\'attachments\']" is null or empty: there is no card to ' +
        'post.',
    ],
    [
      'a wrong type',
      { ...message, type: 'note' },
      'The property \'type\' must be "message" (got "note").',
    ],
    [
      'a hero card',
      {
        type: 'message',
        attachments: [{ contentType: 'application/vnd.microsoft.card.hero', content: card }],
      },
      'attachments[0]: contentType must be "application/vnd.microsoft.card.adaptive" (got ' +
        '"application/vnd.microsoft.card.hero").',
    ],
    [
      'a card version Teams does not render',
      {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: { ...card, version: '1.6' },
          },
        ],
      },
      'attachments[0]: content.version must be "1.0" to "1.5" (got "1.6").',
    ],
    [
      'a message over 28 KB',
      oversized,
      `The message size limit is 28 KB; this message has ` +
        `${Buffer.byteLength(JSON.stringify(oversized))} bytes.`,
    ],
  ])(
    'accepts %s with 202 (the trigger does not look), but the run fails and nothing is posted',
    async (_case, body, error) => {
      expect((await trigger(body)).status).toBe(202);
      expect(graph.teamsWebhookPosts).toHaveLength(0);
      expect(graph.workflowRuns.map((r) => [r.status, r.error])).toEqual([['Failed', error]]);
    },
  );

  it(
    'refuses a wrong or missing signature with 401 and an unknown workflow with 404, in the ' +
      'Logic Apps envelope',
    async () => {
      const wrong = await trigger(message, graph.workflowUrl().replace(/sig=[^&]+/, 'sig=forged'));
      expect([wrong.status, wrong.json]).toEqual([
        401,
        {
          error: {
            code: 'DirectApiInvalidAuthorizationSignature',
            message: 'The provided authorization signature is not valid.',
          },
        },
      ]);
      const missing = await trigger(message, graph.workflowUrl().replace(/&sig=[^&]+/, ''));
      expect([missing.status, missing.json]).toEqual([
        401,
        {
          error: {
            code: 'DirectApiAuthorizationRequired',
            message: 'The request must be authenticated only by Shared Access scheme.',
          },
        },
      ]);
      const unknown = await trigger(
        message,
        graph.workflowUrl().replace('leadbridge-alerts', 'nope'),
      );
      expect([unknown.status, unknown.json]).toEqual([
        404,
        { error: { code: 'WorkflowNotFound', message: "The workflow 'nope' could not be found." } },
      ]);
      expect(graph.workflowRuns).toHaveLength(0);
    },
  );
});
