// Unit tests for mapping files: validation (every problem at once, with file:line:path), versions,
// and map() rules.
import { dynamics365Module } from '../../src/crm/dynamics365/module.js';
import { salesforceModule } from '../../src/crm/salesforce/module.js';
import { describe, expect, it } from 'vitest';
import { ValidationError, type Issue } from '../../src/core/errors.js';
import { referralSchema, type Referral } from '../../src/core/referral.js';
import { parseMapping, stableHash, type MappingInput } from '../../src/mapping/index.js';

const FILE = 'config/mappings/test.yaml';

function mapping(fields: string, extra = ''): string {
  return `version: 1\ntarget: dynamics365\nentity: lead\nfields:\n${fields}${extra}`;
}

function issuesOf(text: string): Issue[] {
  try {
    parseMapping(text, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('MAPPING_INVALID');
    return (error as ValidationError).issues;
  }
  throw new Error('expected the mapping to be refused');
}

function messagesOf(text: string): string[] {
  return issuesOf(text).map((issue) => `${issue.line}: ${issue.path}: ${issue.message}`);
}

const referral: Referral = referralSchema.parse({
  id: 'a1b2c3d4-0000-4000-8000-000000000001',
  eTag: '"e1"',
  status: 'New',
  substatus: 'Received',
  type: 'Independent',
  name: 'Cloud migration',
  createdDateTime: '2025-05-01T10:00:00Z',
  updatedDateTime: '2025-05-01T10:00:00Z',
  customerProfile: {
    name: 'Contoso',
    team: [{ firstName: 'Ann', lastName: 'Lee', email: 'ann@contoso.com' }],
  },
  details: { dealValue: 5000, requirements: { products: [{ id: 'Azure' }, 'Microsoft365'] } },
});

function input(overrides: Partial<Referral> = {}): MappingInput {
  return {
    referral: { ...referral, ...overrides },
    leadKind: 'customerInquiry',
    hot: false,
    referralLink: 'https://partner.microsoft.com/referrals/1',
  };
}

describe('parseMapping: problems', () => {
  it('reports every problem at once with file, line and path', () => {
    const text = [
      'version: 1',
      'target: dynamics365',
      'entity: lead',
      'fields:',
      '  subject:',
      '    template: "{{customerProfile.nam}} – {{name"',
      '  estimatedvalue:',
      '    source: details.dealValue',
      '    transforms: [trim, nubmer]',
      '  both:',
      '    source: name',
      '    const: x',
      '  neither: { transforms: [trim] }',
      '  firstname:',
      '    source: customerProfile.team.firstName',
      '    transforms: [{ truncate: 0 }, { lookup: leadSorce }]',
      '  products: { source: details.requirements.products }',
      '  address: { source: customerProfile.address, trasnforms: [] }',
      '  hot: { source: $hto }',
      'lookups:',
      '  iso3166: { US: United States }',
      'extra: 1',
    ].join('\n');
    const error = (() => {
      try {
        parseMapping(text, FILE);
      } catch (caught) {
        return caught as ValidationError;
      }
      throw new Error('expected the mapping to be refused');
    })();
    expect(error.message.split('\n')).toEqual([
      'mapping config/mappings/test.yaml is invalid:',
      '  - config/mappings/test.yaml:6: fields.subject.template: template has "{{" without a ' +
        'closing "}}" in "{{customerProfile.nam}} – {{name"',
      '  - config/mappings/test.yaml:6: fields.subject.template: template placeholder ' +
        '{{customerProfile.nam}}: unknown referral field "customerProfile.nam" (did you mean ' +
        '"name"?)',
      '  - config/mappings/test.yaml:9: fields.estimatedvalue.transforms[1]: unknown transform ' +
        '"nubmer" (did you mean "number"?)',
      '  - config/mappings/test.yaml:10: fields.both: use only one of source, template or ' +
        'const (found source, const)',
      '  - config/mappings/test.yaml:13: fields.neither: needs one of source, template or const',
      '  - config/mappings/test.yaml:15: fields.firstname.source: customerProfile.team is a ' +
        'list: pick an item, e.g. customerProfile.team[0].firstName',
      '  - config/mappings/test.yaml:16: fields.firstname.transforms[0].truncate: truncate ' +
        'needs a positive whole number, got 0',
      '  - config/mappings/test.yaml:16: fields.firstname.transforms[1].lookup: unknown lookup ' +
        '"leadSorce" (known: customerSize, iso3166)',
      '  - config/mappings/test.yaml:17: fields.products.source: details.requirements.products ' +
        'is a list: add a join transform, e.g. { join: ", " }',
      '  - config/mappings/test.yaml:18: fields.address.trasnforms: unknown key "trasnforms" ' +
        '(did you mean "transforms"?) (expected source, template, const, transforms, ' +
        'nullWhenEmpty)',
      '  - config/mappings/test.yaml:18: fields.address.source: customerProfile.address is an ' +
        'object: pick one of its fields (addressLine1, addressLine2, city, state, postalCode, ' +
        'country, region)',
      '  - config/mappings/test.yaml:19: fields.hot.source: unknown computed value "$hto" ' +
        '(known: $leadKind, $hot, $referralLink, $referralId)',
      '  - config/mappings/test.yaml:21: lookups.iso3166: lookup name "iso3166" is built in; ' +
        'choose another name',
      '  - config/mappings/test.yaml:22: extra: unknown key "extra" (expected version, target, ' +
        'entity, defaults, fields, lookups, status, coSell)',
    ]);
    expect(error.issues[0]).toEqual({
      file: FILE,
      line: 6,
      path: 'fields.subject.template',
      message: 'template has "{{" without a closing "}}" in "{{customerProfile.nam}} – {{name"',
    });
  });

  it('checks referral paths against the referral schema', () => {
    expect(
      messagesOf(
        mapping(
          [
            '  a: { source: nmae }',
            '  b: { source: customerProfile.adress.city }',
            '  c: { source: "name[0]" }',
            '  d: { source: name.first }',
            '  e: { source: "customerProfile.team[0]" }',
            '  f: { source: "details..notes" }',
            '  g: { source: [details.notes, details.nope] }',
            '  h: { source: consent.consentToContact }',
            '  i:',
            '    source: details.requirements.solutions[].name',
            '    transforms: [join]',
            '',
          ].join('\n'),
        ),
      ),
    ).toEqual([
      '5: fields.a.source: unknown referral field "nmae" (did you mean "name"?)',
      '6: fields.b.source: unknown referral field "customerProfile.adress" (did you mean ' +
        '"address"?)',
      '7: fields.c.source: name is not a list',
      '8: fields.d.source: name is a single value and has no field "first"',
      '9: fields.e.source: customerProfile.team[0] is an object: pick one of its fields ' +
        '(firstName, lastName, phoneNumber, email, contactPreference)',
      '10: fields.f.source: "details..notes" is not a valid path (write it like ' +
        'customerProfile.team[0].email)',
      '11: fields.g.source[1]: unknown referral field "details.nope" (did you mean "notes"?)',
    ]);
  });

  it('checks the top level, defaults and field names', () => {
    expect(
      messagesOf(
        'version: 2\ntarget: 12\ndefaults: { currency: usd, nullWhenEmpty: "yes" }\nfields:\n  ' +
          '"first name": { source: name }\n',
      ),
    ).toEqual([
      '1: version: unsupported version 2 (this leadbridge reads version 1)',
      '1: : entity is missing',
      "2: target: target must be a CRM kind (a config target's kind), got 12",
      '3: defaults.currency: currency must be an ISO 4217 code like USD, got "usd"',
      '3: defaults.nullWhenEmpty: nullWhenEmpty must be true or false, got "yes"',
      '5: fields["first name"]: "first name" is not a valid CRM field name',
    ]);
    expect(messagesOf('- a\n- b\n')).toEqual([
      '1: : a mapping file is a YAML mapping with version, target, entity and fields, got a ' +
        'list ["a","b"]',
    ]);
  });

  it('checks templates and lookup tables', () => {
    expect(
      messagesOf(
        mapping(
          [
            '  a: { template: "{{}} and }} and {{ name }}" }',
            '  b: { template: "no placeholder" }',
            '  c: { source: name, transforms: [{ lookup: tbl }] }',
            '',
          ].join('\n'),
          'lookups:\n  tbl: { values: { a: 1 }, default: [2], other: 3 }\n  "bad name": { a: 1 ' +
            '}\n  empty: {}\n',
        ),
      ),
    ).toEqual([
      '5: fields.a.template: template has an empty placeholder "{{}}"',
      '5: fields.a.template: template has "}}" without a matching "{{" in "{{}} and }} and {{ ' +
        'name }}"',
      '6: fields.b.template: template has no {{placeholder}}: use const for a fixed value',
      '9: lookups.tbl.other: unexpected key "other" in lookup table (use values and default)',
      '9: lookups.tbl.default: lookup default must be a text, number, boolean or null, got a ' +
        'list [2]',
      '10: lookups["bad name"]: lookup name "bad name" must be a name like leadSource',
      '11: lookups.empty: lookup table is empty',
    ]);
  });

  it('checks the status section', () => {
    const status = [
      'defaults: { currency: EURO }',
      'status:',
      '  declined: [ { entity: leed, when: { statecode: 2 } } ]',
      '  lost: { entity: opportunity, when: {} }',
      '  won: { entity: opportunity, when: { "state code": [1, { a: 1 }] } }',
      '  declineReasons: { field: statuscode, map: { 4: Budget }, default: Others }',
      '  acceptFields:',
      '    dealName: { source: foo.bar }',
      '    dealValue: { source: referral.details.dealvalue }',
      '    closingDateTime: { source: $hot }',
      '    price: { const: 1 }',
      '  expiredReflection: { statecode: [2] }',
      '',
    ].join('\n');
    expect(messagesOf(mapping('  subject: { source: name }\n', status))).toEqual([
      '6: defaults.currency: currency must be an ISO 4217 code like USD, got "EURO"',
      '7: status: lossReasons is needed when lost is set',
      '8: status.declined[0].entity: entity must be lead or opportunity, got "leed"',
      '9: status.lost.when: when is a mapping of CRM field → value (or list of values), got an ' +
        'object {}',
      '10: status.won.when["state code"]: "state code" is not a valid CRM field name',
      '10: status.won.when["state code"]: a condition is a value or a list of values, got a ' +
        'list [1,{"a":1}]',
      '11: status.declineReasons.field: "statuscode" is not a record path: start it with ' +
        'lead., opportunity. (e.g. lead.subject)',
      `11: status.declineReasons.map.4: "Budget" is not a Partner Center close reason (one of: ` +
        `"Project budget isn't adequate", "Customer didn't respond", "Customer chose another ` +
        `vendor", "Customer requirement not met", "Not a customer", "Proposed time line was ` +
        `too short", "Report as abuse, spam, or phishing", "Others")`,
      '12: status.acceptFields: notes is missing (Partner Center requires it to accept)',
      '12: status.acceptFields: currency is missing and defaults.currency is not set',
      '13: status.acceptFields.dealName.source: "foo.bar" is not a record path: start it with ' +
        'lead., opportunity., referral. (e.g. lead.subject)',
      '14: status.acceptFields.dealValue.source: unknown referral field "details.dealvalue" ' +
        '(did you mean "dealValue"?)',
      '15: status.acceptFields.closingDateTime.source: "$hot" is not a record path: start it ' +
        'with lead., opportunity., referral. (e.g. lead.subject)',
      '16: status.acceptFields.price: unknown key "price" (expected dealName, dealValue, ' +
        'currency, closingDateTime, notes)',
      '17: status.expiredReflection.statecode: a CRM field value must be a text, number, ' +
        'boolean or null, got a list [2]',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const issues = issuesOf('version: 1\nfields:\n  a: { source: name }\n  a: { source: id }\n');
    expect(issues).toEqual([{ path: '', message: 'Map keys must be unique', file: FILE, line: 4 }]);
  });

  it('reports one syntax error a line, with a hint for unquoted [ ] inside { }', () => {
    expect(
      messagesOf(
        mapping('  firstname: { source: customerProfile.team[0].firstName, transforms: [trim] }\n'),
      ),
    ).toEqual([
      '5: : Unexpected flow-seq-start at node end (inside { } put paths with [ ] in quotes, ' +
        'e.g. source: "customerProfile.team[0].email")',
    ]);
  });

  it('names no file when given none', () => {
    expect(() => parseMapping('version: 1')).toThrow(
      'mapping (inline) is invalid:\n  - target is missing\n  - entity is missing\n  - fields ' +
        'is missing',
    );
  });
});

describe('parseMapping: the compiled mapping', () => {
  const text = mapping('  subject: { source: name }\n  lb_leadkind: { source: $leadKind }\n');

  it('has a 12-hex version that ignores comments, layout and key order but follows content', () => {
    const base = parseMapping(text, FILE);
    expect(base.version).toMatch(/^[0-9a-f]{12}$/);
    expect(base.target).toBe('dynamics365');
    expect(base.entity).toBe('lead');
    expect(base.file).toBe(FILE);
    const reformatted =
      `# a comment\nentity: lead\ntarget: dynamics365\nversion: 1\nfields:\n ` +
      ` subject:\n    source: name\n  lb_leadkind: { source: "$leadKind" }\n`;
    expect(parseMapping(reformatted, 'elsewhere.yaml').version).toBe(base.version);
    expect(parseMapping(text.replace('source: name', 'source: id'), FILE).version).not.toBe(
      base.version,
    );
    expect(parseMapping(`${text}  extra: { const: 1 }\n`, FILE).version).not.toBe(base.version);
  });

  it('lists the referral paths it reads, computed values as their inputs', () => {
    expect(parseMapping(text, FILE).referralPaths()).toEqual([
      'inviteContext.invitedBy.organizationId',
      'name',
      'qualification',
      'type',
    ]);
  });

  it('accepts a plain text field as shorthand for source', () => {
    const compiled = parseMapping(mapping('  subject: name\n'), FILE);
    expect(compiled.map(input())).toEqual({
      ok: true,
      fields: { subject: 'Cloud migration' },
      trace: [
        {
          field: 'subject',
          source: 'name',
          input: 'Cloud migration',
          steps: [],
          value: 'Cloud migration',
        },
      ],
    });
  });

  it('gives the absolute path of the shipped default files', () => {
    expect(dynamics365Module.mappingFile).toMatch(/^\/.*\/src\/crm\/dynamics365\/mapping\.yaml$/);
    expect(salesforceModule.mappingFile).toMatch(/^\/.*\/src\/crm\/salesforce\/mapping\.yaml$/);
  });
});

describe('map()', () => {
  it('traces every step of every field', () => {
    const compiled = parseMapping(
      mapping(
        '  companyname:\n    source: customerProfile.name\n    transforms: [upper, { truncate: ' +
          '3 }, required]\n',
      ),
      FILE,
    );
    expect(compiled.map(input()).trace).toEqual([
      {
        field: 'companyname',
        source: 'customerProfile.name',
        input: 'Contoso',
        steps: [
          { transform: 'upper', value: 'CONTOSO' },
          { transform: 'truncate 3', value: 'CON' },
          { transform: 'required', value: 'CON' },
        ],
        value: 'CON',
      },
    ]);
  });

  it('leaves empty values out by default, and sends null with nullWhenEmpty', () => {
    const fields = [
      '  telephone1: { source: "customerProfile.team[0].phoneNumber" }',
      '  jobtitle: { source: "customerProfile.team[0].phoneNumber", nullWhenEmpty: true }',
      '  address1_city: { source: customerProfile.address.city, transforms: [trim], ' +
        'nullWhenEmpty: true }',
      '  fax: { const: "" }',
      '',
    ].join('\n');
    const result = parseMapping(mapping(fields), FILE).map(input());
    expect(result).toMatchObject({ ok: true, fields: { jobtitle: null, address1_city: null } });
    expect(Object.keys(result.fields)).toEqual(['jobtitle', 'address1_city']);
    const everywhere = parseMapping(
      mapping(fields, 'defaults: { nullWhenEmpty: true }\n'),
      FILE,
    ).map(input());
    expect(everywhere.fields).toEqual({
      telephone1: null,
      jobtitle: null,
      address1_city: null,
      fax: null,
    });
  });

  it('takes the first non-empty source of a list', () => {
    const compiled = parseMapping(
      mapping(
        '  emailaddress1: { source: ["customerProfile.team[1].email", "team[0].email", ' +
          '"customerProfile.team[0].email"] }\n',
      ),
      FILE,
    );
    expect(compiled.map(input()).fields).toEqual({ emailaddress1: 'ann@contoso.com' });
    expect(compiled.map(input({ team: [{ email: 'partner@fabrikam.com' }] })).fields).toEqual({
      emailaddress1: 'partner@fabrikam.com',
    });
  });

  it('fills templates, joining lists and dropping lines whose placeholders are all empty', () => {
    const template =
      '  description:\n    template: "Deal: {{name}}\\nCity: ' +
      '{{customerProfile.address.city}}\\nProducts: {{details.requirements.products}}\\n--"\n';
    expect(parseMapping(mapping(template), FILE).map(input()).fields).toEqual({
      description: 'Deal: Cloud migration\nProducts: Azure, Microsoft365\n--',
    });
  });

  it('collects every field error without stopping the other fields', () => {
    const fields = [
      '  estimatedvalue: { source: details.dealValue, transforms: [number] }',
      '  subject: { source: name }',
      '  emailaddress1: { source: "customerProfile.team[0].email", transforms: [{ replace: { ' +
        'pattern: "@", with: " at " } }, email] }',
      '  lastname: { source: customerProfile.address.city, transforms: [required] }',
      '  products: { source: details.requirements.products, transforms: [join, { lookup: { a: ' +
        '1 } }] }',
      '',
    ].join('\n');
    const result = parseMapping(mapping(fields), FILE).map(
      input({
        details: {
          dealValue: 'lots',
          requirements: { products: ['Azure'] },
        } as Referral['details'],
      }),
    );
    expect(result).toMatchObject({
      ok: false,
      errors: [
        { field: 'estimatedvalue', message: '"lots" is not a number' },
        { field: 'emailaddress1', message: '"ann at contoso.com" is not a valid email address' },
        {
          field: 'lastname',
          message: 'value is required but customerProfile.address.city is empty',
        },
        { field: 'products', message: '"Azure" is not in the inline lookup (known: a)' },
      ],
      fields: { subject: 'Cloud migration' },
    });
    expect(result.trace.find((entry) => entry.field === 'estimatedvalue')).toEqual({
      field: 'estimatedvalue',
      source: 'details.dealValue',
      input: 'lots',
      steps: [],
      value: undefined,
      error: '"lots" is not a number',
    });
  });

  it(
    'refuses lists and objects that reach a CRM field (possible under objects the schema ' +
      'leaves open)',
    () => {
      const compiled = parseMapping(
        mapping(
          '  a: { source: consent.extra }\n  b: { source: consent.flags }\n  c: { source: ' +
            'consent.consentToContact }\n',
        ),
        FILE,
      );
      const result = compiled.map(
        input({ consent: { extra: { x: 1 }, flags: [true], consentToContact: true } }),
      );
      expect(result).toMatchObject({
        ok: false,
        errors: [
          { field: 'a', message: 'gives an object {"x":1}: pick one of its fields' },
          { field: 'b', message: 'gives a list [true]: add a join transform' },
        ],
        fields: { c: true },
      });
    },
  );

  it('joins list items read with [] and defaults when none is left', () => {
    const compiled = parseMapping(
      mapping(
        '  names: { source: "customerProfile.team[].firstName", transforms: [join, { default: ' +
          '"-" }] }\n',
      ),
      FILE,
    );
    expect(compiled.map(input()).fields).toEqual({ names: 'Ann' });
    expect(compiled.map(input({ customerProfile: { team: [{ lastName: 'X' }] } })).fields).toEqual({
      names: '-',
    });
  });
});

describe('stableHash', () => {
  it('does not depend on key order, at any depth', () => {
    const a = stableHash({
      subject: 'x',
      estimatedvalue: 10,
      nested: { b: 1, a: [1, { d: 2, c: 3 }] },
    });
    const b = stableHash({
      nested: { a: [1, { c: 3, d: 2 }], b: 1 },
      estimatedvalue: 10,
      subject: 'x',
    });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with any value and ignores undefined members', () => {
    const base = stableHash({ subject: 'x', estimatedvalue: 10 });
    expect(stableHash({ subject: 'x', estimatedvalue: 11 })).not.toBe(base);
    expect(stableHash({ subject: 'x', estimatedvalue: '10' })).not.toBe(base);
    expect(stableHash({ subject: 'x', estimatedvalue: 10, telephone1: null })).not.toBe(base);
    expect(stableHash({ subject: 'x', estimatedvalue: 10, telephone1: undefined })).toBe(base);
  });
});
