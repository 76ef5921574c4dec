// Contract tests: the vendor's documented payloads against the client, the default mappings and the
// simulator,
// all checked with a JSON Schema written from the vendor's definitions (see README.md in this
// folder).
/// <reference types="vite/client" />
import { randomUUID } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dynamicsYaml from '../../../src/crm/dynamics365/mapping.yaml?raw';
import salesforceYaml from '../../../src/crm/salesforce/mapping.yaml?raw';
import { staticToken } from '../../../src/core/auth.js';
import { deriveLeadKind, isHotLead, type Referral } from '../../../src/core/referral.js';
import { withLeadKind } from '../../../src/sync/lead-kind.js';
import { parseMapping } from '../../../src/mapping/index.js';
import {
  createPartnerCenterSimulator,
  type PartnerCenterSimulator,
} from '../../../src/simulators/partner-center/index.js';
import {
  PartnerCenterClient,
  parsePartnerCenterError,
  parseReferral,
  type ReferralPage,
} from '../../../src/source/partner-center/index.js';
import errorBody from './error.response.json' with { type: 'json' };
import byIdBody from './get-referral-by-id.response.json' with { type: 'json' };
import listBody from './list-referrals.response.json' with { type: 'json' };
import patchTeam from './patch-add-team-member.request.json' with { type: 'json' };
import patchNotes from './patch-deal-value-and-notes.request.json' with { type: 'json' };
import patchDealTeam from './patch-deal-value-and-team.request.json' with { type: 'json' };
import patchWon from './patch-won.request.json' with { type: 'json' };
import schema from './referral.schema.json' with { type: 'json' };

// ajv-formats is CommonJS: under NodeNext its plugin is the module's `default`.
type FormatsPlugin = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  addFormatsModule) as unknown as FormatsPlugin;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(schema);
const validator = (name: string): ValidateFunction =>
  ajv.getSchema(`${schema.$id}#/definitions/${name}`)!;
const validate = {
  list: validator('ReferralList'),
  referral: validator('Referral'),
  patch: validator('JsonPatch'),
  error: validator('Error'),
};

/** The schema errors of a body, as `path: message` lines (empty when it validates). */
function problems(check: ValidateFunction, body: unknown): string[] {
  return check(body)
    ? []
    : (check.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message}`);
}

const BASE = 'https://pc.contract.test';
const LIST = '/v1.0/engagements/referrals';
const documentedReferrals = [...listBody.value, byIdBody] as unknown[];

describe('the documented payloads', () => {
  it('validate against the schema written from the vendor definitions', () => {
    expect(problems(validate.list, listBody)).toEqual([]);
    expect(problems(validate.referral, byIdBody)).toEqual([]);
    for (const body of [patchDealTeam, patchNotes, patchWon, patchTeam])
      expect(problems(validate.patch, body)).toEqual([]);
    expect(problems(validate.error, errorBody)).toEqual([]);
  });

  it(
    'the schema refuses the old misreadings: bare-string tags, an unknown SolutionTag type, a ' +
      'non-numeric count',
    () => {
      expect(
        problems(validate.referral, {
          details: {
            requirements: { industries: ['Azure'], solutions: [{ id: 'x', type: 'Partner' }] },
          },
        }),
      ).toEqual([
        '/details/requirements/industries/0: must be object',
        '/details/requirements/solutions/0/type: must be equal to one of the allowed values',
      ]);
      expect(problems(validate.list, { '@odata.count': '2', value: [] })).toEqual([
        '/@odata.count: must be integer',
      ]);
    },
  );

  it('are read by the client whole: nothing dropped, tags as ids, ids {} as []', () => {
    const parsed = documentedReferrals.map((body) => parseReferral(body));
    expect(parsed.map((p) => (p.ok ? p.dropped : p.invalid.issues))).toEqual([[], [], []]);
    const [fabrikam, contoso, byId] = parsed.map((p) => (p.ok ? p.referral : null)) as Referral[];
    expect(fabrikam!.details?.requirements).toEqual({
      industries: ['Education'],
      products: ['Microsoft365'],
      services: ['LearningAndCertification'],
    });
    expect(fabrikam!.customerProfile?.ids).toEqual([]);
    expect(fabrikam!.eTag).toBeUndefined();
    expect(contoso!.details?.requirements?.solutions).toEqual([
      {
        name: 'Dynamics 365 for Field Service',
        type: 'Category',
        id: 'Dynamics365forFieldService',
      },
    ]);
    expect(byId!.customerProfile?.ids).toEqual([{ profileType: 'Duns', id: '795986822' }]);
    expect(byId!.eTag).toBe('"2500ec5a-0000-0000-0000-5bf4967d0000"');
    expect(parsePartnerCenterError(errorBody)).toEqual({
      code: 'unAuthorized',
      message: 'Caller is not authorized to access the resource.',
    });
  });

  it(
    'page through the client with the documented nextLink carried to the configured ' + 'base',
    async () => {
      nock.disableNetConnect();
      const documentedQuery = new URL(listBody['@odata.nextLink']).search;
      const scope = nock(BASE)
        .get(LIST)
        .query({ $orderby: 'updatedDateTime asc' })
        .reply(200, listBody)
        .get(`${LIST}${documentedQuery}`)
        .reply(200, { value: [byIdBody] });
      const client = new PartnerCenterClient({ baseUrl: BASE, credential: staticToken('t') });
      const pages: ReferralPage[] = [];
      for await (const page of client.listChanged(null)) pages.push(page);
      expect(scope.isDone()).toBe(true);
      const kinds = pages.map((page) =>
        page.referrals.map(withLeadKind).map((r) => [r.referral.id, r.leadKind]),
      );
      expect(kinds).toEqual([
        [
          ['c5fbb3b6-be74-4795-9fb5-4324c73fed37', 'customerInquiry'],
          ['61c65491-2f2c-461a-84b4-3654499bc1d9', 'salesQualified'],
        ],
        // The same referral, now with its eTag from GET by id: a new version for the deduper, so it
        // is delivered.
        [['61c65491-2f2c-461a-84b4-3654499bc1d9', 'salesQualified']],
      ]);
      nock.cleanAll();
      nock.enableNetConnect();
    },
  );
});

describe('the default mappings on the documented referrals', () => {
  const input = (body: unknown) => {
    const parsed = parseReferral(body);
    if (!parsed.ok) throw new Error('fixture did not parse');
    const referral = parsed.referral;
    return {
      referral,
      leadKind: deriveLeadKind(referral),
      hot: isHotLead(referral),
      referralLink: `https://partner.microsoft.com/dashboard/referrals/v2/leads/${referral.id}`,
    };
  };

  it('src/crm/dynamics365/mapping.yaml maps every documented referral', () => {
    const mapping = parseMapping(dynamicsYaml, 'src/crm/dynamics365/mapping.yaml');
    const results = documentedReferrals.map((body) => mapping.map(input(body)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[2]!.ok && results[2]!.fields).toEqual(DYNAMICS_BY_ID);
  });

  it('src/crm/salesforce/mapping.yaml maps every documented referral', () => {
    const mapping = parseMapping(salesforceYaml, 'src/crm/salesforce/mapping.yaml');
    const results = documentedReferrals.map((body) => mapping.map(input(body)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[2]!.ok && results[2]!.fields).toEqual(SALESFORCE_BY_ID);
  });
});

