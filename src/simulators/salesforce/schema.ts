// The simulated org's sObjects (Lead, Opportunity, Account): fields, types, lengths, picklists and
// keys.
import { COUNTRIES, COUNTRY_CODES, stateEntries } from './address-picklists.js';

export type FieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'boolean'
  | 'currency'
  | 'int'
  | 'double'
  | 'date'
  | 'datetime'
  | 'reference';

interface PicklistSpec {
  values: readonly string[];
  defaultValue?: string;
  /** A restricted picklist refuses values outside the list. */
  restricted: boolean;
  /**
   * Entries with their own labels and dependencies (the address code picklists): describe lists
   * these instead of
   * `values`, and the address rules check them with the platform's own messages.
   */
  entries?: () => ReadonlyArray<{ value: string; label: string; validFor: string | null }>;
  /** The controlling field of a dependent picklist. */
  controllerName?: string;
}

export interface FieldSpec {
  name: string;
  label: string;
  type: FieldType;
  /** Maximum characters for text-like fields. */
  length: number;
  /** Total digits and digits after the point for currency / double; digits for int. */
  precision: number;
  scale: number;
  /** Required on create and may not be cleared (nillable false and no default). */
  required: boolean;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  externalId: boolean;
  unique: boolean;
  custom: boolean;
  picklist?: PicklistSpec;
  /** Present only in orgs with this feature on (State and Country/Territory Picklists). */
  feature?: 'statePicklists';
  /** For references: the target object and the relationship name used in SOQL paths. */
  referenceTo?: string;
  relationshipName?: string;
}

export interface SObjectSpec {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  fields: readonly FieldSpec[];
  /** Lower-cased field name → field: the API matches field names case-insensitively. */
  fieldsByLowerName: ReadonlyMap<string, FieldSpec>;
  /** Lower-cased relationship name → the reference field that carries it. */
  relationshipsByLowerName: ReadonlyMap<string, FieldSpec>;
}

const LEAD_STATUSES = [
  'Open - Not Contacted',
  'Working - Contacted',
  'Closed - Converted',
  'Closed - Not Converted',
] as const;
const OPPORTUNITY_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Value Proposition',
  'Id. Decision Makers',
  'Perception Analysis',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
] as const;
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];

type FieldOptions = Partial<Omit<FieldSpec, 'name' | 'label' | 'type'>>;

function field(
  name: string,
  label: string,
  type: FieldType,
  options: FieldOptions = {},
): FieldSpec {
  const writable = options.createable ?? true;
  return {
    name,
    label,
    type,
    length: 0,
    precision: 0,
    scale: 0,
    required: false,
    createable: writable,
    updateable: options.updateable ?? writable,
    nillable: !options.required,
    externalId: false,
    unique: false,
    custom: name.endsWith('__c'),
    ...options,
  };
}

const text = (name: string, label: string, length: number, options: FieldOptions = {}) =>
  field(name, label, 'string', { length, ...options });
const readOnly = (name: string, label: string, type: FieldType, options: FieldOptions = {}) =>
  field(name, label, type, { createable: false, updateable: false, ...options });
const picklist = (name: string, label: string, spec: PicklistSpec, options: FieldOptions = {}) =>
  field(name, label, 'picklist', { length: 255, picklist: spec, ...options });
const countryCodePicklist = (name: string, label: string) =>
  picklist(
    name,
    label,
    { values: COUNTRY_CODES, restricted: true, entries: countryEntries },
    { feature: 'statePicklists' },
  );
const stateCodePicklist = (name: string, label: string, controllerName: string) =>
  picklist(
    name,
    label,
    { values: [], restricted: true, entries: stateEntries, controllerName },
    { feature: 'statePicklists' },
  );
const reference = (
  name: string,
  label: string,
  referenceTo: string,
  relationshipName: string,
  options: FieldOptions = {},
) => field(name, label, 'reference', { length: 18, referenceTo, relationshipName, ...options });

