// The metadata part of the Web API (EntityDefinitions, their Attributes and option sets), generated
// from the table schema.
import { SimHttpError, type SimResponse } from '../common/server.js';
import { CODES, odataError, segmentNotFound } from './errors.js';
import { parseResourcePath, type RecordKey, type ResourcePath } from './paths.js';
import { TABLES, type TableSpec } from './schema.js';
import {
  attributesOf,
  DERIVED_TYPE,
  metadataId,
  schemaName,
  STRING_MAX,
  type Attribute,
} from './metadata-attributes.js';
import {
  checkSelect,
  NAMESPACE,
  readProjection,
  unknownProperty,
  type Projection,
} from './metadata-projection.js';

const JSON_TYPE = 'application/json; odata.metadata=minimal';

const ENTITY_PROPERTIES = [
  'MetadataId',
  'LogicalName',
  'SchemaName',
  'EntitySetName',
  'PrimaryIdAttribute',
  'PrimaryNameAttribute',
];
/** Properties every attribute has (AttributeMetadata); the derived types add their own. */
const ATTRIBUTE_PROPERTIES = [
  'MetadataId',
  'LogicalName',
  'SchemaName',
  'EntityLogicalName',
  'AttributeType',
  'AttributeOf',
  'RequiredLevel',
  'IsValidForCreate',
  'IsValidForUpdate',
  'IsValidForRead',
  'IsPrimaryId',
  'IsCustomAttribute',
];
const DERIVED_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  StringAttributeMetadata: ['MaxLength'],
  MemoAttributeMetadata: ['MaxLength'],
  DateTimeAttributeMetadata: ['Format'],
  PicklistAttributeMetadata: ['DefaultFormValue'],
  LookupAttributeMetadata: ['Targets'],
};
const OPTION_SET_PROPERTIES = ['MetadataId', 'Name', 'IsGlobal', 'OptionSetType', 'Options'];

/**
 * Business-required columns (enforced by forms, not by the Web API, as in Dataverse) and
 * recommended ones.
 */
const REQUIRED_LEVELS: Readonly<
  Record<string, Readonly<Record<string, 'ApplicationRequired' | 'Recommended'>>>
> = {
  lead: {
    subject: 'ApplicationRequired',
    lastname: 'ApplicationRequired',
    companyname: 'Recommended',
  },
  opportunity: { name: 'ApplicationRequired' },
  account: { name: 'ApplicationRequired' },
  contact: { lastname: 'ApplicationRequired' },
};

/** Option labels of the picklists; an option without one is labelled with its value. */
const OPTION_LABELS: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  'lead.leadsourcecode': {
    1: 'Advertisement',
    2: 'Employee Referral',
    3: 'External Referral',
    4: 'Partner',
    5: 'Public Relations',
    6: 'Seminar',
    7: 'Trade Show',
    8: 'Web',
    9: 'Word of Mouth',
    10: 'Other',
  },
  'lead.leadqualitycode': { 1: 'Hot', 2: 'Warm', 3: 'Cold' },
};

/**
 * GET below `EntityDefinitions`: one entity or all, an entity's attributes (optionally cast to a
 * derived type) or one attribute.
 */
export function readEntityDefinitions(
  path: ResourcePath,
  query: URLSearchParams,
  apiUrl: string,
): SimResponse {
  const projection = readProjection(query);
  if (!path.key) {
    if (path.rest[0] !== undefined) throw segmentNotFound(path.rest[0]);
    const value = TABLES.map((table) => entityBody(table, projection));
    return ok({ '@odata.context': `${apiUrl}$metadata#EntityDefinitions`, value });
  }
  const table = tableByKey(path.key);
  const [segment, cast, extra] = path.rest;
  if (segment === undefined)
    return ok({
      '@odata.context': `${apiUrl}$metadata#EntityDefinitions/$entity`,
      ...entityBody(table, projection),
    });
  if (extra !== undefined) throw segmentNotFound(extra);
  const attributesPath = parseResourcePath(segment);
  if (attributesPath.head !== 'Attributes' || attributesPath.rest.length > 0)
    throw segmentNotFound(segment);
  const castType = cast === undefined ? null : derivedTypeOf(cast);
  const context =
    `${apiUrl}$metadata#EntityDefinitions('${metadataId(table.logicalName)}` +
    `')/Attributes${castType ? `/${NAMESPACE}${castType}` : ''}`;
  if (!attributesPath.key) {
    const attributes = attributesOf(table).filter(
      (attribute) => castType === null || DERIVED_TYPE[attribute.type] === castType,
    );
    return ok({
      '@odata.context': context,
      value: attributes.map((attribute) => attributeBody(attribute, projection, castType)),
    });
  }
  const attribute = attributeByKey(table, attributesPath.key);
  if (castType !== null && DERIVED_TYPE[attribute.type] !== castType)
    throw segmentNotFound(cast as string);
  return ok({
    '@odata.context': `${context}/$entity`,
    ...attributeBody(attribute, projection, castType),
  });
}