describe('every response the simulator serves validates against the schema', () => {
  const sims: Record<'plain' | 'documented', PartnerCenterSimulator> = {
    plain: createPartnerCenterSimulator({ seed: 5, referrals: 250 }),
    documented: createPartnerCenterSimulator({ seed: 6, referrals: 250, documentedLinks: true }),
  };
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    urls.plain = await sims.plain.start();
    urls.documented = await sims.documented.start();
  });
  afterAll(async () => {
    await sims.plain.stop();
    await sims.documented.stop();
  });

  async function call(
    url: string,
    init: {
      method?: string;
      body?: unknown;
      headers?: Record<string, string>;
      auth?: boolean;
    } = {},
  ) {
    const headers: Record<string, string> = {
      'client-request-id': randomUUID(),
      ...(init.auth === false ? {} : { Authorization: 'Bearer t' }),
      ...init.headers,
    };
    if (init.body !== undefined) headers['Content-Type'] ??= 'application/json';
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  for (const mode of ['plain', 'documented'] as const) {
    it(`list pages (${mode} links), get by id and PATCH with return=representation`, async () => {
      const base = urls[mode]!;
      let page = await call(`${base}${LIST}?$orderby=${encodeURIComponent('updatedDateTime asc')}`);
      const ids: string[] = [];
      for (;;) {
        expect(page.status).toBe(200);
        expect(problems(validate.list, page.body)).toEqual([]);
        ids.push(...page.body.value.map((item: { id: string }) => item.id));
        const next: string | undefined = page.body['@odata.nextLink'];
        if (!next) break;
        page = await call(`${base}${LIST}${new URL(next).search}`);
      }
      expect(ids).toHaveLength(250);
      const byId = await call(`${base}${LIST}/${ids[0]}`);
      expect(problems(validate.referral, byId.body)).toEqual([]);
      const accepted = await call(`${base}${LIST}/${ids[0]}`, {
        method: 'PATCH',
        headers: { 'If-Match': byId.body.eTag, Prefer: 'return=representation' },
        body: [
          { op: 'replace', path: '/status', value: 'Active' },
          { op: 'replace', path: '/substatus', value: 'Accepted' },
          { op: 'replace', path: '/name', value: 'Contract deal' },
          { op: 'replace', path: '/details/dealValue', value: 1000 },
          { op: 'replace', path: '/details/currency', value: 'USD' },
          { op: 'replace', path: '/details/closingDateTime', value: '2027-01-31T00:00:00Z' },
          { op: 'replace', path: '/details/notes', value: 'accepted in a contract test' },
        ],
      });
      expect(accepted.status).toBe(200);
      expect(problems(validate.referral, accepted.body)).toEqual([]);
      // The documented PATCH bodies are accepted as they are.
      const team = await call(`${base}${LIST}/${ids[1]}`, { method: 'PATCH', body: patchDealTeam });
      expect(team.status).toBe(204);
    });
  }

  it('error bodies: 400, 401, 404, 412, a closed referral, 415 and an injected 429', async () => {
    const base = urls.plain!;
    const [first] = (await call(`${base}${LIST}?$top=1`)).body.value;
    const bodies = [
      await call(`${base}${LIST}?$filter=${encodeURIComponent("status eq 'new'")}`),
      await call(`${base}${LIST}`, { auth: false }),
      await call(`${base}${LIST}/00000000-0000-4000-8000-000000000000`),
      await call(`${base}${LIST}/${first.id}`, {
        method: 'PATCH',
        headers: { 'If-Match': '"stale"' },
        body: patchNotes,
      }),
      await call(`${base}${LIST}/${first.id}`, {
        method: 'PATCH',
        body: [
          { op: 'replace', path: '/status', value: 'Closed' },
          { op: 'replace', path: '/substatus', value: 'Declined' },
          { op: 'replace', path: '/statusReason', value: 'Others' },
        ],
      }),
      await call(`${base}${LIST}/${first.id}`, { method: 'PATCH', body: patchNotes }),
      await call(`${base}${LIST}/${first.id}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'text/plain' },
        body: patchNotes,
      }),
    ];
    await call(`${base}/_sim/faults`, {
      method: 'PUT',
      auth: false,
      body: { rules: [{ kind: '429', count: 1 }] },
    });
    bodies.push(await call(`${base}${LIST}`));
    expect(bodies.map((b) => [b.status, b.body?.error?.code])).toEqual([
      [400, 'invalidRequest'],
      [401, 'unauthenticated'],
      [404, 'itemNotFound'],
      [412, 'preconditionFailed'],
      [204, undefined],
      [409, 'invalidRequest'],
      [415, 'invalidRequest'],
      [429, 'serviceNotAvailable'],
    ]);
    for (const reply of bodies.filter((b) => b.status >= 400))
      expect(problems(validate.error, reply.body)).toEqual([]);
  });
});

/**
 * What the shipped mappings make of get-a-referral-by-id.md's example (written out by hand from the
 * fixture).
 */
const DYNAMICS_BY_ID = {
  subject: 'Contoso Customer Inc',
  firstname: 'Sue',
  lastname: 'Smith',
  emailaddress1: 'sue.smith@contoso.com',
  telephone1: '1234567890',
  companyname: 'Contoso Customer Inc',
  address1_line1: 'One Microsoft Way',
  address1_line2: '34',
  address1_city: 'Redmond',
  address1_stateorprovince: 'WA',
  address1_postalcode: '98052',
  address1_country: 'US',
  estimatedvalue: 50000,
  description:
    'Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also ' +
    'a need to leverage a set of custom apps to enable their business processes.\n\nProducts: ' +
    'Dynamics365Enterprise\nServices: DeploymentOrMigration\nSolutions: Dynamics 365 for Field ' +
    'Service\nIndustries: Manufacturing\nCustomer size: 10to50employees',
  leadqualitycode: 2,
  leadsourcecode: 4,
  lb_referralid: '61c65491-2f2c-461a-84b4-3654499bc1d9',
  lb_referrallink:
    'https://partner.microsoft.com/dashboard/referrals/v2/leads/61c65491-2f2c-461a-84b4-' +
    '3654499bc1d9',
  lb_leadkind: 'salesQualified',
  lb_syncwithpartnercenter: true,
};
const SALESFORCE_BY_ID = {
  FirstName: 'Sue',
  LastName: 'Smith',
  Company: 'Contoso Customer Inc',
  Email: 'sue.smith@contoso.com',
  Phone: '1234567890',
  Street: 'One Microsoft Way\n34',
  City: 'Redmond',
  State: 'WA',
  PostalCode: '98052',
  Country: 'US',
  Description:
    'Customer is looking to leverage Dynamics 365 to manage their supply chain. There is also ' +
    'a need to leverage a set of custom apps to enable their business processes.\n\nProducts: ' +
    'Dynamics365Enterprise\nServices: DeploymentOrMigration\nSolutions: Dynamics 365 for Field ' +
    'Service\nIndustries: Manufacturing\nEstimated value: 50000',
  LeadSource: 'Partner Referral',
  Rating: 'Warm',
  NumberOfEmployees: 30,
  PartnerReferralId__c: '61c65491-2f2c-461a-84b4-3654499bc1d9',
  ReferralLink__c:
    'https://partner.microsoft.com/dashboard/referrals/v2/leads/61c65491-2f2c-461a-84b4-' +
    '3654499bc1d9',
  LeadKind__c: 'salesQualified',
};