/** Id, IsDeleted and the audit stamps every object carries. */
function systemFields(objectLabel: string): { head: FieldSpec[]; tail: FieldSpec[] } {
  return {
    head: [
      readOnly('Id', `${objectLabel} ID`, 'id', { length: 18, nillable: false }),
      readOnly('IsDeleted', 'Deleted', 'boolean', { nillable: false }),
    ],
    tail: [
      readOnly('CreatedDate', 'Created Date', 'datetime', { nillable: false }),
      readOnly('LastModifiedDate', 'Last Modified Date', 'datetime', { nillable: false }),
      readOnly('SystemModstamp', 'System Modstamp', 'datetime', { nillable: false }),
    ],
  };
}

function leadFields(): FieldSpec[] {
  const { head, tail } = systemFields('Lead');
  return [
    ...head,
    readOnly('Name', 'Full Name', 'string', { length: 121 }),
    text('FirstName', 'First Name', 40),
    text('LastName', 'Last Name', 80, { required: true }),
    text('Company', 'Company', 255, { required: true }),
    text('Title', 'Title', 128),
    field('Email', 'Email', 'email', { length: 80 }),
    field('Phone', 'Phone', 'phone', { length: 40 }),
    field('Street', 'Street', 'textarea', { length: 255 }),
    text('City', 'City', 40),
    text('State', 'State/Province', 80),
    text('PostalCode', 'Zip/Postal Code', 20),
    text('Country', 'Country', 80),
    stateCodePicklist('StateCode', 'State/Province Code', 'CountryCode'),
    countryCodePicklist('CountryCode', 'Country Code'),
    field('Description', 'Description', 'textarea', { length: 32000 }),
    picklist('LeadSource', 'Lead Source', { values: LEAD_SOURCES, restricted: false }),
    picklist('Rating', 'Rating', { values: ['Hot', 'Warm', 'Cold'], restricted: true }),
    picklist(
      'Status',
      'Lead Status',
      { values: LEAD_STATUSES, defaultValue: 'Open - Not Contacted', restricted: true },
      { nillable: false },
    ),
    field('AnnualRevenue', 'Annual Revenue', 'currency', { precision: 18, scale: 0 }),
    field('NumberOfEmployees', 'Employees', 'int', { precision: 8 }),
    readOnly('IsConverted', 'Converted', 'boolean', { nillable: false }),
    readOnly('ConvertedDate', 'Converted Date', 'date'),
    reference('ConvertedAccountId', 'Converted Account ID', 'Account', 'ConvertedAccount', {
      createable: false,
      updateable: false,
    }),
    reference(
      'ConvertedOpportunityId',
      'Converted Opportunity ID',
      'Opportunity',
      'ConvertedOpportunity',
      {
        createable: false,
        updateable: false,
      },
    ),
    text('PartnerReferralId__c', 'Partner Referral Id', 100, { externalId: true, unique: true }),
    field('ReferralLink__c', 'Referral Link', 'url', { length: 255 }),
    text('LeadKind__c', 'Lead Kind', 40),
    text('DeclineReason__c', 'Decline Reason', 255),
    ...tail,
  ];
}

function opportunityFields(): FieldSpec[] {
  const { head, tail } = systemFields('Opportunity');
  return [
    ...head,
    reference('AccountId', 'Account ID', 'Account', 'Account'),
    text('Name', 'Name', 120, { required: true }),
    field('Description', 'Description', 'textarea', { length: 32000 }),
    picklist(
      'StageName',
      'Stage',
      { values: OPPORTUNITY_STAGES, restricted: true },
      { required: true, nillable: false },
    ),
    field('Amount', 'Amount', 'currency', { precision: 18, scale: 2 }),
    field('CloseDate', 'Close Date', 'date', { required: true }),
    picklist('LeadSource', 'Lead Source', { values: LEAD_SOURCES, restricted: false }),
    readOnly('IsClosed', 'Closed', 'boolean', { nillable: false }),
    readOnly('IsWon', 'Won', 'boolean', { nillable: false }),
    text('PartnerReferralId__c', 'Partner Referral Id', 100, { externalId: true, unique: true }),
    text('LossReason__c', 'Loss Reason', 255),
    // Co-sell: the seller's "share with Microsoft" flag and the customer an admin maps outward.
    field('ShareWithMicrosoft__c', 'Share With Microsoft', 'boolean'),
    text('CustomerName__c', 'Customer Name', 160),
    text('CustomerCountry__c', 'Customer Country', 2),
    ...tail,
  ];
}

