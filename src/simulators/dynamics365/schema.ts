// The tables the Dataverse simulator serves: columns with their types and limits, keys, and
// state/status pairs.

type ColumnType =
  | 'guid'
  | 'string'
  | 'money'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'boolean'
  | 'lookup'
  | 'state'
  | 'status'
  | 'bigint';

export interface ColumnSpec {
  type: ColumnType;
  /** Longest accepted string, in characters. */
  maxLength?: number;
  /** Accepted values of a picklist. */
  options?: readonly number[];
  /** Written only by the server (a body naming it is refused). */
  readOnly?: boolean;
  /** For a lookup: the entity set it points to. */
  target?: string;
  /** For a lookup: the navigation property a body binds with (`<bind>@odata.bind`). */
  bind?: string;
}

export interface StateSpec {
  code: number;
  name: string;
  /** The first one is the default when only the statecode is set. */
  statuses: readonly number[];
}

export interface TableSpec {
  entitySet: string;
  /** The logical (type) name: `lead` → `Microsoft.Dynamics.CRM.lead`. */
  logicalName: string;
  primaryKey: string;
  /** `Lead` for the `LeadState.Open` names in status errors. */
  stateEnum: string;
  /** The single-column alternate key, when the table has one. */
  alternateKey?: string;
  /** Columns the server computes as `firstname lastname`. */
  fullNameFrom?: readonly [string, string];
  /** Keyed by the Web API property name as read (lookups as `_<name>_value`). */
  columns: Readonly<Record<string, ColumnSpec>>;
  states: readonly StateSpec[];
}

const text = (maxLength: number): ColumnSpec => ({ type: 'string', maxLength });
const lookup = (bind: string, target: string): ColumnSpec => ({ type: 'lookup', bind, target });

/** Columns every table has: the audit stamps and the row version behind `@odata.etag`. */
const systemColumns: Record<string, ColumnSpec> = {
  statecode: { type: 'state' },
  statuscode: { type: 'status' },
  createdon: { type: 'datetime', readOnly: true },
  modifiedon: { type: 'datetime', readOnly: true },
  versionnumber: { type: 'bigint', readOnly: true },
};

const addressColumns: Record<string, ColumnSpec> = {
  address1_line1: text(250),
  // The real lead table has more address columns than the facts sheet lists; the default mapping
  // uses line 2.
  address1_line2: text(250),
  address1_line3: text(250),
  address1_city: text(80),
  address1_stateorprovince: text(80),
  address1_postalcode: text(20),
  address1_country: text(80),
};

