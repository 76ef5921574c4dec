// checkMappingAgainstMetadata: every kind of problem a mapping can have against the CRM's metadata,
// with file, line and path.
import { describe, expect, it } from 'vitest';
import type { CrmEntityMetadata, CrmFieldMetadata } from '../../src/crm/adapter.js';
import { parseMapping } from '../../src/mapping/index.js';
import { checkMappingAgainstMetadata } from '../../src/mapping/metadata.js';

const FILE = 'mappings/leads.yaml';

function field(
  name: string,
  type: CrmFieldMetadata['type'],
  extra: Partial<CrmFieldMetadata> = {},
): CrmFieldMetadata {
  return { name, type, required: false, createable: true, updateable: true, ...extra };
}

/** A Dataverse-like lead table. */
const LEAD: CrmEntityMetadata = {
  entity: 'lead',
  fields: [
    field('leadid', 'id', { updateable: false }),
    field('subject', 'string', { maxLength: 300, required: true }),
    field('lastname', 'string', { maxLength: 50, required: true }),
    field('companyname', 'string', { maxLength: 100 }),
    field('emailaddress1', 'string', { maxLength: 100 }),
    field('description', 'text', { maxLength: 2000 }),
    field('fullname', 'string', { maxLength: 160, createable: false, updateable: false }),
    field('estimatedvalue', 'number'),
    field('estimatedclosedate', 'date'),
    field('numberofemployees', 'integer'),
    field('donotemail', 'boolean'),
    field('leadqualitycode', 'picklist', { picklistValues: [1, 2, 3] }),
    field('leadsourcecode', 'picklist', { picklistValues: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }),
    field('statecode', 'picklist'),
    field('statuscode', 'picklist'),
    field('lb_referralid', 'string', { maxLength: 100 }),
    field('lb_leadkind', 'string', { maxLength: 10 }),
    field('lb_firstseen', 'datetime', { updateable: false }),
    field('lb_reviewedon', 'datetime', { createable: false }),
  ],
};

/** A Salesforce-like Lead. */
const SF_LEAD: CrmEntityMetadata = {
  entity: 'Lead',
  fields: [
    field('Id', 'id', { createable: false, updateable: false }),
    field('Name', 'string', { maxLength: 121, createable: false, updateable: false }),
    field('LastName', 'string', { maxLength: 80, required: true }),
    field('Company', 'string', { maxLength: 255, required: true }),
    field('Email', 'string', { maxLength: 80 }),
    field('Description', 'text', { maxLength: 32000 }),
    field('Rating', 'picklist', { picklistValues: ['Hot', 'Warm', 'Cold'] }),
    field('Status', 'picklist', {
      picklistValues: [
        'Open - Not Contacted',
        'Working - Contacted',
        'Closed - Converted',
        'Closed - Not Converted',
      ],
    }),
    field('IsConverted', 'boolean', { createable: false, updateable: false }),
    field('DeclineReason__c', 'string', { maxLength: 255 }),
    field('PartnerReferralId__c', 'string', { maxLength: 100 }),
  ],
};

const DYNAMICS_HEAD = 'version: 1\ntarget: dynamics365\nentity: lead\n';
const REQUIRED_LEAD_FIELDS = '  subject: name\n  lastname: customerProfile.team[0].lastName\n';

/** The 1-based line of the `occurrence`-th line containing `needle`. */
function lineOf(text: string, needle: string, occurrence = 1): number {
  let seen = 0;
  const index = text
    .split('\n')
    .findIndex((line) => line.includes(needle) && ++seen === occurrence);
  if (index === -1) throw new Error(`"${needle}" is not in the test mapping`);
  return index + 1;
}

function check(text: string, metadata: CrmEntityMetadata = LEAD) {
  return checkMappingAgainstMetadata(parseMapping(text, FILE), metadata);
}

