// Turns a mapping document (plain data from YAML) into a MappingDefinition, collecting every
// problem on the way.
import type {
  FieldDefinition,
  LookupTable,
  MappingDefaults,
  MappingDefinition,
} from './definition.js';
import type { DocPath, IssueCollector } from './document.js';
import { isRecord, parseField, reportUnknownKeys, type FieldContext } from './fields.js';
import { parsePath, referralPathShape } from './paths.js';
import { parseCoSell } from './cosell.js';
import { parseStatus } from './status-parse.js';
import { BUILT_IN_LOOKUPS } from './tables.js';
import { parseLookupTable } from './transform-parse.js';
import { show } from './transforms.js';

const TOP_KEYS = [
  'version',
  'target',
  'entity',
  'defaults',
  'fields',
  'lookups',
  'status',
  'coSell',
];
const SUPPORTED_VERSION = 1;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Returns the definition, or null when `issues` received anything. */
export function buildDefinition(
  document: unknown,
  issues: IssueCollector,
): MappingDefinition | null {
  if (!isRecord(document)) {
    issues.add(
      [],
      `a mapping file is a YAML mapping with version, target, entity and fields, got ` +
        `${show(document)}`,
    );
    return null;
  }
  reportUnknownKeys(document, TOP_KEYS, [], issues);
  checkVersion(document['version'], issues);
  const target = requiredName(document, 'target', issues);
  const entity = requiredName(document, 'entity', issues);
  const defaults = parseDefaults(document['defaults'], issues);
  const lookups = parseLookups(document['lookups'], issues);
  const usable = { ...lookups, ...BUILT_IN_LOOKUPS };
  const fields = parseFields(document['fields'], usable, defaults, issues);
  const status =
    document['status'] === undefined
      ? null
      : parseStatus(document['status'], ['status'], { lookups: usable, defaults }, issues);
  const coSell =
    document['coSell'] === undefined
      ? null
      : parseCoSell(document['coSell'], ['coSell'], { lookups: usable, defaults }, issues);
  if (issues.issues.length > 0 || target === null || entity === null) return null;
  return {
    formatVersion: SUPPORTED_VERSION,
    target,
    entity,
    defaults,
    fields,
    lookups,
    status,
    coSell,
  };
}

function checkVersion(version: unknown, issues: IssueCollector): void {
  if (version === undefined)
    issues.add([], `version is missing (write version: ${SUPPORTED_VERSION})`);
  else if (version !== SUPPORTED_VERSION)
    issues.add(
      ['version'],
      `unsupported version ${show(version)} (this leadbridge reads version ${SUPPORTED_VERSION})`,
    );
}

function requiredName(
  document: Record<string, unknown>,
  key: 'target' | 'entity',
  issues: IssueCollector,
): string | null {
  const value = document[key];
  if (value === undefined) issues.add([], `${key} is missing`);
  else if (typeof value !== 'string' || !NAME.test(value))
    issues.add(
      [key],
      `${
        key === 'target'
          ? "target must be a CRM kind (a config target's kind)"
          : `${key}` + ` must be a name like lead`
      }, got ${show(value)}`,
    );
  else return value;
  return null;
}

function parseDefaults(raw: unknown, issues: IssueCollector): MappingDefaults {
  const defaults: MappingDefaults = { currency: null, nullWhenEmpty: false };
  if (raw === undefined || raw === null) return defaults;
  if (!isRecord(raw)) {
    issues.add(['defaults'], `defaults is a mapping (currency, nullWhenEmpty), got ${show(raw)}`);
    return defaults;
  }
  reportUnknownKeys(raw, ['currency', 'nullWhenEmpty'], ['defaults'], issues);
  const { currency, nullWhenEmpty } = raw;
  const currencyValid =
    currency === undefined || (typeof currency === 'string' && /^[A-Z]{3}$/.test(currency));
  if (!currencyValid)
    issues.add(
      ['defaults', 'currency'],
      `currency must be an ISO 4217 code like USD, got ${show(currency)}`,
    );
  const nullValid = nullWhenEmpty === undefined || typeof nullWhenEmpty === 'boolean';
  if (!nullValid)
    issues.add(
      ['defaults', 'nullWhenEmpty'],
      `nullWhenEmpty must be true or false, got ${show(nullWhenEmpty)}`,
    );
  return {
    currency: currencyValid && typeof currency === 'string' ? currency : null,
    nullWhenEmpty: nullValid && nullWhenEmpty === true,
  };
}

function parseLookups(raw: unknown, issues: IssueCollector): Record<string, LookupTable> {
  const lookups: Record<string, LookupTable> = {};
  if (raw === undefined || raw === null) return lookups;
  if (!isRecord(raw)) {
    issues.add(['lookups'], `lookups is a mapping of name → table, got ${show(raw)}`);
    return lookups;
  }
  for (const [name, value] of Object.entries(raw)) {
    const at: DocPath = ['lookups', name];
    if (Object.hasOwn(BUILT_IN_LOOKUPS, name))
      issues.add(at, `lookup name "${name}" is built in; choose another name`);
    else if (!NAME.test(name))
      issues.add(at, `lookup name "${name}" must be a name like leadSource`);
    const table = parseLookupTable(value, name);
    if (!Array.isArray(table)) {
      lookups[name] = table;
      continue;
    }
    for (const problem of table) issues.add([...at, ...problem.at], problem.message);
    // Still known by name, so steps that use it are not reported as well.
    lookups[name] = { name, entries: {}, miss: null, builtIn: false };
  }
  return lookups;
}

function parseFields(
  raw: unknown,
  lookups: Readonly<Record<string, LookupTable>>,
  defaults: MappingDefaults,
  issues: IssueCollector,
): Record<string, FieldDefinition> {
  const fields: Record<string, FieldDefinition> = {};
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    issues.add(
      raw === undefined ? [] : ['fields'],
      raw === undefined
        ? 'fields is missing'
        : `fields is a mapping of CRM field → definition, got ${show(raw)}`,
    );
    return fields;
  }
  const context: FieldContext = {
    parsePath,
    shapeOf: referralPathShape,
    lookups,
    nullWhenEmpty: defaults.nullWhenEmpty,
    listsNeedJoin: true,
  };
  for (const [name, value] of Object.entries(raw)) {
    if (!NAME.test(name)) {
      issues.add(['fields', name], `"${name}" is not a valid CRM field name`);
      continue;
    }
    const field = parseField(name, value, ['fields', name], context, issues);
    if (field) fields[name] = field;
  }
  return fields;
}
