// Checks a compiled mapping against the CRM's own metadata: the fields exist, may be written, and take the values written.
import { coSellFieldRefs } from './cosell.js';
import { z } from 'zod';
import type { Issue } from '../core/errors.js';
import { LEAD_KINDS, referralSchema } from '../core/referral.js';
import type { CrmEntityMetadata, CrmFieldMetadata, CrmFieldType } from '../crm/adapter.js';
import type {
  FieldDefinition,
  LookupTable,
  Scalar,
  TransformStep,
  ValueOrigin,
  ValuePath,
} from './definition.js';
import { formatDocPath, type DocPath } from './document.js';
import type { CompiledMapping } from './index.js';
import { suggest } from './paths.js';
import { applyTransform, show } from './transforms.js';

/** What kind of value a chain gives; `unknown` fits any field (a referral value of no declared type). */
type ValueKind = 'text' | 'number' | 'integer' | 'boolean' | 'date' | 'datetime' | 'unknown';

/** A value the mapping itself writes (const, default, lookup result, $hot, $leadKind), and where it is written. */
interface Literal {
  value: Scalar;
  at: DocPath;
}

/** What a field's chain can give: known values, plus values of some kinds read from the referral. */
interface Produced {
  literals: Literal[];
  open: Set<ValueKind>;
}

const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME_TEXT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_LISTED_VALUES = 20;
/** Transforms that keep a country code a code. */
const NEUTRAL_TRANSFORMS: ReadonlySet<string> = new Set([
  'trim',
  'upper',
  'required',
  'truncate',
  'default',
]);

/** Every problem of `mapping` against `metadata` (the CRM entity the mapping writes), in file order. Pure. */
export function checkMappingAgainstMetadata(
  mapping: CompiledMapping,
  metadata: CrmEntityMetadata,
  options: { coSellOnly?: boolean } = {},
): Issue[] {
  const check = new MetadataCheck(mapping, metadata);
  if (!options.coSellOnly) {
    for (const field of Object.values(mapping.definition.fields)) check.field(field);
    check.requiredFields();
    check.statusSection();
  }
  // coSell names opportunity fields: checked when the opportunity's metadata is the one given.
  const coSell = mapping.definition.coSell;
  if (coSell && metadata.entity.toLowerCase() === 'opportunity')
    for (const ref of coSellFieldRefs(coSell)) check.known(ref.name, ref.at);
  return check.sorted();
}

class MetadataCheck {
  private readonly issues: Issue[] = [];
  private readonly byName: Map<string, CrmFieldMetadata>;
  private readonly entity: string;

  constructor(
    private readonly mapping: CompiledMapping,
    metadata: CrmEntityMetadata,
  ) {
    this.byName = new Map(metadata.fields.map((field) => [field.name, field]));
    this.entity = metadata.entity;
  }

  add(at: DocPath, message: string): void {
    const line = this.mapping.lineOf?.(at);
    this.issues.push({
      path: formatDocPath(at),
      message,
      ...(this.mapping.file === null ? {} : { file: this.mapping.file }),
      ...(line === undefined ? {} : { line }),
    });
  }