function ok(body: Record<string, unknown>): SimResponse {
  return { status: 200, headers: { 'Content-Type': JSON_TYPE }, body };
}

// ------------------------------------------------------------------ lookups by key

function tableByKey(key: RecordKey): TableSpec {
  const table =
    key.kind === 'id'
      ? TABLES.find((candidate) => metadataId(candidate.logicalName) === key.id)
      : TABLES.find(
          (candidate) => candidate.logicalName === logicalNameKey(key, 'EntityDefinitions'),
        );
  if (!table) {
    const name = key.kind === 'id' ? key.id : (key.values.LogicalName ?? '');
    throw new SimHttpError(
      404,
      '0x80041102',
      `The entity with a name = '${name}' with namemapping = 'Logical' was not found in the ` +
        `MetadataCache.`,
    );
  }
  return table;
}

function attributeByKey(table: TableSpec, key: RecordKey): Attribute {
  const attributes = attributesOf(table);
  const attribute =
    key.kind === 'id'
      ? attributes.find(
          (candidate) => metadataId(`${table.logicalName}.${candidate.logicalName}`) === key.id,
        )
      : attributes.find((candidate) => candidate.logicalName === logicalNameKey(key, 'Attributes'));
  if (!attribute) {
    const name = key.kind === 'id' ? key.id : (key.values.LogicalName ?? '');
    throw new SimHttpError(
      404,
      CODES.notFound,
      `Could not find attribute '${name}' on entity '${table.logicalName}'.`,
    );
  }
  return attribute;
}

/** Definitions are addressed by their alternate key `LogicalName='...'` (or by MetadataId). */
function logicalNameKey(key: Extract<RecordKey, { kind: 'alternate' }>, segment: string): string {
  const names = Object.keys(key.values);
  if (names.length !== 1 || names[0] !== 'LogicalName') {
    throw odataError(
      `The key of ${segment} is LogicalName='<name>' or the MetadataId, not '${names.join(', ')}'.`,
    );
  }
  return key.values.LogicalName ?? '';
}

function derivedTypeOf(segment: string): string {
  const name = segment.startsWith(NAMESPACE) ? segment.slice(NAMESPACE.length) : null;
  if (name === null || !Object.values(DERIVED_TYPE).includes(name)) throw segmentNotFound(segment);
  return name;
}

// ------------------------------------------------------------------ bodies

function entityBody(table: TableSpec, projection: Projection): Record<string, unknown> {
  const all: Record<string, unknown> = {
    MetadataId: metadataId(table.logicalName),
    LogicalName: table.logicalName,
    SchemaName: schemaName(table.logicalName),
    EntitySetName: table.entitySet,
    PrimaryIdAttribute: table.primaryKey,
    PrimaryNameAttribute: table.columns.fullname ? 'fullname' : table.columns.name ? 'name' : null,
  };
  const body = pick(all, checkSelect(projection.select, ENTITY_PROPERTIES, 'EntityMetadata'));
  for (const [navigation, nested] of projection.expand) {
    if (navigation !== 'Attributes') throw unknownProperty(navigation, 'EntityMetadata');
    body.Attributes = attributesOf(table).map((attribute) =>
      attributeBody(attribute, nested, null),
    );
  }
  return body;
}

/**
 * An attribute as its own type serves it; `$select` may name only properties of the type addressed
 * (the base type unless cast).
 */
