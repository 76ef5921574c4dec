// Reads a table's definition from the Dataverse metadata API (EntityDefinitions) and normalises it
// for mapping checks.
import type { CrmEntityMetadata, CrmFieldMetadata, CrmFieldType } from '../adapter.js';
import { LeadbridgeError } from '../../core/errors.js';
import { queryString, stringLiteral } from './odata.js';

/** GETs one path below the API root and resolves with its JSON body. */
export type MetadataReader = (path: string) => Promise<unknown>;

/** Properties of AttributeMetadata (the base type): what an expanded Attributes list may select. */
const ATTRIBUTE_PROPERTIES = [
  'LogicalName',
  'AttributeType',
  'RequiredLevel',
  'IsValidForCreate',
  'IsValidForUpdate',
] as const;

/**
 * Properties that only a derived attribute type has are read through a cast of the Attributes
 * collection
 * (`Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata`): one call per type the table uses.
 */
const DETAIL_QUERIES: ReadonlyArray<{
  attributeType: string;
  cast: string;
  options: Record<string, string>;
}> = [
  {
    attributeType: 'String',
    cast: 'StringAttributeMetadata',
    options: { $select: 'LogicalName,MaxLength' },
  },
  {
    attributeType: 'Memo',
    cast: 'MemoAttributeMetadata',
    options: { $select: 'LogicalName,MaxLength' },
  },
  {
    attributeType: 'DateTime',
    cast: 'DateTimeAttributeMetadata',
    options: { $select: 'LogicalName,Format' },
  },
  {
    attributeType: 'Picklist',
    cast: 'PicklistAttributeMetadata',
    // A picklist on a global choice carries its options in GlobalOptionSet.
    options: {
      $select: 'LogicalName',
      $expand: 'OptionSet($select=Options),GlobalOptionSet($select=Options)',
    },
  },
];

const FIELD_TYPES: Readonly<Record<string, CrmFieldType>> = {
  String: 'string',
  Memo: 'text',
  Money: 'number',
  Decimal: 'number',
  Double: 'number',
  Integer: 'integer',
  BigInt: 'integer',
  Boolean: 'boolean',
  Picklist: 'picklist',
  State: 'picklist',
  Status: 'picklist',
  Uniqueidentifier: 'id',
  Lookup: 'reference',
  Customer: 'reference',
  Owner: 'reference',
};

const REQUIRED_LEVELS: ReadonlySet<string> = new Set(['ApplicationRequired', 'SystemRequired']);
/**
 * Required columns the platform fills itself: ids, state and status, the owner (the calling user by
 * default).
 */
const FILLED_BY_PLATFORM_TYPES: ReadonlySet<string> = new Set([
  'Uniqueidentifier',
  'State',
  'Status',
  'Owner',
]);
const FILLED_BY_PLATFORM_NAMES: ReadonlySet<string> = new Set([
  'ownerid',
  'owninguser',
  'owningteam',
  'owningbusinessunit',
  'statecode',
  'statuscode',
]);

interface AttributeRow {
  LogicalName: string;
  AttributeType: string;
  RequiredLevel?: { Value?: unknown } | null;
  IsValidForCreate?: unknown;
  IsValidForUpdate?: unknown;
}

/** Details of the derived types, by logical name. */
interface AttributeDetails {
  maxLength: Map<string, number>;
  dateOnly: Set<string>;
  options: Map<string, number[]>;
}

/** `EntityDefinitions(LogicalName='lead')` */
function entityDefinitionPath(entity: string): string {
  return `EntityDefinitions(LogicalName=${encodeURIComponent(stringLiteral(entity))})`;
}

/**
 * The table's columns, normalised; NOT_FOUND names the table when Dataverse has none by that name.
 */
export async function readEntityMetadata(
  read: MetadataReader,
  entity: string,
): Promise<CrmEntityMetadata> {
  const root = entityDefinitionPath(entity);
  const attributes = await readAttributes(read, root, entity);
  const types = new Set(attributes.map((attribute) => attribute.AttributeType));
  const details: AttributeDetails = {
    maxLength: new Map(),
    dateOnly: new Set(),
    options: new Map(),
  };
  const queries = DETAIL_QUERIES.filter((query) => types.has(query.attributeType));
  const bodies = await Promise.all(
    queries.map((query) =>
      read(`${root}/Attributes/Microsoft.Dynamics.CRM.${query.cast}${queryString(query.options)}`),
    ),
  );
  bodies.forEach((body, index) =>
    addDetails(details, rowsOf(body, `${entity} ${queries[index]?.cast}`)),
  );
  return { entity, fields: attributes.map((attribute) => fieldOf(attribute, details)) };
}