  /** Each issue once (a named lookup table may serve several fields), by line; one line keeps the order found. */
  sorted(): Issue[] {
    const unique = [
      ...new Map(
        this.issues.map((issue) => [`${issue.line}|${issue.path}|${issue.message}`, issue]),
      ).values(),
    ];
    const ordered = unique.map((issue, index) => ({ issue, index }));
    ordered.sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.index - b.index);
    return ordered.map(({ issue }) => issue);
  }

  /** The CRM field, or null after reporting it unknown. */
  known(name: string, at: DocPath): CrmFieldMetadata | null {
    const field = this.byName.get(name);
    if (!field)
      this.add(
        at,
        `unknown CRM field "${name}" on ${this.entity}${closestName(name, [...this.byName.keys()])}`,
      );
    return field ?? null;
  }

  field(definition: FieldDefinition): void {
    const at: DocPath = ['fields', definition.name];
    const crmField = this.known(definition.name, at);
    if (!crmField) return;
    this.writable(crmField, at);
    const produced = producedBy(definition, at);
    this.kinds(crmField, produced, at);
    for (const literal of produced.literals) this.literal(crmField, literal);
    this.truncation(crmField, definition.transforms, at);
    this.picklistBacked(crmField, definition, at);
  }

  /** Free text into a country field the org backs with a code picklist (Country → CountryCode): names would be left out. */
  picklistBacked(field: CrmFieldMetadata, definition: FieldDefinition, at: DocPath): void {
    if (field.codeField === undefined || !/Country$/.test(field.name)) return;
    const deciding = definition.transforms
      .filter((step) => !NEUTRAL_TRANSFORMS.has(step.transform))
      .at(-1);
    if (deciding?.transform === 'country') return;
    if (definition.origin.kind === 'const') return;
    this.add(
      at,
      `writes free text into "${field.name}", which this org backs with the picklist "${field.codeField}": only a country code ` +
        `or the exact integration value of a listed country is taken, other values are left out; add the country transform to write codes`,
    );
  }

  writable(field: CrmFieldMetadata, at: DocPath, onCreate = true): void {
    const where = `CRM field "${field.name}" on ${this.entity}`;
    if (!field.createable && !field.updateable)
      this.add(at, `${where} is read-only (it can be neither created nor updated)`);
    else if (onCreate && !field.createable)
      this.add(at, `${where} cannot be set when a record is created`);
    else if (!field.updateable)
      this.add(
        at,
        `${where} cannot be updated, so writing it again for a changed referral would be refused`,
      );
  }

  /** Kinds read from the referral (after the transforms) that the field cannot hold. */
  kinds(field: CrmFieldMetadata, produced: Produced, at: DocPath): void {
    for (const kind of produced.open) {
      const problem = misfit(kind, field);
      if (problem !== null)
        this.add(
          at,
          `gives ${KIND_PHRASES[kind]} but CRM field "${field.name}" is ${TYPE_PHRASES[field.type]}${problem}`,
        );
    }
  }

  literal(field: CrmFieldMetadata, { value, at }: Literal): void {
    if (value === null) return;
    const problem = misfit(literalKind(value), field);
    if (problem !== null) {
      this.add(
        at,
        `gives ${show(value)} but CRM field "${field.name}" is ${TYPE_PHRASES[field.type]}${problem}`,
      );
      return;
    }
    const values = field.picklistValues;
    if (
      field.type === 'picklist' &&
      values &&
      values.length > 0 &&
      !values.includes(value as string | number)
    ) {
      this.add(
        at,
        `${show(value)} is not a value of the CRM picklist "${field.name}" (values: ${listed(values)})`,
      );
    }
    if (
      typeof value === 'string' &&
      field.maxLength !== undefined &&
      value.length > field.maxLength
    ) {
      this.add(
        at,
        `${show(value)} has ${value.length} characters but CRM field "${field.name}" holds at most ${field.maxLength}`,
      );
    }
  }

  /** The last truncate decides how long a text may get; one longer than the field means refused writes. */
  truncation(field: CrmFieldMetadata, transforms: readonly TransformStep[], at: DocPath): void {
    if (field.maxLength === undefined) return;
    const index = transforms.map((step) => step.transform).lastIndexOf('truncate');
    const step = transforms[index];
    if (step?.transform !== 'truncate' || step.length <= field.maxLength) return;
    this.add(
      [...at, 'transforms', index],
      `truncate ${step.length} is longer than CRM field "${field.name}" holds (at most ${field.maxLength} characters): longer values would be refused`,
    );
  }

  requiredFields(): void {
    for (const field of this.byName.values()) {
      if (
        field.required &&
        field.createable &&
        !Object.hasOwn(this.mapping.definition.fields, field.name)
      ) {
        this.add(
          ['fields'],
          `CRM field "${field.name}" on ${this.entity} is required but not mapped`,
        );
      }
    }
  }

  /** The `status:` parts that name fields of this entity: rule conditions, reason fields, accept sources, the expiry reflection. */
  statusSection(): void {
    const status = this.mapping.definition.status;
    const role = this.entity.toLowerCase();
    if (!status) return;
    for (const [outcome, rules] of Object.entries(status.rules)) {
      rules.forEach((rule, index) => {
        if (rule.entity !== role) return;
        for (const [name, values] of Object.entries(rule.when))
          this.condition(name, values, ['status', outcome, index, 'when', name]);
      });
    }
    for (const key of ['declineReasons', 'lossReasons'] as const) {
      const reasons = status[key];
      if (reasons) this.recordPath(reasons.field, role, ['status', key, 'field']);
    }
    for (const [name, accept] of Object.entries(status.acceptFields)) {
      if (accept?.origin.kind !== 'source') continue;
      const paths = accept.origin.paths;
      paths.forEach((path, index) =>
        this.recordPath(path, role, [
          'status',
          'acceptFields',
          name,
          'source',
          ...(paths.length > 1 ? [index] : []),
        ]),
      );
    }
    for (const [name, value] of Object.entries(status.expiredReflection ?? {}))
      this.reflection(name, value, ['status', 'expiredReflection', name]);
  }

  /** A rule compares values as texts: a picklist value the CRM lacks never matches. */
  condition(name: string, values: readonly Scalar[], at: DocPath): void {
    const field = this.known(name, at);
    const options = field?.picklistValues;
    if (!field || field.type !== 'picklist' || !options || options.length === 0) return;
    for (const value of values) {
      if (!options.some((option) => String(option) === String(value))) {
        this.add(
          at,
          `${show(value)} is not a value of the CRM picklist "${field.name}" (values: ${listed(options)}), so this rule never matches`,
        );
      }
    }
  }

  recordPath(path: ValuePath, role: string, at: DocPath): void {
    const [root, next] = path.segments;
    if (!root || !('key' in root) || root.key !== role || !next || !('key' in next)) return;
    this.known(next.key, at);
  }

  reflection(name: string, value: Scalar, at: DocPath): void {
    const field = this.known(name, at);
    if (!field) return;
    this.writable(field, at, false);
    this.literal(field, { value, at });
  }
}

// ------------------------------------------------------------------ what a chain gives

function producedBy(field: FieldDefinition, at: DocPath): Produced {
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

/** Known values map to their table entries exactly; values read from the referral may give any entry (or the fallback). */
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

const KIND_PHRASES: Readonly<Record<ValueKind, string>> = {
  text: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true/false',
  date: 'a date',
  datetime: 'a date-time',
  unknown: 'a value',
};

const TYPE_PHRASES: Readonly<Record<CrmFieldType, string>> = {
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

/** null when a value of this kind fits the field; otherwise the hint that ends the message ('' for none). */
function misfit(kind: ValueKind, field: CrmFieldMetadata): string | null {
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

function literalKind(value: Exclude<Scalar, null>): ValueKind {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (DATE_TEXT.test(value)) return 'date';
  return DATETIME_TEXT.test(value) ? 'datetime' : 'text';
}

function listed(values: ReadonlyArray<string | number>): string {
  const shown = values.slice(0, MAX_LISTED_VALUES).map(String).join(', ');
  return values.length > MAX_LISTED_VALUES ? `${shown}, ...` : shown;
}

/** ` (did you mean "x"?)`: a name within two edits, else a name that starts that way (emial → emailaddress1). */
function closestName(written: string, names: readonly string[]): string {
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
