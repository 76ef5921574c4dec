// HubSpot property definitions (GET /crm/v3/properties/{objectType}) as one entity's field metadata
// for
// `mappings check`: the contact's, company's and deal's properties, prefixed the way mappings name
// them.
// Source: developers.hubspot.com/docs/api-reference/latest/crm/properties (type, fieldType,
// options,
// modificationMetadata.readOnlyValue, calculated).
import type { CrmEntityMetadata, CrmFieldMetadata, CrmFieldType } from '../adapter.js';
import { OBJECT_PREFIXES, TEXT_MAX_LENGTH, type HubSpotObject } from './facts.js';

/** The fields of a property definition this reader uses; anything else is ignored. */
export interface PropertyDefinitionShape {
  name?: unknown;
  type?: unknown;
  fieldType?: unknown;
  options?: Array<{ value?: unknown; hidden?: unknown }>;
  calculated?: unknown;
  modificationMetadata?: { readOnlyValue?: unknown };
}

/**
 * Properties the adapter writes itself (the referral id) or that HubSpot requires on a new deal.
 */
const REQUIRED: Partial<Record<HubSpotObject, readonly string[]>> = { deals: ['dealname'] };

function typeOf(definition: PropertyDefinitionShape): CrmFieldType {
  switch (definition.type) {
    case 'string':
      return definition.fieldType === 'textarea' ? 'text' : 'string';
    case 'number':
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'enumeration':
      return definition.fieldType === 'booleancheckbox' ? 'boolean' : 'picklist';
    case 'bool':
      return 'boolean';
    default:
      return 'other';
  }
}

function fieldOf(
  object: HubSpotObject,
  prefix: string,
  definition: PropertyDefinitionShape,
): CrmFieldMetadata | null {
  if (typeof definition.name !== 'string') return null;
  const type = typeOf(definition);
  const writable =
    definition.modificationMetadata?.readOnlyValue !== true && definition.calculated !== true;
  const options = (definition.options ?? [])
    .filter((o) => o.hidden !== true)
    .map((o) => o.value)
    .filter((v): v is string => typeof v === 'string');
  return {
    name: `${prefix}${definition.name}`,
    type,
    ...(type === 'string' || type === 'text' ? { maxLength: TEXT_MAX_LENGTH } : {}),
    required: REQUIRED[object]?.includes(definition.name) ?? false,
    createable: writable,
    updateable: writable,
    ...(type === 'picklist' ? { picklistValues: options } : {}),
  };
}

/** One entity from the three objects' property lists. */
export function entityMetadataOf(
  entity: string,
  definitions: Record<HubSpotObject, PropertyDefinitionShape[]>,
): CrmEntityMetadata {
  const fields: CrmFieldMetadata[] = [];
  for (const { object, prefix } of OBJECT_PREFIXES) {
    for (const definition of definitions[object]) {
      const field = fieldOf(object, prefix, definition);
      if (field) fields.push(field);
    }
  }
  return { entity, fields };
}
