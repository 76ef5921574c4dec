// Config loading: defaults, ${ENV} interpolation, every problem reported at once with path and
// line, redaction.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/core/errors.js';
import type { Issue } from '../../src/core/errors.js';
import {
  credentialFromAuth,
  describeConfig,
  parseConfig,
  redactConfig,
} from '../../src/config/index.js';
import type { EnvMap } from '../../src/config/index.js';
import { CRM_MODULES } from '../../src/crm/modules.js';

const CWD = '/srv/leadbridge';
const FILE = 'config/leadbridge.yaml';

function parse(text: string, env: EnvMap = {}) {
  return parseConfig(text, { env, file: FILE, cwd: CWD, kinds: CRM_MODULES });
}

/** The issues of the ValidationError that parsing `text` throws. */
function issuesOf(text: string, env: EnvMap = {}): Issue[] {
  try {
    parse(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('CONFIG_INVALID');
    return (error as ValidationError).issues;
  }
  throw new Error('expected the config to be rejected');
}

const MINIMAL = `
source:
  partnerCenter:
    auth: { kind: static, token: abc }
`;

describe('parseConfig defaults', () => {
  it('fills every default from a minimal config', () => {
    expect(parse(MINIMAL)).toEqual({
      source: {
        partnerCenter: {
          baseUrl: 'https://api.partner.microsoft.com',
          auth: { kind: 'static', token: 'abc' },
          leadKinds: ['customerInquiry', 'marketingQualified', 'salesQualified'],
          overlapSeconds: 300,
          pageSize: 100,
        },
      },
      targets: [],
      ledger: { client: 'sqlite', filename: '/srv/leadbridge/data/leadbridge.sqlite' },
      worker: {
        intervalSeconds: 60,
        jitterSeconds: 5,
        maxPagesPerCycle: 50,
        stopTimeoutSeconds: 30,
        expiryScanMinutes: 60,
        coSellScanSeconds: 60,
        health: { enabled: false, host: '127.0.0.1', port: 9464, maxAgeSeconds: 600 },
      },
      alerts: { enabled: false },
      webhooks: {
        enabled: false,
        host: '127.0.0.1',
        port: 9465,
        path: '/partner-center/webhooks',
        registrationBaseUrl: 'https://api.partnercenter.microsoft.com',
        certificateUrlPrefixes: ['https://3psostorageacct.blob.core.windows.net/cert/'],
        organization: 'Microsoft Corporation',
        maxEventAgeSeconds: 900,
        coalesceMs: 500,
        silenceMinutes: 30,
        reregister: false,
      },
      limits: {
        partnerCenter: { concurrency: 32, requestsPerMinute: 0 },
      },
      log: { level: 'info', format: 'auto' },
      cluster: {
        enabled: false,
        bossSchema: 'leadbridge_boss',
        concurrency: 4,
        jobExpireSeconds: 60,
        maintenanceSeconds: 10,
        pollSeconds: 2,
        heartbeatSeconds: 5,
        maxPagesPerCycle: 5,
        openTenants: 4,
        metricTenants: 50,
      },
    });
  });

  it('applies target defaults and derives the Dataverse token scope from the org URL', () => {
    const config = parse(`${MINIMAL}
targets:
  - name: dynamics
    kind: dynamics365
    mapping: config/mappings/dynamics365.yaml
    settings:
      url: https://org.crm.dynamics.com/
      auth: { kind: clientCredentials, tenantId: t1, clientId: c1, clientSecret: s1 }
  - name: salesforce
    kind: salesforce
    enabled: false
    settings:
      instanceUrl: https://example.my.salesforce.com
      apiVersion: 60.0
      auth: { kind: jwt, clientId: c2, username: u@example.com, privateKeyFile: keys/sf.pem }
`);
    expect(config.targets).toEqual([
      {
        name: 'dynamics',
        kind: 'dynamics365',
        enabled: true,
        mapping: '/srv/leadbridge/config/mappings/dynamics365.yaml',
        limits: { concurrency: 16, requestsPerMinute: 1_100 },
        settings: {
          url: 'https://org.crm.dynamics.com',
          apiVersion: 'v9.2',
          auth: {
            kind: 'clientCredentials',
            tenantId: 't1',
            clientId: 'c1',
            clientSecret: 's1',
            scope: 'https://org.crm.dynamics.com/.default',
          },
          alternateKey: 'lb_referralid',
          batchSize: 500,
          readPageSize: 500,
          concurrency: 4,
        },
      },
      {
        name: 'salesforce',
        kind: 'salesforce',
        enabled: false,
        // No mapping given: the one bundled beside the adapter.
        mapping: expect.stringMatching(/^\/.*\/src\/crm\/salesforce\/mapping\.yaml$/),
        limits: { concurrency: 8, requestsPerMinute: 0 },
        settings: {
          instanceUrl: 'https://example.my.salesforce.com',
          apiVersion: '60.0',
          auth: {
            kind: 'jwt',
            clientId: 'c2',
            username: 'u@example.com',
            privateKeyFile: '/srv/leadbridge/keys/sf.pem',
            loginUrl: 'https://login.salesforce.com',
          },
          externalIdField: 'PartnerReferralId__c',
          batchSize: 200,
          limits: { maxDailyApiShare: 0.8 },
        },
      },
    ]);
  });

  it('gives Partner Center client credentials the Partner Center scope by default', () => {
    const config = parse(`
source:
  partnerCenter:
    auth: { kind: clientCredentials, tenantId: t, clientId: c, clientSecret: s }
`);
    expect(config.source.partnerCenter.auth).toEqual({
      kind: 'clientCredentials',
      tenantId: 't',
      clientId: 'c',
      clientSecret: 's',
      scope: 'https://api.partner.microsoft.com/.default',
    });
  });

  it('accepts a PostgreSQL ledger and keeps ":memory:" as is for SQLite', () => {
    expect(
      parse(
        `${MINIMAL}ledger: { client: pg, connection: "postgres://lb@127.0.0.1/lb", schema: ` +
          `leadbridge }`,
      ).ledger,
    ).toEqual({
      client: 'pg',
      connection: 'postgres://lb@127.0.0.1/lb',
      schema: 'leadbridge',
    });
    expect(parse(`${MINIMAL}ledger: { filename: ":memory:" }`).ledger).toEqual({
      client: 'sqlite',
      filename: ':memory:',
    });
  });
});

describe('${ENV} interpolation', () => {
  const text = `
source:
  partnerCenter:
    baseUrl: "http://\${PC_HOST:-127.0.0.1}:7401"
    auth: { kind: static, token: "\${PC_TOKEN}" }
    pageSize: "\${PAGE_SIZE:-50}"
worker:
  intervalSeconds: \${INTERVAL:-30}
`;

  it('substitutes set variables and falls back to defaults for unset or empty ones', () => {
    const config = parse(text, { PC_TOKEN: 'from-env', PC_HOST: '', INTERVAL: '15' });
    expect(config.source.partnerCenter.baseUrl).toBe('http://127.0.0.1:7401');
    expect(config.source.partnerCenter.auth).toEqual({ kind: 'static', token: 'from-env' });
    expect(config.source.partnerCenter.pageSize).toBe(50);
    expect(config.worker.intervalSeconds).toBe(15);
  });

  it('reports a missing variable at its path and line, and only once', () => {
    expect(issuesOf(text, {})).toEqual([
      {
        path: 'source.partnerCenter.auth.token',
        message:
          'environment variable PC_TOKEN is not set (use ${PC_TOKEN:-default} to give a default)',
        file: FILE,
        line: 5,
      },
    ]);
  });

  it('keeps $${...} as a literal ${...}', () => {
    const config = parse(`
source:
  partnerCenter:
    auth: { kind: static, token: "a$\${NOT_A_VAR}b" }
`);
    expect(config.source.partnerCenter.auth).toEqual({ kind: 'static', token: 'a${NOT_A_VAR}b' });
  });
});

describe('validation issues', () => {
  it('reports every problem at once, in file order, with path and line', () => {
    const text = `source:
  partnerCenter:
    baseUrl: not-a-url
    auth: { kind: static, token: t }
    pageSize: 101
    leadKinds: [customerInquiry, hotLeads]
targets:
  - name: dynamics
    kind: dynamics365
    settings:
      url: https://org.crm.dynamics.com
      auth: { kind: static, token: t }
      batchSize: 0
      concurency: 8
  - name: sf
    kind: salesforce
    settings:
      instanceUrl: ftp://example.com
      apiVersion: "45.0"
      auth: { kind: jwt, clientId: c, username: u }
worker:
  intervalSeconds: soon
log:
  level: loud
`;
    expect(issuesOf(text)).toEqual([
      {
        file: FILE,
        line: 3,
        path: 'source.partnerCenter.baseUrl',
        message: 'expected an http(s) URL, got "not-a-url"',
      },
      {
        file: FILE,
        line: 5,
        path: 'source.partnerCenter.pageSize',
        message: 'must be at most 100',
      },
      {
        file: FILE,
        line: 6,
        path: 'source.partnerCenter.leadKinds[1]',
        message:
          'expected customerInquiry | marketingQualified | salesQualified | coSell | other, ' +
          'got "hotLeads"',
      },
      {
        file: FILE,
        line: 13,
        path: 'targets[0].settings.batchSize',
        message: 'must be at least 1',
      },
      {
        file: FILE,
        line: 14,
        path: 'targets[0].settings.concurency',
        message:
          'unknown key (allowed keys: url, apiVersion, auth, alternateKey, batchSize, ' +
          'readPageSize, concurrency)',
      },
      {
        file: FILE,
        line: 18,
        path: 'targets[1].settings.instanceUrl',
        message: 'expected an http(s) URL, got "ftp://example.com"',
      },
      {
        file: FILE,
        line: 19,
        path: 'targets[1].settings.apiVersion',
        message: 'must be at least 46.0 (collection upserts need it)',
      },
      {
        file: FILE,
        line: 20,
        path: 'targets[1].settings.auth.privateKey',
        message: 'required: privateKey or privateKeyFile',
      },
      {
        file: FILE,
        line: 22,
        path: 'worker.intervalSeconds',
        message: 'expected a number, got "soon"',
      },
      {
        file: FILE,
        line: 24,
        path: 'log.level',
        message: 'expected debug | info | warn | error, got "loud"',
      },
    ]);
  });

  it(
    'says where the keys of the old flat shape go now (limits per target, settings under ' +
      'settings)',
    () => {
      const text = `${MINIMAL}targets:
  - name: crm
    kind: dynamics365
    url: https://org.crm.dynamics.com
    settings:
      url: https://org.crm.dynamics.com
      auth: { kind: static, token: t }
    limit: 3
limits:
  dynamics365: { concurrency: 4 }
`;
      expect(issuesOf(text)).toEqual([
        {
          file: FILE,
          line: 8,
          path: 'targets[0].url',
          message:
            'unknown key: url is a dynamics365 setting, write it under settings (settings.url)',
        },
        {
          file: FILE,
          line: 12,
          path: 'targets[0].limit',
          message: 'unknown key (allowed keys: name, kind, enabled, mapping, limits, settings)',
        },
        {
          file: FILE,
          line: 14,
          path: 'limits.dynamics365',
          message:
            'limits.dynamics365 has moved: give each dynamics365 target its own limits ' +
            '(targets[i].limits: { concurrency, requestsPerMinute })',
        },
      ]);
    },
  );

  it("takes a target's limits, and names the known kinds for an unknown one", () => {
    const config = parse(`${MINIMAL}targets:
  - name: crm
    kind: dynamics365
    limits: { concurrency: 2 }
    settings: { url: "https://org.crm.dynamics.com", auth: { kind: static, token: t } }
`);
    expect(config.targets[0]?.limits).toEqual({ concurrency: 2, requestsPerMinute: 1_100 });
    expect(
      issuesOf(`${MINIMAL}targets:
  - name: crm
    kind: hubspotx
    settings: {}
`),
    ).toEqual([
      {
        file: FILE,
        line: 7,
        path: 'targets[0].kind',
        message: 'unknown kind "hubspotx" (expected one of: dynamics365, salesforce, hubspot)',
      },
    ]);
  });

  it('puts every issue in the error message as file:line: path: message', () => {
    expect(() => parse(`${MINIMAL}worker: { intervalSeconds: 0, jitterSeconds: -1 }`)).toThrow(
      'invalid config config/leadbridge.yaml (2 problems):\n' +
        '  - config/leadbridge.yaml:5: worker.intervalSeconds: must be at least 1\n' +
        '  - config/leadbridge.yaml:5: worker.jitterSeconds: must be at least 0',
    );
  });

  it('names an unknown target kind and the known ones', () => {
    expect(
      issuesOf(`${MINIMAL}targets:\n  - name: crm\n    kind: pipedrive\n    settings: {}\n`),
    ).toEqual([
      {
        file: FILE,
        line: 7,
        path: 'targets[0].kind',
        message: 'unknown kind "pipedrive" (expected one of: dynamics365, salesforce, hubspot)',
      },
    ]);
  });

  it('rejects duplicate target names along with the other problems', () => {
    const target = (url: string) =>
      `  - name: crm\n    kind: dynamics365\n    settings: { url: "${url}", auth: { kind: ` +
      `static, token: t } }\n`;
    expect(
      issuesOf(`${MINIMAL}targets:\n${target('https://a.crm.dynamics.com')}${target('nope')}`),
    ).toEqual([
      {
        file: FILE,
        line: 9,
        path: 'targets[1].name',
        message: 'duplicate target name "crm" (also used by targets[0])',
      },
      {
        file: FILE,
        line: 11,
        path: 'targets[1].settings.url',
        message: 'expected an http(s) URL, got "nope"',
      },
    ]);
  });

  it('requires a connection for a PostgreSQL ledger', () => {
    expect(issuesOf(`${MINIMAL}ledger:\n  client: pg\n  schema: leadbridge\n`)).toEqual([
      { file: FILE, line: 5, path: 'ledger.connection', message: 'required when client is pg' },
    ]);
  });

  it('reports missing required sections and settings', () => {
    expect(issuesOf('targets:\n  - name: crm\n    kind: salesforce\n')).toEqual([
      { file: FILE, line: 1, path: 'source', message: 'required' },
      { file: FILE, line: 2, path: 'targets[0].settings', message: 'required' },
    ]);
  });

  it('reports YAML syntax errors with their line and stops there', () => {
    expect(issuesOf('source:\n  partnerCenter:\n    auth: { kind: static\nlog: x\n')).toEqual([
      {
        file: FILE,
        line: 4,
        path: '',
        message:
          'YAML: Flow map in block collection must be sufficiently indented and end with a }',
      },
    ]);
  });

  it('never repeats a secret value in an issue', () => {
    expect(
      issuesOf('source:\n  partnerCenter:\n    auth: { kind: static, token: 123456789 }\n'),
    ).toEqual([
      {
        file: FILE,
        line: 3,
        path: 'source.partnerCenter.auth.token',
        message: 'expected a string',
      },
    ]);
  });

  it('reads a Salesforce apiVersion given as a bare number', () => {
    const config = parse(`${MINIMAL}targets:
  - name: sf
    kind: salesforce
    settings:
      instanceUrl: "https://x.my.salesforce.com"
      apiVersion: 59
      auth: { kind: accessToken, token: t }
`);
    const target = config.targets[0];
    expect((target?.settings as { apiVersion?: string }).apiVersion).toBe('59.0');
  });
});

describe('describeConfig', () => {
  const secretConfig = `
source:
  partnerCenter:
    auth:
      kind: clientCredentials
      tenantId: tenant-1
      clientId: client-1
      clientSecret: pc-secret-123
targets:
  - name: dynamics
    kind: dynamics365
    settings: { url: "https://org.crm.dynamics.com", auth: { kind: static, token: dv-token-456 } }
  - name: sf
    kind: salesforce
    settings:
      instanceUrl: https://x.my.salesforce.com
      auth:
        kind: jwt
        clientId: sf-client
        username: bot@example.com
        privateKey: "-----BEGIN PRIVATE KEY-----\\nsf-key-789\\n-----END PRIVATE KEY-----"
ledger:
  client: pg
  connection: "postgres://leadbridge:pg-pass-000@db.example.com:5432/lb?sslmode=require"
`;

  it('prints the effective config with every secret redacted', () => {
    const text = describeConfig(parse(secretConfig));
    for (const secret of ['pc-secret-123', 'dv-token-456', 'sf-key-789', 'pg-pass-000'])
      expect(text).not.toContain(secret);
    expect(text).toContain('clientSecret: "[redacted]"');
    expect(text).toContain('token: "[redacted]"');
    expect(text).toContain('privateKey: "[redacted]"');
    expect(text).toContain(
      'connection: postgres://leadbridge:[redacted]@db.example.com:5432/lb?sslmode=require',
    );
    // what is not secret stays visible, so an admin can check it
    expect(text).toContain('clientId: client-1');
    expect(text).toContain('username: bot@example.com');
    expect(text).toContain('scope: https://api.partner.microsoft.com/.default');
  });

  it('redacts password= parameters in libpq-style connection strings', () => {
    const config = parse(
      `${MINIMAL}ledger: { client: pg, connection: "host=db user=lb password=hunter2 dbname=lb" }`,
    );
    expect(redactConfig(config).ledger).toEqual({
      client: 'pg',
      connection: 'host=db user=lb password=[redacted] dbname=lb',
    });
  });
});

describe('credentialFromAuth', () => {
  it('turns a static auth block into a credential whose description hides the token', async () => {
    const credential = credentialFromAuth({ kind: 'static', token: 'tok-1' }, 'Partner Center');
    expect(await credential.getToken()).toBe('tok-1');
    expect(credential.description).toBe('static Partner Center token');
  });
});

describe('alerts.teams (Workflows webhook)', () => {
  const SIG_URL =
    'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/' +
    'invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3t';
  const alerts = (teams: string) => `${MINIMAL}alerts:
  graph: { auth: { kind: static, token: t } }
  sender: leads-bot@contoso.com
  recipients: [sales@contoso.com]
${teams}
`;

  it('takes the URL from ${ENV}, and config check prints it redacted', () => {
    const config = parse(alerts('  teams: { webhookUrl: "${TEAMS_WEBHOOK_URL}" }'), {
      TEAMS_WEBHOOK_URL: SIG_URL,
    });
    expect(config.alerts.enabled && config.alerts.teams).toEqual({ webhookUrl: SIG_URL });
    const text = describeConfig(config);
    expect(text).toContain('webhookUrl: "[redacted]"');
    expect(text).not.toContain('s3cr3t');
  });

  it.each([
    [
      'an unset variable',
      '  teams: { webhookUrl: "${TEAMS_WEBHOOK_URL}" }',
      'environment variable TEAMS_WEBHOOK_URL is not set (use ${TEAMS_WEBHOOK_URL:-default} to ' +
        'give a default)',
    ],
    ['no URL', '  teams: {}', 'expected the URL of a Teams Workflows webhook'],
    [
      'not a URL',
      '  teams: { webhookUrl: "teams channel please" }',
      'expected the URL of a Teams Workflows webhook (https://…); this is not a URL',
    ],
    [
      'a retired connector URL',
      '  teams: { webhookUrl: ' +
        '"https://contoso.webhook.office.com/webhookb2/0000/IncomingWebhook/1111/2222" }',
      'this is an Office 365 connector incoming webhook, which Microsoft is retiring; add the ' +
        'Workflows template "Post to a channel when a webhook request is received" to the ' +
        'channel and use its URL',
    ],
    [
      'plain http off loopback',
      '  teams: { webhookUrl: "http://flows.example.com/workflows/x?sig=abc" }',
      'must be an https URL (plain http only for a loopback simulator)',
    ],
    [
      'a URL without its signature',
      '  teams: { webhookUrl: ' +
        '"https://prod-12.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke" }',
      'has no sig= signature: copy the whole URL that Workflows shows for the webhook trigger',
    ],
  ])('refuses %s at alerts.teams.webhookUrl, without echoing the URL', (_case, teams, message) => {
    const issues = issuesOf(alerts(teams));
    expect(issues.map((i) => [i.path, i.message])).toEqual([['alerts.teams.webhookUrl', message]]);
  });

  it(
    'refuses a Graph base URL over plain http off loopback (the token would travel in ' + 'clear)',
    () => {
      const text = `${MINIMAL}alerts:
  graph: { baseUrl: "http://graph.example.com", auth: { kind: static, token: t } }
  sender: leads-bot@contoso.com
  recipients: [sales@contoso.com]
`;
      expect(issuesOf(text).map((i) => [i.path, i.message])).toEqual([
        [
          'alerts.graph.baseUrl',
          'must be an https URL (plain http only for a loopback simulator): the Graph token ' +
            'would travel in clear',
        ],
      ]);
    },
  );

  it('explains that teamsChannel was replaced', () => {
    const issues = issuesOf(alerts('  teamsChannel: { teamId: t, channelId: c }'));
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      [
        'alerts.teamsChannel',
        'teamsChannel was replaced by teams.webhookUrl: Graph refuses channel posts made with ' +
          'an application token; set up a Workflows webhook for the channel (README, "Alerts")',
      ],
    ]);
  });
});

