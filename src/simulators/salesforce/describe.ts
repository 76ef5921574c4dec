// Describe results (`/sobjects`, `/sobjects/{type}/describe`) generated from the simulated org's
// schema.
import { SOBJECTS, soapTypeOf, type FieldSpec, type SObjectSpec } from './schema.js';

function objectUrls(object: SObjectSpec, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${object.name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

/** The object-level flags shared by describe and describeGlobal. */
function objectSummary(object: SObjectSpec, version: string): Record<string, unknown> {
  return {
    name: object.name,
    label: object.label,
    labelPlural: object.labelPlural,
    keyPrefix: object.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    undeletable: true,
    layoutable: true,
    urls: objectUrls(object, version),
  };
}

/** Whether the platform fills the field on create: defaults, flags, the id and the audit stamps. */
function defaultedOnCreate(field: FieldSpec): boolean {
  if (field.picklist?.defaultValue || field.type === 'boolean' || field.type === 'id') return true;
  return field.type === 'datetime' && !field.createable;
}

function describeField(field: FieldSpec): Record<string, unknown> {
  const isKey = field.type === 'id' || field.type === 'reference';
  return {
    name: field.name,
    label: field.label,
    type: field.type,
    soapType: soapTypeOf(field.type),
    length: field.length,
    // Text is stored as UTF-8 with up to three bytes a character; ids are ASCII.
    byteLength: isKey ? field.length : field.length * 3,
    precision: field.type === 'int' ? 0 : field.precision,
    scale: field.scale,
    digits: field.type === 'int' ? field.precision : 0,
    nillable: field.nillable,
    createable: field.createable,
    updateable: field.updateable,
    defaultedOnCreate: defaultedOnCreate(field),
    defaultValue: field.type === 'boolean' ? false : null,
    externalId: field.externalId,
    unique: field.unique,
    caseSensitive: false,
    idLookup: field.type === 'id' || field.externalId,
    custom: field.custom,
    calculated: false,
    filterable: field.type !== 'textarea' || field.length <= 255,
    sortable: field.type !== 'textarea' || field.length <= 255,
    groupable: field.type !== 'textarea' && field.type !== 'currency' && field.type !== 'double',
    autoNumber: false,
    restrictedPicklist: field.picklist?.restricted ?? false,
    dependentPicklist: field.picklist?.controllerName !== undefined,
    controllerName: field.picklist?.controllerName ?? null,
    picklistValues: picklistValuesOf(field),
    referenceTo: field.referenceTo ? [field.referenceTo] : [],
    relationshipName: field.relationshipName ?? null,
  };
}

function picklistValuesOf(field: FieldSpec): Array<Record<string, unknown>> {
  const entries =
    field.picklist?.entries?.() ??
    (field.picklist?.values ?? []).map((value) => ({ value, label: value, validFor: null }));
  return entries.map((entry) => ({
    ...entry,
    active: true,
    defaultValue: entry.value === field.picklist?.defaultValue,
  }));
}

/**
 * `GET /sobjects/{type}/describe`; the address code picklists only in orgs with State and
 * Country/Territory Picklists on.
 */
export function describeObject(
  object: SObjectSpec,
  version: string,
  org: { statePicklists: boolean },
): Record<string, unknown> {
  return {
    ...objectSummary(object, version),
    fields: object.fields
      .filter((field) => org.statePicklists || field.feature === undefined)
      .map(describeField),
    childRelationships: [],
    recordTypeInfos: [],
  };
}

/** `GET /sobjects`: the describeGlobal listing. */
export function describeGlobal(version: string): Record<string, unknown> {
  return {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: SOBJECTS.map((object) => objectSummary(object, version)),
  };
}
