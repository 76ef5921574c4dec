// The simulated portal's property definitions and deal pipeline, as HubSpot's properties and
// pipelines APIs return them.
// Sources: developers.hubspot.com/docs/api-reference/latest/crm/properties (property fields: name,
// label, type,
// fieldType, options, hasUniqueValue, modificationMetadata.readOnlyValue) and
// developers.hubspot.com/docs/guides/api/crm/pipelines (the default "Sales Pipeline" and its stage
// ids).

/** HubSpot's object type names and their ids (0-1 contacts, 0-2 companies, 0-3 deals). */
export const OBJECT_TYPES = {
  contacts: { id: '0-1', singular: 'CONTACT', label: 'Contact' },
  companies: { id: '0-2', singular: 'COMPANY', label: 'Company' },
  deals: { id: '0-3', singular: 'DEAL', label: 'Deal' },
} as const;
export type ObjectType = keyof typeof OBJECT_TYPES;

export function isObjectType(name: string): name is ObjectType {
  return Object.hasOwn(OBJECT_TYPES, name);
}

type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';

interface PropertyOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
}

export interface PropertyDefinition {
  name: string;
  label: string;
  type: PropertyType;
  fieldType: string;
  groupName: string;
  options: PropertyOption[];
  hasUniqueValue: boolean;
  readOnlyValue: boolean;
  calculated: boolean;
}

/**
 * The custom property an admin creates on contacts, companies and deals: single-line text, unique
 * values.
 */
const REFERRAL_ID_PROPERTY = 'leadbridge_referral_id';

/**
 * The change stamp each object's search sorts and filters on (contacts keep theirs in
 * lastmodifieddate).
 */
export const MODIFIED_PROPERTY: Record<ObjectType, string> = {
  contacts: 'lastmodifieddate',
  companies: 'hs_lastmodifieddate',
  deals: 'hs_lastmodifieddate',
};

/** The default Sales Pipeline (id "default") and its stages, in display order. */
export const DEFAULT_PIPELINE = {
  id: 'default',
  label: 'Sales Pipeline',
  stages: [
    { id: 'appointmentscheduled', label: 'Appointment Scheduled', probability: '0.2' },
    { id: 'qualifiedtobuy', label: 'Qualified To Buy', probability: '0.4' },
    { id: 'presentationscheduled', label: 'Presentation Scheduled', probability: '0.6' },
    { id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', probability: '0.8' },
    { id: 'contractsent', label: 'Contract Sent', probability: '0.9' },
    { id: 'closedwon', label: 'Closed Won', probability: '1.0' },
    { id: 'closedlost', label: 'Closed Lost', probability: '0.0' },
  ],
};

const LEAD_STATUSES = [
  ['NEW', 'New'],
  ['OPEN', 'Open'],
  ['IN_PROGRESS', 'In Progress'],
  ['OPEN_DEAL', 'Open Deal'],
  ['UNQUALIFIED', 'Unqualified'],
  ['ATTEMPTED_TO_CONTACT', 'Attempted to Contact'],
  ['CONNECTED', 'Connected'],
  ['BAD_TIMING', 'Bad Timing'],
] as const;

/** Partner Center's close reasons, as an admin enters them as the dropdown's options. */
const DECLINE_REASONS = [
  "Project budget isn't adequate",
  "Customer didn't respond",
  'Customer chose another vendor',
  'Customer requirement not met',
  'Not a customer',
  'Proposed time line was too short',
  'Report as abuse, spam, or phishing',
  'Others',
];

const CURRENCIES = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'JPY', 'CHF', 'INR', 'BRL', 'SEK'];
const PRIORITIES = [
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
] as const;

function options(pairs: ReadonlyArray<readonly [string, string]>): PropertyOption[] {
  return pairs.map(([value, label], displayOrder) => ({
    value,
    label,
    displayOrder,
    hidden: false,
  }));
}

type Spec = [name: string, type: PropertyType, extra?: Partial<PropertyDefinition>];

const FIELD_TYPES: Record<PropertyType, string> = {
  string: 'text',
  number: 'number',
  date: 'date',
  datetime: 'date',
  enumeration: 'select',
  bool: 'booleancheckbox',
};

