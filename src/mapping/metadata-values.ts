// What a mapping's field chain can give, and whether that fits a CRM field's type.
import { z } from 'zod';
import { LEAD_KINDS, referralSchema } from '../core/referral.js';
import type { CrmFieldMetadata, CrmFieldType } from '../crm/adapter.js';
import type {
  FieldDefinition,
  LookupTable,
  Scalar,
  TransformStep,
  ValueOrigin,
  ValuePath,
} from './definition.js';
import type { DocPath } from './document.js';
import { suggest } from './paths.js';
import { applyTransform } from './transforms.js';

/**
 * What kind of value a chain gives; `unknown` fits any field (a referral value of no declared
 * type).
 */
type ValueKind = 'text' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'unknown';

/**
 * A value the mapping itself writes (const, default, lookup result, $hot, $leadKind), and where it
 * is written.
 */
export interface Literal {
  value: Scalar;
  at: DocPath;
}

/**
 * What a field's chain can give: known values, plus values of some kinds read from the referral.
 */
export interface Produced {
  literals: Literal[];
  open: Set<ValueKind>;
}

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_LISTED_VALUES = 20;

// ------------------------------------------------------------------ what a chain gives

export function producedBy(field: FieldDefinition, at: DocPath): Produced {
  let produced = producedByOrigin(field.origin, at);
  field.transforms.forEach((step, index) => {
    produced = afterStep(produced, step, [...at, 'transforms', index]);
  });
  return produced;
}

function producedByOrigin(origin: ValueOrigin, at: DocPath): Produced {
  switch (origin.kind) {
    case 'const':
      return { literals: [{ value: origin.value, at: [...at, 'const'] }], open: new Set() };
    case 'template':
      return { literals: [], open: new Set(['text']) };
    case 'source': {
      const produced: Produced = { literals: [], open: new Set() };
      origin.paths.forEach((path, index) => {
        const where: DocPath = [...at, 'source', ...(origin.paths.length > 1 ? [index] : [])];
        if (path.computed === '$hot')
          produced.literals.push({ value: true, at: where }, { value: false, at: where });
        else if (path.computed === '$leadKind')
          produced.literals.push(...LEAD_KINDS.map((kind) => ({ value: kind, at: where })));
        else if (path.computed !== null) produced.open.add('text');
        else referralKinds(path).forEach((kind) => produced.open.add(kind));
      });
      return produced;
    }
  }
}

function afterStep(produced: Produced, step: TransformStep, at: DocPath): Produced {
  if (step.transform === 'lookup') return afterLookup(produced, step.table, step.fallback, at);
  if (step.transform === 'default')
    return {
      literals: [...produced.literals, { value: step.value, at: [...at, 'default'] }],
      open: produced.open,
    };
  const literals = produced.literals.flatMap((literal) => {
    try {
      return [{ value: applyTransform(literal.value, step) as Scalar, at: literal.at }];
    } catch {
      return []; // a value the step refuses fails at run time, for the referral that carries it
    }
  });
  return { literals, open: new Set([...produced.open].map((kind) => kindAfter(kind, step))) };
}

function kindAfter(kind: ValueKind, step: TransformStep): ValueKind {
  switch (step.transform) {
    case 'required':
      return kind;
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'date':
      return step.format === 'iso' ? 'datetime' : 'date';
    default:
      return 'text';
  }
}

/**
 * Known values map to their table entries exactly; values read from the referral may give any entry
 * (or the fallback).
 */
function afterLookup(
  produced: Produced,
  table: LookupTable,
  fallback: 'keep' | { value: Scalar } | null,
  at: DocPath,
): Produced {
  const tableAt: DocPath =
    table.name !== null && !table.builtIn ? ['lookups', table.name] : [...at, 'lookup'];
  const entry = (key: string): Literal => ({
    value: table.entries[key] as Scalar,
    at: table.builtIn ? at : [...tableAt, key],
  });
  const miss = (original: Literal): Literal[] => {
    if (fallback === 'keep') return [original];
    if (fallback !== null) return [{ value: fallback.value, at: [...at, 'fallback'] }];
    return table.miss ? [{ value: table.miss.value, at: [...tableAt, 'default'] }] : [];
  };
  const literals = produced.literals.flatMap((literal) =>
    Object.hasOwn(table.entries, String(literal.value))
      ? [entry(String(literal.value))]
      : miss(literal),
  );
  if (produced.open.size === 0) return { literals, open: new Set() };
  literals.push(...Object.keys(table.entries).map(entry));
  // A miss keeps the input (its kinds stay open) or gives the fallback / the table's default.
  if (fallback === 'keep') return { literals, open: produced.open };
  literals.push(...miss({ value: null, at }));
  return { literals, open: new Set() };
}