async function readAttributes(
  read: MetadataReader,
  root: string,
  entity: string,
): Promise<AttributeRow[]> {
  const path = `${root}${queryString({
    $select: 'LogicalName',
    $expand: `Attributes($select=` + `${ATTRIBUTE_PROPERTIES.join(',')})`,
  })}`;
  let body: unknown;
  try {
    body = await read(path);
  } catch (error) {
    if (error instanceof LeadbridgeError && error.code === 'NOT_FOUND') {
      throw new LeadbridgeError(
        'NOT_FOUND',
        `dynamics365: the CRM has no table "${entity}" (${error.message})`,
        {
          status: error.status,
          provider: error.provider,
          providerCode: error.providerCode,
          api: 'dynamics365',
          cause: error,
        },
      );
    }
    throw error;
  }
  const list = (body as { Attributes?: unknown } | null)?.Attributes;
  if (!Array.isArray(list)) throw unreadable(`${entity} definition`, 'no Attributes list');
  return list.map((row) => attributeRow(row, entity));
}

function attributeRow(row: unknown, entity: string): AttributeRow {
  const candidate = row as Partial<AttributeRow> | null;
  if (typeof candidate?.LogicalName !== 'string' || typeof candidate.AttributeType !== 'string') {
    throw unreadable(
      `${entity} attributes`,
      `an attribute without LogicalName or AttributeType: ${JSON.stringify(row).slice(0, 200)}`,
    );
  }
  return candidate as AttributeRow;
}

function rowsOf(body: unknown, what: string): Array<Record<string, unknown>> {
  const value = (body as { value?: unknown } | null)?.value;
  if (!Array.isArray(value)) throw unreadable(what, 'the body has no "value" array');
  return value as Array<Record<string, unknown>>;
}

function addDetails(details: AttributeDetails, rows: Array<Record<string, unknown>>): void {
  for (const row of rows) {
    const name = row.LogicalName;
    if (typeof name !== 'string') continue;
    if (typeof row.MaxLength === 'number') details.maxLength.set(name, row.MaxLength);
    if (row.Format === 'DateOnly') details.dateOnly.add(name);
    const options = optionValues(row.OptionSet) ?? optionValues(row.GlobalOptionSet);
    if (options) details.options.set(name, options);
  }
}

function optionValues(optionSet: unknown): number[] | null {
  const options = (optionSet as { Options?: unknown } | null)?.Options;
  if (!Array.isArray(options)) return null;
  return options
    .map((option) => (option as { Value?: unknown }).Value)
    .filter((value): value is number => typeof value === 'number');
}

function fieldOf(attribute: AttributeRow, details: AttributeDetails): CrmFieldMetadata {
  const name = attribute.LogicalName;
  const type =
    attribute.AttributeType === 'DateTime'
      ? details.dateOnly.has(name)
        ? 'date'
        : 'datetime'
      : (FIELD_TYPES[attribute.AttributeType] ?? 'other');
  const createable = attribute.IsValidForCreate === true;
  const filledByPlatform =
    FILLED_BY_PLATFORM_TYPES.has(attribute.AttributeType) || FILLED_BY_PLATFORM_NAMES.has(name);
  const level = attribute.RequiredLevel?.Value;
  const field: CrmFieldMetadata = {
    name,
    type,
    required:
      typeof level === 'string' && REQUIRED_LEVELS.has(level) && createable && !filledByPlatform,
    createable,
    updateable: attribute.IsValidForUpdate === true,
  };
  const maxLength = details.maxLength.get(name);
  if (maxLength !== undefined) field.maxLength = maxLength;
  const options = details.options.get(name);
  if (options) field.picklistValues = options;
  return field;
}

function unreadable(what: string, reason: string): LeadbridgeError {
  return new LeadbridgeError(
    'HTTP_ERROR',
    `dynamics365: unreadable metadata for ${what}: ${reason}`,
    { api: 'dynamics365' },
  );
}
