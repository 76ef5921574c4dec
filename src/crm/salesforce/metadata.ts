// Normalises a Salesforce describe result (`/sobjects/{type}/describe`) into the CRM-neutral field
// metadata.
import type { CrmEntityMetadata, CrmFieldMetadata, CrmFieldType } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';

/** The describe properties read here (jsforce's DescribeSObjectResult has many more). */
interface DescribedField {
  name: string;
  type: string;
  length?: number;
  nillable?: boolean;
  createable?: boolean;
  updateable?: boolean;
  defaultedOnCreate?: boolean;
  picklistValues?: Array<{ value?: unknown; active?: unknown }> | null;
}

const FIELD_TYPES: Readonly<Record<string, CrmFieldType>> = {
  string: 'string',
  email: 'string',
  phone: 'string',
  url: 'string',
  encryptedstring: 'string',
  combobox: 'string',
  textarea: 'text',
  currency: 'number',
  double: 'number',
  percent: 'number',
  int: 'integer',
  long: 'integer',
  boolean: 'boolean',
  date: 'date',
  datetime: 'datetime',
  picklist: 'picklist',
  id: 'id',
  reference: 'reference',
};

/** Types whose `length` is a number of characters a write may hold. */
const TEXT_TYPES: ReadonlySet<CrmFieldType> = new Set(['string', 'text']);

export function entityMetadataOf(sobject: string, describe: unknown): CrmEntityMetadata {
  const fields = (describe as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields)) {
    throw new LeadbridgeError(
      'HTTP_ERROR',
      `salesforce: unreadable describe of ${sobject}: no fields list`,
      { api: 'salesforce' },
    );
  }
  const name = (describe as { name?: unknown }).name;
  const normalised = fields.map((field) => fieldOf(field as DescribedField));
  markPicklistBacked(normalised);
  return { entity: typeof name === 'string' ? name : sobject, fields: normalised };
}

/**
 * With State and Country/Territory Picklists on, each address's Country / State text has a
 * `<name>Code` picklist
 * beside it (CountryCode, BillingStateCode, ...) and takes only integration values
 * (help.salesforce.com
 * xcloud.admin_state_country_picklists_integ_values.htm).
 */
function markPicklistBacked(fields: CrmFieldMetadata[]): void {
  const byName = new Map(fields.map((field) => [field.name, field]));
  for (const field of fields) {
    const code = byName.get(`${field.name}Code`);
    if (/(Country|State)$/.test(field.name) && field.type === 'string' && code?.type === 'picklist')
      field.codeField = code.name;
  }
}

/** Required: a create without it is refused (not nillable, and Salesforce does not default it). */
function fieldOf(described: DescribedField): CrmFieldMetadata {
  const type = FIELD_TYPES[described.type] ?? 'other';
  const createable = described.createable === true;
  const field: CrmFieldMetadata = {
    name: described.name,
    type,
    required: described.nillable === false && createable && described.defaultedOnCreate !== true,
    createable,
    updateable: described.updateable === true,
  };
  if (TEXT_TYPES.has(type) && typeof described.length === 'number' && described.length > 0)
    field.maxLength = described.length;
  if (type === 'picklist') {
    field.picklistValues = (described.picklistValues ?? [])
      .filter((entry) => entry.active !== false && typeof entry.value === 'string')
      .map((entry) => entry.value as string);
  }
  return field;
}