/** The kinds a referral path holds, from the referral schema. */
function referralKinds(path: ValuePath): ValueKind[] {
  let schema: z.ZodType | undefined = referralSchema;
  for (const segment of path.segments) {
    const current: z.ZodType = unwrap(schema as z.ZodType);
    if ('key' in segment)
      schema =
        current instanceof z.ZodObject
          ? (current.shape as Record<string, z.ZodType>)[segment.key]
          : undefined;
    else schema = current instanceof z.ZodArray ? (current.element as z.ZodType) : undefined;
    if (schema === undefined) return ['unknown'];
  }
  return kindsOfSchema(unwrap(schema as z.ZodType));
}

function kindsOfSchema(schema: z.ZodType): ValueKind[] {
  if (schema instanceof z.ZodString) return ['text'];
  if (schema instanceof z.ZodNumber) return ['number'];
  if (schema instanceof z.ZodBoolean) return ['boolean'];
  // A list is joined into text (the parser insists on a join for list sources).
  if (schema instanceof z.ZodArray) return ['text'];
  if (schema instanceof z.ZodUnion)
    return (schema.options as z.ZodType[]).flatMap((option) => kindsOfSchema(unwrap(option)));
  return ['unknown'];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable)
    current = current.unwrap() as z.ZodType;
  return current;
}

// ------------------------------------------------------------------ fitting values to field types

export const KIND_PHRASES: Readonly<Record<ValueKind, string>> = {
  text: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true/false',
  date: 'a date',
  datetime: 'a date-time',
  unknown: 'a value',
};

export const TYPE_PHRASES: Readonly<Record<CrmFieldType, string>> = {
  string: 'a text field',
  text: 'a long text field',
  number: 'a number field',
  integer: 'a whole-number field',
  boolean: 'a yes/no field',
  date: 'a date field',
  datetime: 'a date-time field',
  picklist: 'a picklist',
  id: 'an id field',
  reference: 'a lookup field',
  other: 'a field of another type',
};

const TEXT_KINDS: ReadonlySet<ValueKind> = new Set(['text', 'date', 'datetime']);

/**
 * null when a value of this kind fits the field; otherwise the hint that ends the message ('' for
 * none).
 */
export function misfit(kind: ValueKind, field: CrmFieldMetadata): string | null {
  if (kind === 'unknown') return null;
  switch (field.type) {
    case 'string':
    case 'text':
    case 'id':
    case 'reference':
      return TEXT_KINDS.has(kind)
        ? null
        : ': its writes would be refused (write it through a template to send text)';
    case 'number':
      return kind === 'number' || kind === 'integer'
        ? null
        : kind === 'text'
          ? ': add the number transform'
          : '';
    case 'integer':
      return kind === 'integer'
        ? null
        : kind === 'number'
          ? ': use the integer transform (number keeps fractions)'
          : kind === 'text'
            ? ': add the integer transform'
            : '';
    case 'boolean':
      return kind === 'boolean' ? null : ': add the boolean transform';
    case 'date':
      return kind === 'date'
        ? null
        : kind === 'text' || kind === 'datetime'
          ? ': use { date: YYYY-MM-DD }'
          : '';
    case 'datetime':
      return kind === 'date' || kind === 'datetime'
        ? null
        : kind === 'text'
          ? ': add { date: iso }'
          : '';
    case 'picklist':
      return picklistMisfit(kind, field.picklistValues);
    default:
      return null;
  }
}

/** Dataverse option values are whole numbers, Salesforce picklist values texts. */
function picklistMisfit(
  kind: ValueKind,
  values: ReadonlyArray<string | number> | undefined,
): string | null {
  const first = values?.[0];
  if (first === undefined) return kind === 'boolean' ? '' : null;
  if (typeof first === 'number')
    return kind === 'integer'
      ? null
      : ` of whole-number option values (${listed(values ?? [])}): map the value with a lookup`;
  return TEXT_KINDS.has(kind) ? null : '';
}

export function literalKind(value: Exclude<Scalar, null>): ValueKind {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (DATE_TEXT.test(value)) return 'date';
  return DATETIME_TEXT.test(value) ? 'datetime' : 'text';
}

export function listed(values: ReadonlyArray<string | number>): string {
  const shown = values.slice(0, MAX_LISTED_VALUES).map(String).join(', ');
  return values.length > MAX_LISTED_VALUES ? `${shown}, ...` : shown;
}

/**
 * ` (did you mean "x"?)`: a name within two edits, else a name that starts that way (emial →
 * emailaddress1).
 */
export function closestName(written: string, names: readonly string[]): string {
  const close = suggest(written, names);
  if (close !== '' || written.length < 4) return close;
  const byPrefix = new Map<string, string>();
  for (const name of names) {
    const prefix = name.slice(0, written.length).toLowerCase();
    if (name.length > written.length && !byPrefix.has(prefix)) byPrefix.set(prefix, name);
  }
  const prefix = /"(.*)"/.exec(suggest(written, [...byPrefix.keys()]))?.[1];
  return prefix === undefined ? '' : ` (did you mean "${byPrefix.get(prefix)}"?)`;
}
