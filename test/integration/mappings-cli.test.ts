// `leadbridge mappings check | preview` as a child process against simulators started in this
// process.
import { CRM_MODULES } from '../../src/crm/modules.js';
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { loadMapping } from '../../src/mapping/index.js';
import type { SimServer } from '../../src/simulators/common/server.js';
import {
  createDynamicsSimulator,
  type DynamicsSimulator,
} from '../../src/simulators/dynamics365/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../src/simulators/partner-center/index.js';
import {
  createSalesforceSimulator,
  type SalesforceSimulator,
} from '../../src/simulators/salesforce/index.js';
import { createRuntime } from '../../src/cli/compose.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/leadbridge.js');
const REFERRAL_ID = '6f1e2d3c-4b5a-4978-8a69-5b4c3d2e1f00';
const LINK = `https://partner.microsoft.com/dashboard/referrals/v2/leads/${REFERRAL_ID}`;

let pc: PartnerCenterSimulator;
let dynamics: DynamicsSimulator;
let salesforce: SalesforceSimulator;
let dir: string;

/**
 * Runs the CLI in the repository root (so the bundled mappings show as
 * src/crm/<kind>/mapping.yaml).
 */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.LEADBRIDGE_CONFIG;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/**
 * A config for the three simulators; `mappings` names files for the targets, `dynamicsUrl`
 * overrides where Dataverse is.
 */
