// Unit tests for the shipped mappings (src/crm/<kind>/mapping.yaml): a realistic referral in, exact
// CRM fields and outcomes out.
/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';
import dynamicsYaml from '../../src/crm/dynamics365/mapping.yaml?raw';
import salesforceYaml from '../../src/crm/salesforce/mapping.yaml?raw';
import { referralSchema, type Referral } from '../../src/core/referral.js';
import { parseMapping, stableHash, type MappingInput } from '../../src/mapping/index.js';

// The files are bundled into the test by Vite (?raw), so the test itself does no I/O.
const dynamics = parseMapping(dynamicsYaml, 'src/crm/dynamics365/mapping.yaml');
const salesforce = parseMapping(salesforceYaml, 'src/crm/salesforce/mapping.yaml');

const referral: Referral = referralSchema.parse({
  id: '3f0b2f5e-8c1d-4d7a-9a53-6c1e2f4b7a10',
  engagementId: '9a1c7e52-1111-4222-8333-444455556666',
  organizationId: 'partner-org-1',
  organizationName: 'Fabrikam Consulting',
  name: 'Azure migration for 3 data centres',
  externalReferenceId: null,
  createdDateTime: '2025-05-02T08:15:30.1234567Z',
  updatedDateTime: '2025-05-02T08:15:30.1234567Z',
  expirationDateTime: '2025-05-16T08:15:30.1234567Z',
  status: 'New',
  substatus: 'Received',
  type: 'Independent',
  qualification: 'SalesQualified',
  direction: 'Incoming',
  customerProfile: {
    name: '  Contoso Pharmaceuticals GmbH ',
    address: {
      addressLine1: 'Hauptstraße 5',
      addressLine2: 'Gebäude B',
      city: 'München',
      state: 'BY',
      postalCode: '80331',
      country: 'de',
      region: 'Europe',
    },
    size: '251to1000employees',
    team: [
      {
        firstName: 'Jürgen',
        lastName: 'Müller',
        phoneNumber: '+49  89  1234 5678',
        email: 'j.mueller@contoso-pharma.de',
      },
    ],
  },
  details: {
    notes: 'Customer wants to move 3 data centres to Azure by Q4.',
    dealValue: '250000',
    currency: 'EUR',
    closingDateTime: '2025-09-30T22:00:00Z',
    customerRequestedContact: true,
    requirements: {
      industries: ['Healthcare'],
      products: ['Azure', 'Microsoft Defender'],
      services: ['Migration'],
      solutions: [{ id: 's1', name: 'Azure Landing Zone', type: 'Solution' }],
    },
  },
  inviteContext: { invitedBy: { organizationId: 'msft', organizationName: 'Microsoft' } },
  eTag: '"4a00c1d2-0000-0000-0000-67c5e0a20000"',
});

const input: MappingInput = {
  referral,
  leadKind: 'salesQualified',
  hot: true,
  referralLink:
    'https://partner.microsoft.com/dashboard/referrals/v2/leads/3f0b2f5e-8c1d-4d7a-9a53-' +
    '6c1e2f4b7a10',
};

const DESCRIPTION_LINES = [
  'Customer wants to move 3 data centres to Azure by Q4.',
  '',
  'Products: Azure, Microsoft Defender',
  'Services: Migration',
  'Solutions: Azure Landing Zone',
  'Industries: Healthcare',
];