function define(groupName: string, specs: Spec[]): PropertyDefinition[] {
  return specs.map(([name, type, extra]) => ({
    name,
    label: name,
    type,
    fieldType: FIELD_TYPES[type],
    groupName,
    options: [],
    hasUniqueValue: false,
    readOnlyValue: false,
    calculated: false,
    ...extra,
  }));
}

const readOnly = { readOnlyValue: true };
const unique = { hasUniqueValue: true, label: 'Partner Center referral id' };

function systemProperties(type: ObjectType): Spec[] {
  return [
    ['hs_object_id', 'number', readOnly],
    ['createdate', 'datetime', readOnly],
    [MODIFIED_PROPERTY[type], 'datetime', readOnly],
  ];
}

/**
 * Each object's property definitions (a fresh copy: callers may add properties to their own
 * portal).
 */
export function defaultProperties(): Record<ObjectType, PropertyDefinition[]> {
  return {
    contacts: define('contactinformation', [
      ...systemProperties('contacts'),
      ['email', 'string'],
      ['firstname', 'string'],
      ['lastname', 'string'],
      ['phone', 'string'],
      ['company', 'string'],
      ['jobtitle', 'string'],
      ['address', 'string'],
      ['city', 'string'],
      ['state', 'string'],
      ['zip', 'string'],
      ['country', 'string'],
      ['hs_lead_status', 'enumeration', { options: options(LEAD_STATUSES) }],
      [REFERRAL_ID_PROPERTY, 'string', unique],
      ['leadbridge_decline_reason', 'string'],
    ]),
    companies: define('companyinformation', [
      ...systemProperties('companies'),
      ['name', 'string'],
      ['domain', 'string'],
      ['address', 'string'],
      ['city', 'string'],
      ['state', 'string'],
      ['zip', 'string'],
      ['country', 'string'],
      ['numberofemployees', 'number'],
      [REFERRAL_ID_PROPERTY, 'string', unique],
    ]),
    deals: define('dealinformation', [
      ...systemProperties('deals'),
      ['dealname', 'string'],
      ['amount', 'number'],
      ['closedate', 'datetime'],
      ['description', 'string', { fieldType: 'textarea' }],
      ['pipeline', 'enumeration', { options: options([['default', 'Sales Pipeline']]) }],
      [
        'dealstage',
        'enumeration',
        { options: options(DEFAULT_PIPELINE.stages.map((s) => [s.id, s.label] as const)) },
      ],
      ['deal_currency_code', 'enumeration', { options: options(CURRENCIES.map((c) => [c, c])) }],
      ['hs_priority', 'enumeration', { options: options(PRIORITIES) }],
      ['closed_lost_reason', 'string', { fieldType: 'textarea' }],
      ['closed_won_reason', 'string', { fieldType: 'textarea' }],
      [REFERRAL_ID_PROPERTY, 'string', unique],
      ['leadbridge_referral_link', 'string'],
      ['leadbridge_lead_kind', 'string'],
      // The deal-only layout's decline: a dropdown of Partner Center's close reasons.
      [
        'leadbridge_decline_reason',
        'enumeration',
        { options: options(DECLINE_REASONS.map((r) => [r, r] as const)) },
      ],
      // Co-sell: a single checkbox that shares the deal with Microsoft, and the customer it is for.
      [
        'leadbridge_share_with_microsoft',
        'bool',
        {
          options: options([
            ['true', 'Yes'],
            ['false', 'No'],
          ]),
        },
      ],
      ['leadbridge_customer_name', 'string'],
      ['leadbridge_customer_country', 'string'],
    ]),
  };
}

/** A property definition as GET /crm/v3/properties/{objectType} lists it. */
export function propertyJson(definition: PropertyDefinition): Record<string, unknown> {
  return {
    name: definition.name,
    label: definition.label,
    type: definition.type,
    fieldType: definition.fieldType,
    description: '',
    groupName: definition.groupName,
    options: definition.options,
    displayOrder: -1,
    calculated: definition.calculated,
    externalOptions: false,
    hasUniqueValue: definition.hasUniqueValue,
    hidden: false,
    formField: !definition.readOnlyValue,
    modificationMetadata: {
      archivable: !definition.readOnlyValue,
      readOnlyDefinition: definition.readOnlyValue,
      readOnlyValue: definition.readOnlyValue,
    },
    createdAt: '2020-01-01T00:00:00.000Z',
    updatedAt: '2020-01-01T00:00:00.000Z',
    archived: false,
  };
}