describe('the shipped config', () => {
  it("loads, and sends Teams alerts to the Graph simulator's Workflows webhook", async () => {
    const { readFile } = await import('node:fs/promises');
    const config = parse(
      await readFile(new URL('../../config/leadbridge.yaml', import.meta.url), 'utf8'),
      { LEADBRIDGE_TOKEN_CACHE_KEY: '0'.repeat(64) },
    );
    expect(config.alerts.enabled && config.alerts.teams).toEqual({
      webhookUrl:
        'http://127.0.0.1:7404/powerautomate/automations/direct/workflows/leadbridge-alerts/' +
        'triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.' +
        '0&sig=c2ltdWxhdGVkLXdvcmtmbG93LXNpZ25hdHVyZQ',
    });
    expect(config.alerts.enabled && config.alerts.graph).toEqual({
      baseUrl: 'http://127.0.0.1:7404',
      auth: { kind: 'static', token: 'sim-token' },
    });
  });
});

describe('source.partnerCenter.auth kind: user (App+User sign-in)', () => {
  const USER_AUTH = (tokenCache: string) => `
source:
  partnerCenter:
    auth:
      kind: user
      tenantId: contoso.onmicrosoft.com
      clientId: 6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e
      tokenCache: ${tokenCache}
ledger: { filename: ./state/ledger.sqlite }
`;
  const KEY = '8f3a61c2d4b7e90f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081';

  it(
    'defaults the scope to the Partner Center API and puts the token cache beside the SQLite ' +
      'ledger',
    () => {
      const auth = parse(USER_AUTH('{ key: "${LEADBRIDGE_TOKEN_CACHE_KEY}" }'), {
        LEADBRIDGE_TOKEN_CACHE_KEY: KEY,
      }).source.partnerCenter.auth;
      expect(auth).toEqual({
        kind: 'user',
        tenantId: 'contoso.onmicrosoft.com',
        clientId: '6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d9e',
        scope: 'https://api.partner.microsoft.com/.default',
        tokenCache: { key: KEY, file: '/srv/leadbridge/state/partner-center-token-cache.json' },
      });
    },
  );

  it('refuses to load without the key, naming the environment variable', () => {
    expect(issuesOf(USER_AUTH('{ key: "${LEADBRIDGE_TOKEN_CACHE_KEY}" }'))).toEqual([
      {
        file: FILE,
        path: 'source.partnerCenter.auth.tokenCache.key',
        line: 8,
        message:
          'environment variable LEADBRIDGE_TOKEN_CACHE_KEY is not set (use ' +
          '${LEADBRIDGE_TOKEN_CACHE_KEY:-default} to give a default)',
      },
    ]);
  });

  it('refuses a key that is not 32 bytes, and a missing key, saying what a key looks like', () => {
    const [short] = issuesOf(USER_AUTH('{ key: "abc123" }'));
    expect(short?.path).toBe('source.partnerCenter.auth.tokenCache.key');
    expect(short?.message).toBe(
      'not a usable key: expected 32 random bytes as 64 hex characters or base64, e.g. from: ' +
        'openssl rand -hex 32 (put it in LEADBRIDGE_TOKEN_CACHE_KEY)',
    );
    const [missing] = issuesOf(USER_AUTH('{ file: ./cache.json }'));
    expect(missing?.path).toBe('source.partnerCenter.auth.tokenCache.key');
    expect(missing?.message).toBe(
      'required: 32 random bytes as 64 hex characters or base64, e.g. from: openssl rand -hex ' +
        '32 (put it in LEADBRIDGE_TOKEN_CACHE_KEY)',
    );
  });

  it('redacts the key in config check', () => {
    const text = describeConfig(parse(USER_AUTH(`{ key: "${KEY}" }`)));
    expect(text).not.toContain(KEY);
    expect(text).toContain('key: "[redacted]"');
  });
});