describe('src/crm/dynamics365/mapping.yaml', () => {
  it('describes a lead', () => {
    expect(dynamics.target).toBe('dynamics365');
    expect(dynamics.entity).toBe('lead');
    expect(dynamics.definition.status?.expiredReflection).toEqual({ statecode: 2, statuscode: 7 });
  });

  it('maps a realistic referral to exact lead columns', () => {
    expect(dynamics.map(input)).toMatchObject({
      ok: true,
      fields: {
        subject: 'Contoso Pharmaceuticals GmbH – Azure migration for 3 data centres',
        firstname: 'Jürgen',
        lastname: 'Müller',
        emailaddress1: 'j.mueller@contoso-pharma.de',
        telephone1: '+49 89 1234 5678',
        companyname: 'Contoso Pharmaceuticals GmbH',
        address1_line1: 'Hauptstraße 5',
        address1_line2: 'Gebäude B',
        address1_city: 'München',
        address1_stateorprovince: 'BY',
        address1_postalcode: '80331',
        address1_country: 'DE',
        estimatedvalue: 250000,
        estimatedclosedate: '2025-09-30',
        description: [...DESCRIPTION_LINES, 'Customer size: 251to1000employees'].join('\n'),
        leadqualitycode: 1,
        leadsourcecode: 4,
        lb_referralid: '3f0b2f5e-8c1d-4d7a-9a53-6c1e2f4b7a10',
        lb_referrallink: input.referralLink,
        lb_leadkind: 'salesQualified',
        lb_syncwithpartnercenter: true,
      },
    });
    expect(Object.keys(dynamics.map(input).fields)).toHaveLength(21);
  });

  it('falls back sensibly for a sparse referral', () => {
    const sparse = { ...referral, name: null, customerProfile: { name: 'Contoso' }, details: null };
    const result = dynamics.map({ ...input, referral: sparse, leadKind: 'coSell', hot: false });
    expect(result).toEqual(
      expect.objectContaining({
        ok: true,
        fields: {
          subject: 'Contoso',
          lastname: '(unknown)',
          companyname: 'Contoso',
          leadqualitycode: 2,
          leadsourcecode: 10,
          lb_referralid: referral.id,
          lb_referrallink: input.referralLink,
          lb_leadkind: 'coSell',
          lb_syncwithpartnercenter: true,
        },
      }),
    );
    expect(
      dynamics.map({ ...input, referral: { ...sparse, customerProfile: null, name: 'Deal' } }),
    ).toMatchObject({
      ok: false,
      errors: [
        { field: 'companyname', message: 'value is required but customerProfile.name is empty' },
      ],
      fields: { subject: 'Deal' },
    });
  });

  it('quarantines a referral whose deal value is not a number, computing every other field', () => {
    const bad = { ...referral, details: { ...referral.details, dealValue: 'lots' } } as Referral;
    const result = dynamics.map({ ...input, referral: bad });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([{ field: 'estimatedvalue', message: '"lots" is not a number' }]);
    expect(result.fields['estimatedvalue']).toBeUndefined();
    expect(Object.keys(result.fields)).toHaveLength(20);
    expect(result.fields['estimatedclosedate']).toBe('2025-09-30');
  });

  it('reads outcomes from lead and opportunity states', () => {
    const view = (
      lead: Record<string, unknown> | null,
      opportunity: Record<string, unknown> | null = null,
    ) => dynamics.readOutcome({ referral, lead, opportunity });
    expect(view({ statecode: 0, statuscode: 1 })).toMatchObject({
      outcome: null,
      reason: null,
      acceptFields: null,
      errors: [],
    });
    expect(view({ statecode: 2, statuscode: 5 })).toMatchObject({
      outcome: 'declined',
      reason: "Customer didn't respond",
      acceptFields: null,
      errors: [],
    });
    expect(view({ statecode: 2, statuscode: 99 })).toMatchObject({
      outcome: 'declined',
      reason: 'Others',
    });
    const opportunity = {
      statecode: 0,
      statuscode: 1,
      name: 'Contoso – Azure landing zone',
      estimatedvalue: 180000,
      estimatedclosedate: '2025-10-15',
      description: null,
    };
    expect(view({ statecode: 1, statuscode: 3, subject: 'ignored' }, opportunity)).toEqual({
      outcome: 'accepted',
      rule: { entity: 'lead', when: { statecode: [1] } },
      reason: null,
      acceptFields: {
        dealName: 'Contoso – Azure landing zone',
        dealValue: 180000,
        currency: 'EUR',
        closingDateTime: '2025-10-15T00:00:00.000Z',
        notes: 'Customer wants to move 3 data centres to Azure by Q4.',
      },
      errors: [],
      trace: expect.any(Array),
    });
    expect(view({ statecode: 1 }, { ...opportunity, statecode: 1, statuscode: 3 })).toMatchObject({
      outcome: 'won',
      reason: null,
      acceptFields: { dealValue: 180000 },
    });
    expect(view({ statecode: 1 }, { ...opportunity, statecode: 2, statuscode: 5 })).toMatchObject({
      outcome: 'lost',
      reason: 'Customer chose another vendor',
    });
  });

  it(
    'falls back to the lead, the referral and defaults.currency for accept fields, and ' +
      'reports what is missing',
    () => {
      const bare = { ...referral, details: { notes: null } } as Referral;
      const reading = dynamics.readOutcome({
        referral: bare,
        lead: { statecode: 1, subject: 'Contoso – Migration', estimatedvalue: '12000' },
        opportunity: null,
      });
      expect(reading).toMatchObject({
        outcome: 'accepted',
        acceptFields: {
          dealName: 'Contoso – Migration',
          dealValue: 12000,
          currency: 'USD',
          notes: 'Accepted in Dynamics 365',
        },
        errors: [
          {
            field: 'closingDateTime',
            message:
              'value is required but opportunity.estimatedclosedate | lead.estimatedclosedate | ' +
              'referral.details.closingDateTime is empty',
          },
        ],
      });
    },
  );
});

