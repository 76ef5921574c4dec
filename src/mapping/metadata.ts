// Checks a compiled mapping against the CRM's own metadata: the fields exist, may be written, and
// take the values written.
import { coSellFieldRefs } from './cosell.js';
import type { Issue } from '../core/errors.js';
import type { CrmEntityMetadata, CrmFieldMetadata } from '../crm/adapter.js';
import type { FieldDefinition, Scalar, TransformStep, ValuePath } from './definition.js';
import { formatDocPath, type DocPath } from './document.js';
import type { CompiledMapping } from './index.js';
import { show } from './transforms.js';
import {
  closestName,
  KIND_PHRASES,
  listed,
  literalKind,
  misfit,
  producedBy,
  TYPE_PHRASES,
  type Literal,
  type Produced,
} from './metadata-values.js';

/** Transforms that keep a country code a code. */
const NEUTRAL_TRANSFORMS: ReadonlySet<string> = new Set([
  'trim',
  'upper',
  'required',
  'truncate',
  'default',
]);

/**
 * Every problem of `mapping` against `metadata` (the CRM entity the mapping writes), in file order.
 * Pure.
 */
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

  /**
   * Each issue once (a named lookup table may serve several fields), by line; one line keeps the
   * order found.
   */
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
        `unknown CRM field "${name}" on ${this.entity}` +
          `${closestName(name, [...this.byName.keys()])}`,
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

  /**
   * Free text into a country field the org backs with a code picklist (Country → CountryCode):
   * names would be left out.
   */
  picklistBacked(field: CrmFieldMetadata, definition: FieldDefinition, at: DocPath): void {
    if (field.codeField === undefined || !/Country$/.test(field.name)) return;
    const deciding = definition.transforms
      .filter((step) => !NEUTRAL_TRANSFORMS.has(step.transform))
      .at(-1);
    if (deciding?.transform === 'country') return;
    if (definition.origin.kind === 'const') return;
    this.add(
      at,
      `writes free text into "${field.name}", which this org backs with the picklist "` +
        `${field.codeField}": only a country code ` +
        `or the exact integration value of a listed country is taken, other values are left ` +
        `out; add the country transform to write codes`,
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
          `gives ${KIND_PHRASES[kind]} but CRM field "${field.name}" is ` +
            `${TYPE_PHRASES[field.type]}${problem}`,
        );
    }
  }

  literal(field: CrmFieldMetadata, { value, at }: Literal): void {
    if (value === null) return;
    const problem = misfit(literalKind(value), field);
    if (problem !== null) {
      this.add(
        at,
        `gives ${show(value)} but CRM field "${field.name}" is ${TYPE_PHRASES[field.type]}` +
          `${problem}`,
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
        `${show(value)} is not a value of the CRM picklist "${field.name}" (values: ` +
          `${listed(values)})`,
      );
    }
    if (
      typeof value === 'string' &&
      field.maxLength !== undefined &&
      value.length > field.maxLength
    ) {
      this.add(
        at,
        `${show(value)} has ${value.length} characters but CRM field "${field.name}" holds at ` +
          `most ${field.maxLength}`,
      );
    }
  }

  /**
   * The last truncate decides how long a text may get; one longer than the field means refused
   * writes.
   */
  truncation(field: CrmFieldMetadata, transforms: readonly TransformStep[], at: DocPath): void {
    if (field.maxLength === undefined) return;
    const index = transforms.map((step) => step.transform).lastIndexOf('truncate');
    const step = transforms[index];
    if (step?.transform !== 'truncate' || step.length <= field.maxLength) return;
    this.add(
      [...at, 'transforms', index],
      `truncate ${step.length} is longer than CRM field "${field.name}" holds (at most ` +
        `${field.maxLength} characters): longer values would be refused`,
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

  /**
   * The `status:` parts that name fields of this entity: rule conditions, reason fields, accept
   * sources, the expiry reflection.
   */
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
          `${show(value)} is not a value of the CRM picklist "${field.name}" (values: ` +
            `${listed(options)}), so this rule never matches`,
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