export const LEAD: TableSpec = {
  entitySet: 'leads',
  logicalName: 'lead',
  primaryKey: 'leadid',
  stateEnum: 'Lead',
  alternateKey: 'lb_referralid',
  fullNameFrom: ['firstname', 'lastname'],
  columns: {
    leadid: { type: 'guid' },
    subject: text(300),
    firstname: text(50),
    lastname: text(50),
    fullname: { type: 'string', maxLength: 160, readOnly: true },
    companyname: text(100),
    emailaddress1: text(100),
    telephone1: text(50),
    jobtitle: text(100),
    description: text(2000),
    ...addressColumns,
    estimatedvalue: { type: 'money' },
    estimatedclosedate: { type: 'date' },
    leadsourcecode: { type: 'picklist', options: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    leadqualitycode: { type: 'picklist', options: [1, 2, 3] },
    _qualifyingopportunityid_value: lookup('qualifyingopportunityid', 'opportunities'),
    ...systemColumns,
    // Columns added by leadbridge's solution.
    lb_referralid: text(100),
    lb_referrallink: text(500),
    lb_leadkind: text(100),
    lb_syncwithpartnercenter: { type: 'boolean' },
  },
  states: [
    { code: 0, name: 'Open', statuses: [1, 2] },
    { code: 1, name: 'Qualified', statuses: [3] },
    { code: 2, name: 'Disqualified', statuses: [4, 5, 6, 7] },
  ],
};

export const OPPORTUNITY: TableSpec = {
  entitySet: 'opportunities',
  logicalName: 'opportunity',
  primaryKey: 'opportunityid',
  stateEnum: 'Opportunity',
  columns: {
    opportunityid: { type: 'guid' },
    name: text(300),
    description: text(2000),
    estimatedvalue: { type: 'money' },
    estimatedclosedate: { type: 'date' },
    actualvalue: { type: 'money' },
    actualclosedate: { type: 'date' },
    _originatingleadid_value: lookup('originatingleadid', 'leads'),
    _parentaccountid_value: lookup('parentaccountid', 'accounts'),
    _parentcontactid_value: lookup('parentcontactid', 'contacts'),
    ...systemColumns,
    lb_referralid: text(100),
    // Co-sell: the seller's "share with Microsoft" flag and the customer an admin maps outward.
    lb_sharewithmicrosoft: { type: 'boolean' },
    lb_customername: text(160),
    lb_customercountry: text(2),
  },
  states: [
    { code: 0, name: 'Open', statuses: [1, 2] },
    { code: 1, name: 'Won', statuses: [3] },
    { code: 2, name: 'Lost', statuses: [4, 5] },
  ],
};

export const ACCOUNT: TableSpec = {
  entitySet: 'accounts',
  logicalName: 'account',
  primaryKey: 'accountid',
  stateEnum: 'Account',
  columns: {
    accountid: { type: 'guid' },
    name: text(160),
    telephone1: text(50),
    emailaddress1: text(100),
    websiteurl: text(200),
    ...addressColumns,
    _originatingleadid_value: lookup('originatingleadid', 'leads'),
    ...systemColumns,
  },
  states: [
    { code: 0, name: 'Active', statuses: [1] },
    { code: 1, name: 'Inactive', statuses: [2] },
  ],
};

export const CONTACT: TableSpec = {
  entitySet: 'contacts',
  logicalName: 'contact',
  primaryKey: 'contactid',
  stateEnum: 'Contact',
  fullNameFrom: ['firstname', 'lastname'],
  columns: {
    contactid: { type: 'guid' },
    firstname: text(50),
    lastname: text(50),
    fullname: { type: 'string', maxLength: 160, readOnly: true },
    emailaddress1: text(100),
    telephone1: text(50),
    jobtitle: text(100),
    _parentcustomerid_value: lookup('parentcustomerid_account', 'accounts'),
    _originatingleadid_value: lookup('originatingleadid', 'leads'),
    ...systemColumns,
  },
  states: [
    { code: 0, name: 'Active', statuses: [1] },
    { code: 1, name: 'Inactive', statuses: [2] },
  ],
};

export const TABLES: readonly TableSpec[] = [LEAD, OPPORTUNITY, ACCOUNT, CONTACT];

export function tableByEntitySet(entitySet: string): TableSpec | undefined {
  return TABLES.find((table) => table.entitySet === entitySet);
}

export function stateOf(table: TableSpec, statecode: number): StateSpec | undefined {
  return table.states.find((state) => state.code === statecode);
}

/** The state a status code belongs to, if any. */
export function stateOfStatus(table: TableSpec, statuscode: number): StateSpec | undefined {
  return table.states.find((state) => state.statuses.includes(statuscode));
}

/** `Microsoft.Dynamics.CRM.lead`, as OData names the entity type. */
export function typeName(table: TableSpec): string {
  return `Microsoft.Dynamics.CRM.${table.logicalName}`;
}

/** The column a body may bind through `<navigation>@odata.bind`. */
export function columnByBind(
  table: TableSpec,
  navigation: string,
): [string, ColumnSpec] | undefined {
  return Object.entries(table.columns).find(
    ([, column]) => column.type === 'lookup' && column.bind === navigation,
  );
}

/** The Edm type a column is exposed as, for error messages. */
export function edmType(column: ColumnSpec): string {
  switch (column.type) {
    case 'guid':
    case 'lookup':
      return 'Edm.Guid';
    case 'string':
      return 'Edm.String';
    case 'money':
      return 'Edm.Decimal';
    case 'date':
      return 'Edm.Date';
    case 'datetime':
      return 'Edm.DateTimeOffset';
    case 'boolean':
      return 'Edm.Boolean';
    case 'bigint':
      return 'Edm.Int64';
    default:
      return 'Edm.Int32';
  }
}