describe('src/crm/salesforce/mapping.yaml', () => {
  it('maps a realistic referral to exact Lead fields', () => {
    const result = salesforce.map(input);
    expect(result).toEqual({
      ok: true,
      fields: {
        FirstName: 'Jürgen',
        LastName: 'Müller',
        Company: 'Contoso Pharmaceuticals GmbH',
        Email: 'j.mueller@contoso-pharma.de',
        Phone: '+49 89 1234 5678',
        Street: 'Hauptstraße 5\nGebäude B',
        City: 'München',
        State: 'BY',
        PostalCode: '80331',
        Country: 'DE',
        Description: [
          DESCRIPTION_LINES[0],
          '',
          'Deal: Azure migration for 3 data centres',
          ...DESCRIPTION_LINES.slice(2),
          'Estimated value: 250000',
        ].join('\n'),
        LeadSource: 'Partner Referral',
        Rating: 'Hot',
        NumberOfEmployees: 625,
        PartnerReferralId__c: '3f0b2f5e-8c1d-4d7a-9a53-6c1e2f4b7a10',
        ReferralLink__c: input.referralLink,
        LeadKind__c: 'salesQualified',
      },
      trace: expect.any(Array),
    });
  });

  it('fills required fields with defaults and leaves unknown sizes empty', () => {
    const sparse = {
      ...referral,
      customerProfile: { size: 'Gigantic', address: { addressLine2: 'Unit 4' } },
      details: null,
    };
    expect(
      salesforce.map({ ...input, referral: sparse, leadKind: 'customerInquiry', hot: false })
        .fields,
    ).toEqual({
      LastName: '(unknown)',
      Company: '(unknown company)',
      Street: 'Unit 4',
      Description: 'Deal: Azure migration for 3 data centres',
      LeadSource: 'Web',
      Rating: 'Warm',
      PartnerReferralId__c: referral.id,
      ReferralLink__c: input.referralLink,
      LeadKind__c: 'customerInquiry',
    });
  });

  it('reads outcomes from Lead status and the converted opportunity', () => {
    const view = (
      lead: Record<string, unknown> | null,
      opportunity: Record<string, unknown> | null = null,
    ) => salesforce.readOutcome({ referral, lead, opportunity });
    expect(view({ Status: 'Open - Not Contacted', IsConverted: false }).outcome).toBeNull();
    expect(view({ Status: 'Working - Contacted', IsConverted: false })).toMatchObject({
      outcome: 'accepted',
      acceptFields: {
        dealName: 'Azure migration for 3 data centres',
        dealValue: 250000,
        currency: 'EUR',
        closingDateTime: '2025-09-30T22:00:00.000Z',
        notes: 'Customer wants to move 3 data centres to Azure by Q4.',
      },
      errors: [],
    });
    expect(
      view({ Status: 'Closed - Not Converted', DeclineReason__c: 'Not a customer' }),
    ).toMatchObject({ outcome: 'declined', reason: 'Not a customer' });
    expect(view({ Status: 'Closed - Not Converted', DeclineReason__c: 'Expired' })).toMatchObject({
      outcome: 'declined',
      reason: 'Others',
    });
    const opportunity = {
      Name: 'Contoso Azure',
      Amount: 90000,
      CloseDate: '2025-11-30',
      StageName: 'Closed Won',
      CurrencyIsoCode: 'usd',
      Description: 'Signed',
    };
    expect(view({ Status: 'Closed - Converted', IsConverted: true }, opportunity)).toMatchObject({
      outcome: 'won',
      acceptFields: {
        dealName: 'Contoso Azure',
        dealValue: 90000,
        currency: 'USD',
        closingDateTime: '2025-11-30T00:00:00.000Z',
        notes: 'Signed',
      },
    });
    expect(
      view(
        { IsConverted: true },
        {
          ...opportunity,
          StageName: 'Closed Lost',
          LossReason__c: "Project budget isn't adequate",
        },
      ),
    ).toMatchObject({
      outcome: 'lost',
      reason: "Project budget isn't adequate",
    });
    expect(view({ IsConverted: true }, { ...opportunity, StageName: 'Prospecting' })).toMatchObject(
      { outcome: 'accepted' },
    );
  });
});

describe('shipped mappings together', () => {
  it('give stable payload hashes and distinct versions', () => {
    const first = dynamics.map(input).fields;
    const reordered = Object.fromEntries(Object.entries(first).reverse());
    expect(stableHash(reordered)).toBe(stableHash(first));
    expect(dynamics.version).toMatch(/^[0-9a-f]{12}$/);
    expect(salesforce.version).not.toBe(dynamics.version);
    expect(
      parseMapping(dynamicsYaml.replace('{ truncate: 300 }', '{ truncate: 200 }'), 'x.yaml')
        .version,
    ).not.toBe(dynamics.version);
  });

  it('read the same referral paths', () => {
    expect(dynamics.referralPaths()).toEqual([
      'customerProfile.address.addressLine1',
      'customerProfile.address.addressLine2',
      'customerProfile.address.city',
      'customerProfile.address.country',
      'customerProfile.address.postalCode',
      'customerProfile.address.state',
      'customerProfile.name',
      'customerProfile.size',
      'customerProfile.team[0].email',
      'customerProfile.team[0].firstName',
      'customerProfile.team[0].lastName',
      'customerProfile.team[0].phoneNumber',
      'details.closingDateTime',
      'details.currency',
      'details.customerRequestedContact',
      'details.dealValue',
      'details.notes',
      'details.requirements.industries',
      'details.requirements.products',
      'details.requirements.services',
      'details.requirements.solutions[].name',
      'id',
      'inviteContext.invitedBy.organizationId',
      'name',
      'qualification',
      'type',
    ]);
    expect(salesforce.referralPaths()).toEqual(dynamics.referralPaths());
  });
});