async function writeConfig(
  name: string,
  options: { mappings?: { dynamics?: string; salesforce?: string }; dynamicsUrl?: string } = {},
): Promise<string> {
  const mappingLine = (file: string | undefined) => (file ? `    mapping: ${file}\n` : '');
  const text =
    `source:\n  partnerCenter:\n    baseUrl: ${pc.url}\n    auth: { kind: static, token: ` +
    `pc-token }\n` +
    `targets:\n` +
    `  - name: dynamics\n    kind: dynamics365\n${mappingLine(options.mappings?.dynamics)}` +
    `    settings: { url: "${options.dynamicsUrl ?? dynamics.url}", auth: { kind: static, ` +
    `token: d365-token } }\n` +
    `  - name: salesforce\n    kind: salesforce\n${mappingLine(options.mappings?.salesforce)}` +
    `    settings: { instanceUrl: "${salesforce.url}", auth: { kind: accessToken, token: ` +
    `sf-token } }\n` +
    `ledger: { filename: "${path.join(dir, 'ledger.sqlite')}" }\nlog: { level: error }\n`;
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

const servers = (): SimServer[] => [pc.server, dynamics.server, salesforce.server];

/** Methods of the requests each simulator received since `resetLogs`. */
function methodsSeen(): string[] {
  return [
    ...new Set(servers().flatMap((server) => server.requests().map((entry) => entry.method))),
  ].sort();
}

function lineOf(text: string, pattern: RegExp): number {
  const index = text.split('\n').findIndex((line) => pattern.test(line));
  if (index === -1) throw new Error(`${pattern} is not in the mapping`);
  return index + 1;
}

beforeAll(async () => {
  pc = createPartnerCenterSimulator({ port: 0 });
  dynamics = createDynamicsSimulator({ port: 0 });
  salesforce = createSalesforceSimulator({ port: 0 });
  await Promise.all([pc.start(), dynamics.start(), salesforce.start()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'leadbridge-mappings-'));
});

afterAll(async () => {
  await Promise.all([pc?.stop(), dynamics?.stop(), salesforce?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const server of servers()) server.resetLog();
});

describe('leadbridge mappings check', () => {
  it(
    'passes the shipped default mappings against both simulators, reading metadata ' + 'only',
    async () => {
      const config = await writeConfig('defaults.yaml');
      const result = await runCli(['--config', config, 'mappings', 'check']);
      const [d365, sf] = await Promise.all([
        loadMapping(dynamics365Module.mappingFile),
        loadMapping(salesforceModule.mappingFile),
      ]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(
        `dynamics: src/crm/dynamics365/mapping.yaml OK (version ${d365.version}, ` +
          `${Object.keys(d365.definition.fields).length} fields)\n` +
          `salesforce: src/crm/salesforce/mapping.yaml OK (version ${sf.version}, ` +
          `${Object.keys(sf.definition.fields).length} fields)\n`,
      );
      expect(result.code).toBe(0);
      expect(methodsSeen()).toEqual(['GET']);
      expect(
        dynamics.server.requests().map((entry) => decodeURIComponent(entry.path).split('?')[0]),
      ).toEqual([
        "/api/data/v9.2/EntityDefinitions(LogicalName='lead')",
        "/api/data/v9.2/EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM." +
          'StringAttributeMetadata',
        "/api/data/v9.2/EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM." +
          'DateTimeAttributeMetadata',
        "/api/data/v9.2/EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM." +
          'PicklistAttributeMetadata',
        // The coSell section names opportunity fields.
        "/api/data/v9.2/EntityDefinitions(LogicalName='opportunity')",
        "/api/data/v9.2/EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft." +
          'Dynamics.CRM.StringAttributeMetadata',
        "/api/data/v9.2/EntityDefinitions(LogicalName='opportunity')/Attributes/Microsoft." +
          'Dynamics.CRM.DateTimeAttributeMetadata',
      ]);
      expect(salesforce.server.requests().map((entry) => entry.path)).toEqual([
        '/services/data/v60.0/sobjects/Lead/describe',
        '/services/data/v60.0/sobjects/Opportunity/describe',
      ]);
      expect(pc.server.requests()).toEqual([]);
    },
  );

  it(
    'lists every issue of broken mappings with file:line and exits 2: unknown field, picklist ' +
      'value, required field unmapped',
    async () => {
      const d365Text = (await readFile(dynamics365Module.mappingFile, 'utf8'))
        .replace('  emailaddress1:\n', '  emial:\n')
        .replace('{ lookup: { true: 1, false: 2 } }', '{ lookup: { true: 1, false: 5 } }')
        .replace(/ {2}subject:\n(?: {4}.*\n)+/, '');
      const sfText = (await readFile(salesforceModule.mappingFile, 'utf8'))
        .replace('  Email:\n', '  Emial:\n')
        .replace(
          '{ lookup: { true: Hot, false: Warm } }',
          '{ lookup: { true: Hot, false: Lukewarm } }',
        )
        .replace(/ {2}Company:\n(?: {4}.*\n)+/, '');
      const d365File = path.join(dir, 'broken-dynamics365.yaml');
      const sfFile = path.join(dir, 'broken-salesforce.yaml');
      await Promise.all([writeFile(d365File, d365Text), writeFile(sfFile, sfText)]);
      const config = await writeConfig('broken.yaml', {
        mappings: { dynamics: d365File, salesforce: sfFile },
      });

      const result = await runCli(['--config', config, 'mappings', 'check']);
      expect(result.stdout).toBe(
        `dynamics: ${d365File} INVALID (3 issues)\nsalesforce: ${sfFile} INVALID (3 issues)\n`,
      );
      expect(result.stderr).toBe(
        [
          'leadbridge: mappings check: 6 issues (dynamics, salesforce):',
          `  - ${d365File}:${lineOf(d365Text, /^fields:/)}: fields: CRM field "subject" on lead ` +
            `is required but not mapped`,
          `  - ${d365File}:${lineOf(d365Text, /^ {2}emial:/)}: fields.emial: unknown CRM field ` +
            `"emial" on lead (did you mean "emailaddress1"?)`,
          `  - ${d365File}:${lineOf(d365Text, /false: 5/)}: ` +
            `fields.leadqualitycode.transforms[0].lookup.false: 5 is not a value of the CRM ` +
            `picklist "leadqualitycode" (values: 1, 2, 3)`,
          `  - ${sfFile}:${lineOf(sfText, /^fields:/)}: fields: CRM field "Company" on Lead is ` +
            `required but not mapped`,
          `  - ${sfFile}:${lineOf(sfText, /^ {2}Emial:/)}: fields.Emial: unknown CRM field ` +
            `"Emial" on Lead (did you mean "Email"?)`,
          `  - ${sfFile}:${lineOf(sfText, /false: Lukewarm/)}: ` +
            `fields.Rating.transforms[0].lookup.false: "Lukewarm" is not a value of the CRM ` +
            `picklist "Rating" (values: Hot, Warm, Cold)`,
          '',
        ].join('\n'),
      );
      expect(result.code).toBe(2);
      expect(methodsSeen()).toEqual(['GET']);
    },
  );

  it('names an unknown opportunity field of the coSell section with file:line', async () => {
    const text = (await readFile(salesforceModule.mappingFile, 'utf8')).replace(
      'shareField: ShareWithMicrosoft__c',
      'shareField: ShareWithMicrosfot__c',
    );
    const file = path.join(dir, 'cosell-typo-salesforce.yaml');
    await writeFile(file, text);
    const config = await writeConfig('cosell-typo.yaml', { mappings: { salesforce: file } });
    const result = await runCli([
      '--config',
      config,
      'mappings',
      'check',
      '--target',
      'salesforce',
    ]);
    expect(result.stdout).toBe(`salesforce: ${file} INVALID (1 issue)\n`);
    expect(result.stderr).toContain(
      `${file}:${lineOf(text, /shareField: ShareWithMicrosfot__c/)}: coSell.shareField: ` +
        'unknown CRM field "ShareWithMicrosfot__c" on Opportunity',
    );
    expect(result.code).toBe(2);
  });

  it(
    'flags a mapping that writes a country name into Country of an org with State and ' +
      'Country/Territory Picklists',
    async () => {
      const sfText = (await readFile(salesforceModule.mappingFile, 'utf8')).replace(
        /( {2}Country:\n(?: {4}#.*\n)*(?: {4}source: .*\n))( {4}transforms: \[country\])/,
        '$1    transforms: [country, { lookup: iso3166 }]',
      );
      expect(sfText).toContain('transforms: [country, { lookup: iso3166 }]');
      const sfFile = path.join(dir, 'country-names-salesforce.yaml');
      await writeFile(sfFile, sfText);
      const config = await writeConfig('country-names.yaml', { mappings: { salesforce: sfFile } });

      const result = await runCli([
        '--config',
        config,
        'mappings',
        'check',
        '--target',
        'salesforce',
      ]);
      expect(result.stdout).toBe(`salesforce: ${sfFile} INVALID (1 issue)\n`);
      expect(result.stderr).toBe(
        [
          'leadbridge: mappings check: 1 issue (salesforce):',
          `  - ${sfFile}:${lineOf(sfText, /^ {2}Country:/)}: fields.Country: writes free text ` +
            `into "Country", which this org backs with the picklist "CountryCode": ` +
            'only a country code or the exact integration value of a listed country is taken, ' +
            'other values are left out; add the country transform to write codes',
          '',
        ].join('\n'),
      );
      expect(result.code).toBe(2);
    },
  );

  it('exits 1 naming the target and the URL when the CRM cannot be reached', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closedPort}`;
    const config = await writeConfig('unreachable.yaml', { dynamicsUrl: url });
    const result = await runCli(['--config', config, 'mappings', 'check', '--target', 'dynamics']);
    expect(result.stdout).toBe(
      'dynamics: src/crm/dynamics365/mapping.yaml NOT CHECKED (the CRM cannot be reached)\n',
    );
    expect(
      result.stderr.startsWith(
        `leadbridge: target "dynamics": cannot read the lead metadata from ${url}: ` +
          `dynamics365: GET EntityDefinitions(LogicalName='lead') failed: ECONNREFUSED`,
      ),
    ).toBe(true);
    expect(result.code).toBe(1);
  });

  it('reports an entity the CRM does not have at the entity line', async () => {
    const text = (await readFile(dynamics365Module.mappingFile, 'utf8')).replace(
      /^entity: lead$/m,
      'entity: leed',
    );
    const file = path.join(dir, 'leed.yaml');
    await writeFile(file, text);
    const config = await writeConfig('leed-config.yaml', { mappings: { dynamics: file } });
    const result = await runCli(['--config', config, 'mappings', 'check', '--target', 'dynamics']);
    expect(result).toEqual({
      code: 2,
      stdout: `dynamics: ${file} INVALID (1 issue)\n`,
      stderr:
        `leadbridge: mappings check: 1 issue (dynamics):\n  - ${file}:` +
        `${lineOf(text, /^entity: leed$/)}: entity: the CRM has no entity "leed"\n`,
    });
  });

  it('refuses a target name the config does not have', async () => {
    const config = await writeConfig('defaults.yaml');
    const result = await runCli(['--config', config, 'mappings', 'check', '--target', 'hubspot']);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'leadbridge: there is no target "hubspot" in the config (targets: dynamics, salesforce)\n',
    });
  });
});

describe('leadbridge mappings preview', () => {
  const referral = {
    id: REFERRAL_ID,
    name: 'Azure migration',
    type: 'Independent',
    qualification: 'Direct',
    inviteContext: { notes: null, invitedBy: null, assistanceRequestCode: null },
    customerProfile: {
      name: 'Fabrikam',
      address: {
        addressLine1: '1 Main St',
        addressLine2: null,
        city: 'Austin',
        state: 'TX',
        postalCode: '78701',
        country: 'US',
        region: null,
      },
      size: '51to250employees',
      team: [
        {
          firstName: 'Ana',
          lastName: 'Silva',
          phoneNumber: '+1 512 555 0100',
          email: 'ana@fabrikam.example',
          contactPreference: null,
        },
      ],
      ids: [],
    },
    details: {
      notes: 'Needs a landing zone.',
      dealValue: 25000,
      currency: 'USD',
      closingDateTime: '2026-12-31T00:00:00Z',
      customerRequestedContact: true,
      customerAction: null,
      requirements: { industries: [], products: [{ id: 'Azure' }], services: [], solutions: [] },
    },
  };

  const SUBJECT_SOURCE =
    'template "{{customerProfile.name}} – {{name}}"; replace /\\s+/ with " ", trim, replace ' +
    '/^– ?| ?–$/ with "", default "Partner Center referral", truncate 300';
  const DESCRIPTION_SOURCE =
    'template "{{details.notes}}\\n\\nProducts: {{details.requirements.products}}\\nServices: ' +
    '{{details.requirements.services}}\\n' +
    'Solutions: {{details.requirements.solutions[].name}}\\nIndustries: ' +
    '{{details.requirements.industries}}\\nCustomer size: {{customerProfile.size}}"; trim, ' +
    'truncate 2000';

  /** Each field's mark and value text, from its value as first mapped (`+ "Ana"`). */
  type Shown = (value: string) => string;
  const NEW: Shown = (value) => `+ ${value}`;
  const SAME: Shown = (value) => `= ${value}`;
  const NOT_READ_BACK: Shown = (value) => `? ${value} (not read back from the CRM)`;

  /**
   * The field lines of the Dynamics preview: `shown` decides the mark and value of some fields,
   * `otherwise` of the rest.
   */
  function dynamicsLines(shown: Record<string, Shown>, otherwise: Shown): string[] {
    const fields: Array<[string, string, string]> = [
      ['subject', '"Fabrikam – Azure migration"', SUBJECT_SOURCE],
      ['firstname', '"Ana"', 'customerProfile.team[0].firstName; trim, truncate 50'],
      [
        'lastname',
        '"Silva"',
        'customerProfile.team[0].lastName; trim, default "(unknown)", truncate 50, required',
      ],
      [
        'emailaddress1',
        '"ana@fabrikam.example"',
        'customerProfile.team[0].email; email, truncate 100',
      ],
      [
        'telephone1',
        '"+1 512 555 0100"',
        'customerProfile.team[0].phoneNumber; phone, truncate 50',
      ],
      ['companyname', '"Fabrikam"', 'customerProfile.name; trim, required, truncate 100'],
      ['address1_line1', '"1 Main St"', 'customerProfile.address.addressLine1; trim, truncate 250'],
      ['address1_line2', '', 'customerProfile.address.addressLine2; trim, truncate 250'],
      ['address1_city', '"Austin"', 'customerProfile.address.city; trim, truncate 80'],
      ['address1_stateorprovince', '"TX"', 'customerProfile.address.state; trim, truncate 50'],
      ['address1_postalcode', '"78701"', 'customerProfile.address.postalCode; trim, truncate 20'],
      ['address1_country', '"US"', 'customerProfile.address.country; country'],
      ['estimatedvalue', '25000', 'details.dealValue; number'],
      ['estimatedclosedate', '"2026-12-31"', 'details.closingDateTime; date YYYY-MM-DD'],
      [
        'description',
        '"Needs a landing zone.\\n\\nProducts: Azure\\nCustomer size: 51to250employees"',
        DESCRIPTION_SOURCE,
      ],
      ['leadqualitycode', '1', '$hot; lookup (inline)'],
      ['leadsourcecode', '8', '$leadKind; lookup leadSource'],
      ['lb_referralid', `"${REFERRAL_ID}"`, '$referralId; required'],
      ['lb_referrallink', `"${LINK}"`, '$referralLink'],
      ['lb_leadkind', '"customerInquiry"', '$leadKind'],
      ['lb_syncwithpartnercenter', 'true', 'const true'],
    ];
    return fields.map(([name, value, origin]) => {
      if (value === '') return `  ${name}: (empty: not written)  (${origin})`;
      const text = (shown[name] ?? otherwise)(value);
      return `${text.slice(0, 1)} ${name}: ${text.slice(2)}  (${origin})`;
    });
  }

  it(
    'prints each field with its source and transforms: first all new, after a sync unchanged, ' +
      'after an update changed; never writes',
    async () => {
      pc.store.create(referral);
      const config = await writeConfig('preview.yaml');
      const mapping = await loadMapping(dynamics365Module.mappingFile);
      const header = (record: string) => [
        `referral ${REFERRAL_ID} (customerInquiry, hot)`,
        '',
        `dynamics: dynamics365 lead (mapping src/crm/dynamics365/mapping.yaml, version ` +
          `${mapping.version})`,
        record,
      ];

      const before = await runCli([
        '--config',
        config,
        'mappings',
        'preview',
        REFERRAL_ID,
        '--target',
        'dynamics',
      ]);
      expect(before.stderr).toBe('');
      expect(before.stdout).toBe(
        [...header('no record yet (a sync would create one)'), ...dynamicsLines({}, NEW), ''].join(
          '\n',
        ),
      );
      expect(before.code).toBe(0);
      expect(methodsSeen()).toEqual(['GET']);

      // A real sync writes the lead; the preview then compares with what the CRM holds.
      const runtime = await createRuntime(
        await loadConfig({ file: config, env: {}, cwd: dir, kinds: CRM_MODULES }),
        {},
      );
      await runtime.syncOnce({ runId: 'preview-sync' });
      await runtime.close();
      const lead = [...dynamics.store.leads.values()].find(
        (row) => row.lb_referralid === REFERRAL_ID,
      );
      expect(lead).toBeDefined();
      const readBack = [
        'subject',
        'companyname',
        'estimatedvalue',
        'estimatedclosedate',
        'description',
        'lb_referralid',
      ];
      const unchanged: Record<string, Shown> = Object.fromEntries(
        readBack.map((name) => [name, SAME]),
      );

      for (const server of servers()) server.resetLog();
      const synced = await runCli([
        '--config',
        config,
        'mappings',
        'preview',
        REFERRAL_ID,
        '--target',
        'dynamics',
      ]);
      const recordLine = `record ${String(lead?.leadid)} (a sync would update it)`;
      expect(synced.stdout).toBe(
        [...header(recordLine), ...dynamicsLines(unchanged, NOT_READ_BACK), ''].join('\n'),
      );
      expect(methodsSeen()).toEqual(['GET']);

      pc.store.update(REFERRAL_ID, {
        name: 'Azure landing zone',
        customerProfile: { name: 'Fabrikam Ltd' },
      });
      for (const server of servers()) server.resetLog();
      const updated = await runCli([
        '--config',
        config,
        'mappings',
        'preview',
        REFERRAL_ID,
        '--target',
        'dynamics',
      ]);
      const changed: Record<string, Shown> = {
        ...unchanged,
        subject: () => '~ "Fabrikam – Azure migration" → "Fabrikam Ltd – Azure landing zone"',
        companyname: () => '~ "Fabrikam" → "Fabrikam Ltd"',
      };
      expect(updated.stdout).toBe(
        [...header(recordLine), ...dynamicsLines(changed, NOT_READ_BACK), ''].join('\n'),
      );
      expect(updated.code).toBe(0);
      expect(methodsSeen()).toEqual(['GET']);

      // --json carries the same comparison for Salesforce, whose lead was written by the same sync.
      const json = await runCli([
        '--config',
        config,
        'mappings',
        'preview',
        REFERRAL_ID,
        '--target',
        'salesforce',
        '--json',
      ]);
      const preview = JSON.parse(json.stdout) as {
        leadKind: string;
        hot: boolean;
        synced: boolean;
        targets: Array<{
          record: unknown;
          fields: Array<Record<string, unknown>>;
          errors: unknown[];
        }>;
      };
      expect([preview.leadKind, preview.hot, preview.synced]).toEqual([
        'customerInquiry',
        true,
        true,
      ]);
      const [target] = preview.targets;
      expect(target?.record).toEqual({ recordId: expect.stringMatching(/^00Q/), entity: 'lead' });
      expect(target?.errors).toEqual([]);
      expect(target?.fields.find((f) => f.field === 'Company')).toEqual({
        field: 'Company',
        change: 'changed',
        value: 'Fabrikam Ltd',
        current: 'Fabrikam',
        source: 'customerProfile.name',
        transforms: ['trim', 'default "(unknown company)"', 'truncate 255', 'required'],
        input: 'Fabrikam Ltd',
        steps: [
          { transform: 'trim', value: 'Fabrikam Ltd' },
          { transform: 'default "(unknown company)"', value: 'Fabrikam Ltd' },
          { transform: 'truncate 255', value: 'Fabrikam Ltd' },
          { transform: 'required', value: 'Fabrikam Ltd' },
        ],
      });
      expect(target?.fields.find((f) => f.field === 'PartnerReferralId__c')).toMatchObject({
        change: 'unchanged',
        value: REFERRAL_ID,
        current: REFERRAL_ID,
      });
      expect(target?.fields.find((f) => f.field === 'Rating')).toMatchObject({
        change: 'unknown',
        value: 'Hot',
      });
      expect(methodsSeen()).toEqual(['GET']);
    },
  );

  it('lists mapping errors at the end: a sync would quarantine the referral', async () => {
    const id = '0a1b2c3d-0000-4000-8000-00000000e001';
    pc.store.create({
      ...referral,
      id,
      customerProfile: {
        ...referral.customerProfile,
        name: '   ',
        team: [{ ...referral.customerProfile.team[0], email: 'not-an-email' }],
      },
    });
    const config = await writeConfig('preview.yaml');
    const result = await runCli([
      '--config',
      config,
      'mappings',
      'preview',
      id,
      '--target',
      'dynamics',
    ]);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(
      '! emailaddress1: error: "not-an-email" is not a valid email address  ' +
        '(customerProfile.team[0].email; email, truncate 100)',
    );
    expect(lines).toContain(
      '! companyname: error: value is required but customerProfile.name is empty  ' +
        '(customerProfile.name; trim, required, truncate 100)',
    );
    expect(lines.slice(-4)).toEqual([
      'errors (a sync would quarantine the referral for dynamics):',
      '  emailaddress1: "not-an-email" is not a valid email address',
      '  companyname: value is required but customerProfile.name is empty',
      '',
    ]);
    expect(result.code).toBe(0);
  });
});