function attributeBody(
  attribute: Attribute,
  projection: Projection,
  castType: string | null,
): Record<string, unknown> {
  const derived = DERIVED_TYPE[attribute.type];
  const addressed =
    castType === null
      ? ATTRIBUTE_PROPERTIES
      : [...ATTRIBUTE_PROPERTIES, ...(DERIVED_PROPERTIES[castType] ?? [])];
  const own = [...ATTRIBUTE_PROPERTIES, ...(DERIVED_PROPERTIES[derived] ?? [])];
  const select = checkSelect(projection.select, addressed, castType ?? 'AttributeMetadata');
  const body: Record<string, unknown> = {
    '@odata.type': `#${NAMESPACE}${derived}`,
    ...pick(attributeValues(attribute), select ?? own),
  };
  for (const [navigation, nested] of projection.expand) {
    if (
      castType !== 'PicklistAttributeMetadata' ||
      (navigation !== 'OptionSet' && navigation !== 'GlobalOptionSet')
    ) {
      throw unknownProperty(navigation, castType ?? 'AttributeMetadata');
    }
    // Every simulated picklist has a local option set.
    body[navigation] = navigation === 'OptionSet' ? optionSetBody(attribute, nested) : null;
  }
  return body;
}

function attributeValues(attribute: Attribute): Record<string, unknown> {
  const { table, spec, logicalName, type } = attribute;
  const isKey = logicalName === table.primaryKey;
  const values: Record<string, unknown> = {
    MetadataId: metadataId(`${table.logicalName}.${logicalName}`),
    LogicalName: logicalName,
    SchemaName: schemaName(logicalName),
    EntityLogicalName: table.logicalName,
    AttributeType: type,
    AttributeOf: null,
    RequiredLevel: {
      Value: requiredLevel(attribute),
      CanBeChanged: !isKey,
      ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
    },
    IsValidForCreate: !spec.readOnly,
    IsValidForUpdate: !spec.readOnly && !isKey,
    IsValidForRead: true,
    IsPrimaryId: isKey,
    IsCustomAttribute: logicalName.startsWith('lb_'),
  };
  if (type === 'String' || type === 'Memo') values.MaxLength = spec.maxLength ?? STRING_MAX;
  if (type === 'DateTime') values.Format = spec.type === 'date' ? 'DateOnly' : 'DateAndTime';
  if (type === 'Picklist') values.DefaultFormValue = -1;
  if (type === 'Lookup')
    values.Targets = [
      TABLES.find((candidate) => candidate.entitySet === spec.target)?.logicalName ?? spec.target,
    ];
  return values;
}

function requiredLevel(attribute: Attribute): string {
  const { table, logicalName, type } = attribute;
  if (logicalName === table.primaryKey || type === 'State' || type === 'Status')
    return 'SystemRequired';
  return REQUIRED_LEVELS[table.logicalName]?.[logicalName] ?? 'None';
}

function optionSetBody(attribute: Attribute, projection: Projection): Record<string, unknown> {
  if (projection.expand.size > 0) throw odataError('$expand is not supported inside OptionSet.');
  const labels = OPTION_LABELS[`${attribute.table.logicalName}.${attribute.logicalName}`] ?? {};
  const all: Record<string, unknown> = {
    MetadataId: metadataId(`${attribute.table.logicalName}.${attribute.logicalName}.options`),
    Name: `${attribute.table.logicalName}_${attribute.logicalName}`,
    IsGlobal: false,
    OptionSetType: 'Picklist',
    Options: (attribute.spec.options ?? []).map((value) => ({
      Value: value,
      Label: label(labels[value] ?? String(value)),
    })),
  };
  return pick(all, checkSelect(projection.select, OPTION_SET_PROPERTIES, 'OptionSetMetadata'));
}

function label(text: string): Record<string, unknown> {
  const localized = { Label: text, LanguageCode: 1033, IsManaged: true };
  return { LocalizedLabels: [localized], UserLocalizedLabel: localized };
}

/**
 * Selected properties in the order asked; MetadataId always comes along, as Dataverse returns it.
 */
function pick(
  values: Record<string, unknown>,
  select: readonly string[] | null,
): Record<string, unknown> {
  const names =
    select === null
      ? Object.keys(values)
      : ['MetadataId', ...select.filter((name) => name !== 'MetadataId')];
  return Object.fromEntries(
    names.filter((name) => name in values).map((name) => [name, values[name]]),
  );
}