function accountFields(): FieldSpec[] {
  const { head, tail } = systemFields('Account');
  return [
    ...head,
    text('Name', 'Account Name', 255, { required: true }),
    field('Phone', 'Account Phone', 'phone', { length: 40 }),
    field('Website', 'Website', 'url', { length: 255 }),
    field('BillingStreet', 'Billing Street', 'textarea', { length: 255 }),
    text('BillingCity', 'Billing City', 40),
    text('BillingState', 'Billing State/Province', 80),
    text('BillingPostalCode', 'Billing Zip/Postal Code', 20),
    text('BillingCountry', 'Billing Country', 80),
    stateCodePicklist('BillingStateCode', 'Billing State/Province Code', 'BillingCountryCode'),
    countryCodePicklist('BillingCountryCode', 'Billing Country Code'),
    field('Description', 'Account Description', 'textarea', { length: 32000 }),
    field('AnnualRevenue', 'Annual Revenue', 'currency', { precision: 18, scale: 0 }),
    field('NumberOfEmployees', 'Employees', 'int', { precision: 8 }),
    ...tail,
  ];
}

function countryEntries(): Array<{ value: string; label: string; validFor: null }> {
  return COUNTRY_CODES.map((code) => ({
    value: code,
    label: COUNTRIES[code] as string,
    validFor: null,
  }));
}

function defineObject(
  name: string,
  labelPlural: string,
  keyPrefix: string,
  fields: FieldSpec[],
): SObjectSpec {
  return {
    name,
    label: name,
    labelPlural,
    keyPrefix,
    fields,
    fieldsByLowerName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
    relationshipsByLowerName: new Map(
      fields
        .filter((f) => f.relationshipName)
        .map((f) => [(f.relationshipName as string).toLowerCase(), f]),
    ),
  };
}

export const LEAD = defineObject('Lead', 'Leads', '00Q', leadFields());
export const OPPORTUNITY = defineObject('Opportunity', 'Opportunities', '006', opportunityFields());
export const ACCOUNT = defineObject('Account', 'Accounts', '001', accountFields());

/** Every object the simulated org knows, by API name. */
export const SOBJECTS: readonly SObjectSpec[] = [ACCOUNT, LEAD, OPPORTUNITY];

const objectsByLowerName = new Map(SOBJECTS.map((o) => [o.name.toLowerCase(), o]));

/** The object with this API name (case-insensitive), or undefined. */
export function findObject(name: string): SObjectSpec | undefined {
  return objectsByLowerName.get(name.toLowerCase());
}

/** The object whose ids start with this key prefix. */
export function objectForId(id: string): SObjectSpec | undefined {
  const prefix = id.slice(0, 3);
  return SOBJECTS.find((o) => o.keyPrefix === prefix);
}

export function findField(object: SObjectSpec, name: string): FieldSpec | undefined {
  return object.fieldsByLowerName.get(name.toLowerCase());
}

export function isTextType(type: FieldType): boolean {
  return (
    type === 'string' ||
    type === 'textarea' ||
    type === 'email' ||
    type === 'phone' ||
    type === 'url' ||
    type === 'picklist'
  );
}

export function isNumberType(type: FieldType): boolean {
  return type === 'currency' || type === 'int' || type === 'double';
}

/** The SOAP type name Salesforce uses in describe results and in deserialisation errors. */
export function soapTypeOf(type: FieldType): string {
  switch (type) {
    case 'id':
    case 'reference':
      return 'tns:ID';
    case 'boolean':
      return 'xsd:boolean';
    case 'currency':
    case 'double':
      return 'xsd:double';
    case 'int':
      return 'xsd:int';
    case 'date':
      return 'xsd:date';
    case 'datetime':
      return 'xsd:dateTime';
    default:
      return 'xsd:string';
  }
}