describe('checkMappingAgainstMetadata', () => {
  it(
    'finds nothing in a mapping whose fields exist, may be written and take what is ' + 'written',
    () => {
      const text = `${DYNAMICS_HEAD}fields:
${REQUIRED_LEAD_FIELDS}  companyname:
    source: customerProfile.name
    transforms: [trim, { truncate: 100 }]
  description:
    template: "{{details.notes}} ({{details.dealValue}})"
  estimatedvalue: { source: details.dealValue, transforms: [number] }
  estimatedclosedate: { source: details.closingDateTime, transforms: [{ date: YYYY-MM-DD }] }
  numberofemployees:
    source: customerProfile.size
    transforms: [{ lookup: customerSize, fallback: null }]
  donotemail: { const: false }
  leadqualitycode: { source: $hot, transforms: [{ lookup: { true: 1, false: 2 } }] }
  leadsourcecode:
    source: $leadKind
    transforms: [{ lookup: { customerInquiry: 8, default: 10 } }]
  lb_referralid: $referralId
`;
      expect(check(text)).toEqual([]);
    },
  );

  it('reports CRM fields that do not exist, with the closest name when there is one', () => {
    const text = `${DYNAMICS_HEAD}fields:
${REQUIRED_LEAD_FIELDS}  emial: customerProfile.team[0].email
  compnyname: customerProfile.name
  favouritecolour:
    const: blue
`;
    expect(check(text)).toEqual([
      {
        file: FILE,
        line: lineOf(text, 'emial:'),
        path: 'fields.emial',
        message: 'unknown CRM field "emial" on lead (did you mean "emailaddress1"?)',
      },
      {
        file: FILE,
        line: lineOf(text, 'compnyname:'),
        path: 'fields.compnyname',
        message: 'unknown CRM field "compnyname" on lead (did you mean "companyname"?)',
      },
      {
        file: FILE,
        line: lineOf(text, 'favouritecolour:'),
        path: 'fields.favouritecolour',
        message: 'unknown CRM field "favouritecolour" on lead',
      },
    ]);
  });

  it('reports fields the CRM does not let a sync create or update', () => {
    const text = `${DYNAMICS_HEAD}fields:
${REQUIRED_LEAD_FIELDS}  fullname: customerProfile.name
  lb_firstseen: { source: createdDateTime, transforms: [{ date: iso }] }
  lb_reviewedon: { source: updatedDateTime, transforms: [{ date: iso }] }
`;
    expect(check(text)).toEqual([
      {
        file: FILE,
        line: lineOf(text, 'fullname:'),
        path: 'fields.fullname',
        message:
          'CRM field "fullname" on lead is read-only (it can be neither created nor updated)',
      },
      {
        file: FILE,
        line: lineOf(text, 'lb_firstseen:'),
        path: 'fields.lb_firstseen',
        message:
          'CRM field "lb_firstseen" on lead cannot be updated, so writing it again for a ' +
          'changed referral would be refused',
      },
      {
        file: FILE,
        line: lineOf(text, 'lb_reviewedon:'),
        path: 'fields.lb_reviewedon',
        message: 'CRM field "lb_reviewedon" on lead cannot be set when a record is created',
      },
    ]);
  });

  it('reports values whose type the CRM field cannot hold', () => {
    const text = `${DYNAMICS_HEAD}fields:
${REQUIRED_LEAD_FIELDS}  companyname: { source: details.dealValue, transforms: [number] }
  estimatedvalue: customerProfile.name
  estimatedclosedate: { source: details.closingDateTime, transforms: [{ date: iso }] }
  numberofemployees: { source: details.dealValue, transforms: [number] }
  donotemail:
    const: "yes"
  leadsourcecode: customerProfile.size
`;
    expect(check(text)).toEqual([
      {
        file: FILE,
        line: lineOf(text, 'companyname:'),
        path: 'fields.companyname',
        message:
          'gives a number but CRM field "companyname" is a text field: its writes would be ' +
          'refused (write it through a template to send text)',
      },
      {
        file: FILE,
        line: lineOf(text, 'estimatedvalue:'),
        path: 'fields.estimatedvalue',
        message:
          'gives text but CRM field "estimatedvalue" is a number field: add the number transform',
      },
      {
        file: FILE,
        line: lineOf(text, 'estimatedclosedate:'),
        path: 'fields.estimatedclosedate',
        message:
          'gives a date-time but CRM field "estimatedclosedate" is a date field: use { date: ' +
          'YYYY-MM-DD }',
      },
      {
        file: FILE,
        line: lineOf(text, 'numberofemployees:'),
        path: 'fields.numberofemployees',
        message:
          'gives a number but CRM field "numberofemployees" is a whole-number field: use the ' +
          'integer transform (number keeps fractions)',
      },
      {
        file: FILE,
        line: lineOf(text, 'const: "yes"'),
        path: 'fields.donotemail.const',
        message:
          'gives "yes" but CRM field "donotemail" is a yes/no field: add the boolean transform',
      },
      {
        file: FILE,
        line: lineOf(text, 'leadsourcecode:'),
        path: 'fields.leadsourcecode',
        message:
          'gives text but CRM field "leadsourcecode" is a picklist of whole-number option ' +
          'values (1, 2, 3, 4, 5, 6, 7, 8, 9, 10): map the value with a lookup',
      },
    ]);
  });

  it(
    'reports picklist values the CRM lacks where they are written: inline and named lookup ' +
      'tables, defaults, constants',
    () => {
      const text = `${DYNAMICS_HEAD}fields:
${REQUIRED_LEAD_FIELDS}  leadqualitycode:
    source: $hot
    transforms: [{ lookup: { true: 1, false: 5 } }]
  leadsourcecode:
    source: $leadKind
    transforms:
      - { lookup: leadSource }
lookups:
  leadSource:
    customerInquiry: 8
    marketingQualified: 3
    salesQualified: 12
    default: 11
`;
      expect(check(text)).toEqual([
        {
          file: FILE,
          line: lineOf(text, 'false: 5'),
          path: 'fields.leadqualitycode.transforms[0].lookup.false',
          message: '5 is not a value of the CRM picklist "leadqualitycode" (values: 1, 2, 3)',
        },
        {
          file: FILE,
          line: lineOf(text, 'salesQualified: 12'),
          path: 'lookups.leadSource.salesQualified',
          message:
            '12 is not a value of the CRM picklist "leadsourcecode" (values: 1, 2, 3, 4, 5, 6, ' +
            '7, 8, 9, 10)',
        },
        {
          file: FILE,
          line: lineOf(text, 'default: 11'),
          path: 'lookups.leadSource.default',
          message:
            '11 is not a value of the CRM picklist "leadsourcecode" (values: 1, 2, 3, 4, 5, 6, ' +
            '7, 8, 9, 10)',
        },
      ]);

      const salesforce = `version: 1\ntarget: salesforce\nentity: Lead\nfields:
  LastName: customerProfile.team[0].lastName
  Company: customerProfile.name
  Rating:
    source: details.notes
    transforms: [{ lookup: { urgent: Hot }, fallback: keep }, { default: Lukewarm }]
  Description:
    const: Lukewarm
`;
      expect(check(salesforce, SF_LEAD)).toEqual([
        {
          file: FILE,
          line: lineOf(salesforce, 'Lukewarm', 1),
          path: 'fields.Rating.transforms[1].default',
          message:
            '"Lukewarm" is not a value of the CRM picklist "Rating" (values: Hot, Warm, Cold)',
        },
      ]);
    },
  );

  it('reports a truncate longer than the field holds, and constants that are too long', () => {
    const text = `${DYNAMICS_HEAD}fields:
  subject:
    source: name
    transforms: [trim, { truncate: 400 }]
  lastname:
    source: "customerProfile.team[0].lastName"
    transforms: [{ truncate: 60 }, trim, { truncate: 50 }]
  lb_leadkind:
    const: marketingQualified
`;
    expect(check(text)).toEqual([
      {
        file: FILE,
        line: lineOf(text, '{ truncate: 400 }'),
        path: 'fields.subject.transforms[1]',
        message:
          'truncate 400 is longer than CRM field "subject" holds (at most 300 characters): ' +
          'longer values would be refused',
      },
      {
        file: FILE,
        line: lineOf(text, 'const: marketingQualified'),
        path: 'fields.lb_leadkind.const',
        message:
          '"marketingQualified" has 18 characters but CRM field "lb_leadkind" holds at most 10',
      },
    ]);
  });

  it('reports required CRM fields that the mapping leaves out, at the fields key', () => {
    const text = `${DYNAMICS_HEAD}\nfields:\n  companyname: customerProfile.name\n`;
    expect(check(text)).toEqual([
      {
        file: FILE,
        line: 5,
        path: 'fields',
        message: 'CRM field "subject" on lead is required but not mapped',
      },
      {
        file: FILE,
        line: 5,
        path: 'fields',
        message: 'CRM field "lastname" on lead is required but not mapped',
      },
    ]);
  });

  it(
    'checks the status section against the fields of the mapped entity (rules, reason fields, ' +
      'accept sources, expiry reflection)',
    () => {
      const text = `version: 1
target: salesforce
entity: Lead
defaults: { currency: USD }
fields:
  LastName: customerProfile.team[0].lastName
  Company: customerProfile.name
status:
  accepted:
    - { entity: lead, when: { Status: Working } }
    - { entity: lead, when: { Stauts: Working - Contacted } }
  declined:
    - { entity: lead, when: { Status: Closed - Not Converted } }
  won:
    - { entity: opportunity, when: { StageName: Won it } }
  declineReasons:
    field: lead.DeclineReasn__c
    default: Others
  acceptFields:
    dealName: { source: [opportunity.Name, lead.Nmae], transforms: [required] }
    dealValue: { source: referral.details.dealValue, transforms: [number, required] }
    closingDateTime: { source: referral.details.closingDateTime, transforms: [required] }
    notes: { source: lead.Description }
  expiredReflection: { Status: Closed - Expired, IsConverted: false }
`;
      const statuses =
        'Open - Not Contacted, Working - Contacted, Closed - Converted, Closed - Not Converted';
      expect(check(text, SF_LEAD)).toEqual([
        {
          file: FILE,
          line: lineOf(text, 'Status: Working }'),
          path: 'status.accepted[0].when.Status',
          message:
            `"Working" is not a value of the CRM picklist "Status" (values: ${statuses}), ` +
            `so this rule never matches`,
        },
        {
          file: FILE,
          line: lineOf(text, 'Stauts'),
          path: 'status.accepted[1].when.Stauts',
          message: 'unknown CRM field "Stauts" on Lead (did you mean "Status"?)',
        },
        {
          file: FILE,
          line: lineOf(text, 'DeclineReasn__c'),
          path: 'status.declineReasons.field',
          message: 'unknown CRM field "DeclineReasn__c" on Lead (did you mean "DeclineReason__c"?)',
        },
        {
          file: FILE,
          line: lineOf(text, 'lead.Nmae'),
          path: 'status.acceptFields.dealName.source[1]',
          message: 'unknown CRM field "Nmae" on Lead (did you mean "Name"?)',
        },
        {
          file: FILE,
          line: lineOf(text, 'expiredReflection'),
          path: 'status.expiredReflection.Status',
          message:
            `"Closed - Expired" is not a value of the CRM picklist "Status" (values: ` +
            `${statuses})`,
        },
        {
          file: FILE,
          line: lineOf(text, 'expiredReflection'),
          path: 'status.expiredReflection.IsConverted',
          message:
            'CRM field "IsConverted" on Lead is read-only (it can be neither created nor updated)',
        },
      ]);
    },
  );

  it('leaves the file out when the mapping was parsed from text without one', () => {
    const text = `${DYNAMICS_HEAD}fields:\n${REQUIRED_LEAD_FIELDS}  emial: name\n`;
    expect(checkMappingAgainstMetadata(parseMapping(text), LEAD)).toEqual([
      {
        line: lineOf(text, 'emial:'),
        path: 'fields.emial',
        message: 'unknown CRM field "emial" on lead (did you mean "emailaddress1"?)',
      },
    ]);
  });
});
