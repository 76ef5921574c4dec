// The mapping's `coSell:` section: which CRM field means "share with Microsoft", how a deal maps
// outward.
//
// A flagged CRM opportunity becomes a Partner Center referral created by POST
// (MicrosoftDocs/partner-rest partner-rest/develop/create-a-referral.md; the body is a Referral of
// referral-resources.md). The section names the share field and, for each referral path, where its
// value comes from (`opportunity.<CRM field>`, a const or a template, with transforms). What the
// create needs is checked when the file is read, so `config check` and `mappings check` name a
// missing one: the deal's name, customer name and country, value, currency, close date, the type
// (Shared: "shared across two parties working together ... Microsoft and a partner ... co-selling")
// and qualification, and the consent to share with Microsoft sellers.
import type { FieldDefinition, MappingDefaults, LookupTable, ValuePath } from './definition.js';
import type { DocPath, IssueCollector } from './document.js';
import { evaluateField } from './engine.js';
import { parseField, type FieldContext } from './fields.js';
import { parsePath, readPath } from './paths.js';

/** The referral paths a co-sell mapping may write (the documented create body). */
const OUTWARD_PATHS = [
  'name',
  'type',
  'qualification',
  'salesStage',
  'campaignId',
  'customerProfile.name',
  'customerProfile.size',
  'customerProfile.address.addressLine1',
  'customerProfile.address.city',
  'customerProfile.address.state',
  'customerProfile.address.postalCode',
  'customerProfile.address.country',
  'consent.consentToContact',
  'consent.consentToShareReferralWithMicrosoftSellers',
  'consent.consentToToShareInfoWithOthers',
  'consent.consentToMicrosoftToContactSpecificPartners',
  'details.dealValue',
  'details.currency',
  'details.closingDateTime',
  'details.notes',
] as const;

/** What a partner-sourced create must carry; details.currency may come from defaults.currency. */
const REQUIRED_PATHS = [
  'name',
  'type',
  'qualification',
  'customerProfile.name',
  'customerProfile.address.country',
  'consent.consentToShareReferralWithMicrosoftSellers',
  'details.dealValue',
  'details.closingDateTime',
];

export interface CoSellDefinition {
  /** The CRM opportunity field whose value says "share with Microsoft". */
  readonly shareField: string;
  /** Referral path → its definition, in file order. */
  readonly fields: Readonly<Record<string, FieldDefinition>>;
  /** The CRM fields the definition reads (the adapter selects them). */
  readonly crmFields: readonly string[];
}

export function parseCoSell(
  raw: unknown,
  at: DocPath,
  context: { lookups: Readonly<Record<string, LookupTable>>; defaults: MappingDefaults },
  issues: IssueCollector,
): CoSellDefinition | null {
  if (!isRecord(raw)) {
    issues.add(at, 'coSell is a mapping with shareField and fields');
    return null;
  }
  for (const key of Object.keys(raw))
    if (key !== 'shareField' && key !== 'fields') issues.add([...at, key], `unknown key "${key}"`);
  const shareField = raw.shareField;
  if (typeof shareField !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(shareField))
    issues.add([...at, 'shareField'], 'the CRM field that marks a deal "share with Microsoft"');
  const fields = parseOutwardFields(raw.fields, [...at, 'fields'], context, issues);
  if (typeof shareField !== 'string' || !fields) return null;
  const crmFields = new Set<string>([shareField]);
  for (const field of Object.values(fields))
    for (const name of fieldsRead(field)) crmFields.add(name);
  return { shareField, fields, crmFields: [...crmFields] };
}

function parseOutwardFields(
  raw: unknown,
  at: DocPath,
  context: { lookups: Readonly<Record<string, LookupTable>>; defaults: MappingDefaults },
  issues: IssueCollector,
): Record<string, FieldDefinition> | null {
  if (!isRecord(raw)) {
    issues.add(at, 'fields maps referral paths (name, details.dealValue, ...) to CRM values');
    return null;
  }
  const fieldContext: FieldContext = {
    parsePath: opportunityPath,
    shapeOf: () => ({ kind: 'value' }),
    lookups: context.lookups,
    nullWhenEmpty: false,
    listsNeedJoin: false,
  };
  const fields: Record<string, FieldDefinition> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!(OUTWARD_PATHS as readonly string[]).includes(name)) {
      issues.add([...at, name], `"${name}" is not a referral path a create may write`);
      continue;
    }
    const field = parseField(name, value, [...at, name], fieldContext, issues);
    if (field) fields[name] = field;
  }
  const required = [...REQUIRED_PATHS];
  if (context.defaults.currency === null) required.push('details.currency');
  for (const name of required)
    if (!Object.hasOwn(raw, name))
      issues.add(at, `${name} is missing: a co-sell referral cannot be created without it`);
  return fields;
}

function opportunityPath(text: string): ValuePath | string {
  const path = text.trim().startsWith('$') ? null : parsePath(text);
  if (typeof path === 'string') return path;
  const root = path?.segments[0];
  if (
    !path ||
    !root ||
    !('key' in root) ||
    root.key !== 'opportunity' ||
    path.segments.length !== 2
  )
    return `"${text}" is not an opportunity field: write opportunity.<CRM field>`;
  return path;
}

function fieldsRead(field: FieldDefinition): string[] {
  const paths =
    field.origin.kind === 'source'
      ? field.origin.paths
      : field.origin.kind === 'template'
        ? field.origin.template.lines.flat().filter((part) => typeof part !== 'string')
        : [];
  return paths.flatMap((path) => {
    const key = path.segments[1];
    return key && 'key' in key ? [key.key] : [];
  });
}

/** The opportunity fields the section names, with where (for the check against CRM metadata). */
export function coSellFieldRefs(
  definition: CoSellDefinition,
): Array<{ name: string; at: DocPath }> {
  const refs = [{ name: definition.shareField, at: ['coSell', 'shareField'] as DocPath }];
  for (const [path, field] of Object.entries(definition.fields))
    for (const name of fieldsRead(field)) refs.push({ name, at: ['coSell', 'fields', path] });
  return refs;
}

/** A create body built from a CRM opportunity, or the errors naming each field that failed. */
export interface CoSellBuild {
  body: Record<string, unknown>;
  errors: Array<{ field: string; message: string }>;
}

export function buildCoSellReferral(
  definition: CoSellDefinition,
  defaults: MappingDefaults,
  opportunity: Readonly<Record<string, unknown>>,
  externalReferenceId: string,
): CoSellBuild {
  const body: Record<string, unknown> = { externalReferenceId };
  const errors: CoSellBuild['errors'] = [];
  for (const [name, field] of Object.entries(definition.fields)) {
    const outcome = evaluateField(field, (path) => readPath(opportunity, path.segments.slice(1)));
    if (outcome.error !== null) errors.push({ field: name, message: outcome.error });
    else if (outcome.emit && outcome.emit.value !== null) setPath(body, name, outcome.emit.value);
  }
  if (readDotted(body, 'details.currency') === undefined && defaults.currency !== null)
    setPath(body, 'details.currency', defaults.currency);
  for (const name of [...REQUIRED_PATHS, 'details.currency'])
    if (readDotted(body, name) === undefined && !errors.some((e) => e.field === name))
      errors.push({ field: name, message: `${name} is empty on the CRM record` });
  return { body, errors };
}

function setPath(body: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = body;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

function readDotted(body: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = body;
  for (const key of dotted.split('.')) node = isRecord(node) ? node[key] : undefined;
  return node === null ? undefined : node;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
