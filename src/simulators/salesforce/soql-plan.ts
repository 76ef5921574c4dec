// Resolves parsed SOQL against the org's schema: field and literal checks, then matching, ordering
// and projection.
import { normaliseRecordId } from './ids.js';
import {
  findField,
  findObject,
  isNumberType,
  isTextType,
  type FieldSpec,
  type SObjectSpec,
} from './schema.js';
import {
  SoqlError,
  parseSoql,
  type Condition,
  type FieldPath,
  type Literal,
  type OrderItem,
  type SoqlErrorCode,
} from './soql.js';
import { toApiValue, type FieldValue, type SObjectRow } from './values.js';

/**
 * How a plan reaches related records (relationship paths such as `ConvertedOpportunity.StageName`).
 */
export interface RowLookup {
  get(object: SObjectSpec, id: string): SObjectRow | undefined;
}

interface ResolvedField {
  /** Canonical path: `Email`, `ConvertedOpportunity.StageName`. */
  path: string;
  /** The reference fields walked from the queried object, in order. */
  relationships: FieldSpec[];
  field: FieldSpec;
}

/**
 * A necessary condition the store can answer from an index: the field holds one of these values.
 */
interface IndexHint {
  field: FieldSpec;
  values: string[];
}

type RowPredicate = (row: SObjectRow, lookup: RowLookup) => boolean;
type RowOrder = (a: SObjectRow, b: SObjectRow, lookup: RowLookup) => number;

export interface QueryPlan {
  object: SObjectSpec;
  /** SELECT COUNT(): only totalSize is answered. */
  count: boolean;
  fields: ResolvedField[];
  matches: RowPredicate;
  indexHint?: IndexHint;
  order?: RowOrder;
  limit?: number;
  offset?: number;
}

const MAX_OFFSET = 2000;
const CUSTOM_FIELD_HINT =
  "If you are attempting to use a custom field, be sure to append the '__c' after the custom " +
  'field name. ' +
  'Please reference your WSDL or the describe call for the appropriate names.';

/**
 * Parses and resolves a query; throws SoqlError with the platform's error code and pointed message.
 */
export function planQuery(soql: string): QueryPlan {
  const query = parseSoql(soql);
  const problem = (code: SoqlErrorCode, detail: string, offset: number) =>
    new SoqlError(code, detail, offset, soql);
  const object = findObject(query.from.name);
  if (!object) {
    throw problem(
      'INVALID_TYPE',
      `sObject type '${query.from.name}' is not supported. If you are attempting to use a ` +
        `custom object, be sure to append the '__c' after the entity name. Please reference ` +
        `your WSDL or the describe call for the appropriate names.`,
      query.from.offset,
    );
  }
  const resolve = (path: FieldPath) => resolveField(object, path, problem);
  const paths = query.select.kind === 'fields' ? query.select.fields : [];
  const fields = paths.map(resolve);
  const seen = new Set<string>();
  for (const [i, field] of fields.entries()) {
    if (seen.has(field.path.toLowerCase())) {
      throw problem(
        'MALFORMED_QUERY',
        `duplicate field selected: ${field.path}`,
        paths[i]?.offset ?? 0,
      );
    }
    seen.add(field.path.toLowerCase());
  }
  if (query.offset !== undefined && query.offset > MAX_OFFSET) {
    throw problem(
      'NUMBER_OUTSIDE_VALID_RANGE',
      `Maximum SOQL offset allowed is ${MAX_OFFSET}`,
      soql.length,
    );
  }
  const compile = new ConditionCompiler(resolve, problem);
  return {
    object,
    count: query.select.kind === 'count',
    fields,
    matches: query.where ? compile.condition(query.where) : () => true,
    indexHint: query.where ? compile.indexHint(query.where) : undefined,
    order:
      query.orderBy.length > 0
        ? compileOrder(query.orderBy.map((item) => ({ item, field: resolve(item.field) })))
        : undefined,
    limit: query.limit,
    offset: query.offset,
  };
}

type ProblemFactory = (code: SoqlErrorCode, detail: string, offset: number) => SoqlError;

function resolveField(
  object: SObjectSpec,
  path: FieldPath,
  problem: ProblemFactory,
): ResolvedField {
  const relationships: FieldSpec[] = [];
  let current = object;
  for (const part of path.parts.slice(0, -1)) {
    const reference = current.relationshipsByLowerName.get(part.toLowerCase());
    const target = reference ? findObject(reference.referenceTo ?? '') : undefined;
    if (!reference || !target) {
      throw problem(
        'INVALID_FIELD',
        `Didn't understand relationship '${part}' in field path. If you are attempting to use ` +
          `a custom relationship, be sure to append the '__r' after the custom relationship ` +
          `name. Please reference your WSDL or the describe call for the appropriate names.`,
        path.offset,
      );
    }
    relationships.push(reference);
    current = target;
  }
  const last = path.parts[path.parts.length - 1] ?? '';
  const field = findField(current, last);
  if (!field)
    throw problem(
      'INVALID_FIELD',
      `No such column '${last}' on entity '${current.name}'. ${CUSTOM_FIELD_HINT}`,
      path.offset,
    );
  const canonicalPath = [
    ...relationships.map((r) => r.relationshipName ?? r.name),
    field.name,
  ].join('.');
  return { path: canonicalPath, relationships, field };
}

/** The value of a (possibly related) field of a row; null when a reference on the way is empty. */
function readField(resolved: ResolvedField, row: SObjectRow, lookup: RowLookup): FieldValue {
  let current: SObjectRow | undefined = row;
  for (const reference of resolved.relationships) {
    const id: FieldValue | undefined = current[reference.name];
    const target = findObject(reference.referenceTo ?? '');
    current = typeof id === 'string' && target ? lookup.get(target, id) : undefined;
    if (!current) return null;
  }
  return current[resolved.field.name] ?? null;
}

/** Values as SOQL compares them: text ignores case. */
function comparable(field: FieldSpec, value: FieldValue): FieldValue {
  return isTextType(field.type) && typeof value === 'string' ? value.toLowerCase() : value;
}

function compareValues(a: FieldValue, b: FieldValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function literalTypeName(field: FieldSpec): { name: string; quoted: boolean } {
  if (isTextType(field.type)) return { name: 'string', quoted: true };
  if (field.type === 'id' || field.type === 'reference') return { name: 'id', quoted: true };
  if (field.type === 'int') return { name: 'integer', quoted: false };
  if (isNumberType(field.type)) return { name: 'double', quoted: false };
  if (field.type === 'datetime') return { name: 'dateTime', quoted: false };
  return { name: field.type, quoted: false };
}

class ConditionCompiler {
  constructor(
    private readonly resolve: (path: FieldPath) => ResolvedField,
    private readonly problem: ProblemFactory,
  ) {}

  condition(condition: Condition): RowPredicate {
    switch (condition.kind) {
      case 'and': {
        const parts = condition.operands.map((c) => this.condition(c));
        return (row, lookup) => parts.every((p) => p(row, lookup));
      }
      case 'or': {
        const parts = condition.operands.map((c) => this.condition(c));
        return (row, lookup) => parts.some((p) => p(row, lookup));
      }
      case 'not': {
        const inner = this.condition(condition.operand);
        return (row, lookup) => !inner(row, lookup);
      }
      case 'compare':
        return this.comparison(condition);
      case 'in':
        return this.membership(condition);
      case 'like':
        return this.like(condition);
    }
  }

  /** The first indexable equality on Id or a unique field that every match must satisfy. */
  indexHint(condition: Condition): IndexHint | undefined {
    if (condition.kind === 'and') {
      for (const operand of condition.operands) {
        const hint = this.indexHint(operand);
        if (hint) return hint;
      }
      return undefined;
    }
    const literals =
      condition.kind === 'compare' && condition.operator === '='
        ? [condition.value]
        : condition.kind === 'in' && !condition.negated
          ? condition.values
          : null;
    if (!literals || (condition.kind !== 'compare' && condition.kind !== 'in')) return undefined;
    const resolved = this.resolve(condition.field);
    if (
      resolved.relationships.length > 0 ||
      !(resolved.field.type === 'id' || resolved.field.unique)
    )
      return undefined;
    // Text literals come back lower-cased, which is how the store keys its unique indexes.
    const values = literals.map((l) => this.literalValue(resolved, l));
    return values.every((v): v is string => typeof v === 'string')
      ? { field: resolved.field, values }
      : undefined;
  }

  private comparison(condition: Extract<Condition, { kind: 'compare' }>): RowPredicate {
    const resolved = this.resolve(condition.field);
    const { operator } = condition;
    if (resolved.field.type === 'boolean' && operator !== '=' && operator !== '!=') {
      throw this.problem(
        'INVALID_QUERY_FILTER_OPERATOR',
        `invalid operator on boolean field: ${resolved.path}`,
        condition.field.offset,
      );
    }
    const wanted = this.literalValue(resolved, condition.value);
    const read = (row: SObjectRow, lookup: RowLookup) =>
      comparable(resolved.field, readField(resolved, row, lookup));
    if (operator === '=') return (row, lookup) => read(row, lookup) === wanted;
    if (operator === '!=') return (row, lookup) => read(row, lookup) !== wanted;
    const test = {
      '<': (c: number) => c < 0,
      '<=': (c: number) => c <= 0,
      '>': (c: number) => c > 0,
      '>=': (c: number) => c >= 0,
    }[operator];
    return (row, lookup) => {
      const actual = read(row, lookup);
      return actual !== null && wanted !== null && test(compareValues(actual, wanted));
    };
  }

  private membership(condition: Extract<Condition, { kind: 'in' }>): RowPredicate {
    const resolved = this.resolve(condition.field);
    const wanted = new Set(condition.values.map((l) => this.literalValue(resolved, l)));
    return (row, lookup) =>
      wanted.has(comparable(resolved.field, readField(resolved, row, lookup))) !==
      condition.negated;
  }

  private like(condition: Extract<Condition, { kind: 'like' }>): RowPredicate {
    const resolved = this.resolve(condition.field);
    if (!isTextType(resolved.field.type)) {
      throw this.problem(
        'INVALID_QUERY_FILTER_OPERATOR',
        `invalid operator on field: LIKE cannot filter ${resolved.path}`,
        condition.field.offset,
      );
    }
    const pattern = likeToRegExp(condition.pattern.raw);
    return (row, lookup) => {
      const value = readField(resolved, row, lookup);
      return typeof value === 'string' && pattern.test(value);
    };
  }

  /**
   * The literal as a comparable value of the field's type; a literal of another type is refused.
   */
  private literalValue(resolved: ResolvedField, literal: Literal): FieldValue {
    if (literal.kind === 'null') return null;
    const { field, path } = resolved;
    const expected = literalTypeName(field);
    const refuse = () =>
      this.problem(
        'INVALID_FIELD',
        `value of filter criterion for field '${path}' must be of type ${expected.name} and ` +
          `should ${expected.quoted ? '' : 'not '}be enclosed in quotes`,
        literal.offset,
      );
    if (field.type === 'id' || field.type === 'reference') {
      if (literal.kind !== 'string') throw refuse();
      const id = normaliseRecordId(literal.value);
      if (id === null)
        throw this.problem(
          'INVALID_QUERY_FILTER_OPERATOR',
          `invalid ID field: ${literal.value}`,
          literal.offset,
        );
      return id;
    }
    if (isTextType(field.type)) {
      if (literal.kind !== 'string') throw refuse();
      return literal.value.toLowerCase();
    }
    const kinds: Record<string, Literal['kind']> = {
      boolean: 'boolean',
      date: 'date',
      datetime: 'datetime',
      currency: 'number',
      double: 'number',
      int: 'number',
    };
    if (literal.kind !== kinds[field.type]) throw refuse();
    return (literal as { value: FieldValue }).value;
  }
}

/**
 * A LIKE pattern as a whole-value, case-insensitive RegExp: `%` any run, `_` one character, `\%`
 * `\_` literal.
 */
export function likeToRegExp(raw: string): RegExp {
  const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };
  let source = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charAt(i);
    if (ch === '\\') {
      const next = raw.charAt(++i);
      const literal = escapes[next.toLowerCase()] ?? next;
      source += literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    } else if (ch === '%') source += '.*';
    else if (ch === '_') source += '.';
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'is');
}

function compileOrder(items: Array<{ item: OrderItem; field: ResolvedField }>): RowOrder {
  return (a, b, lookup) => {
    for (const { item, field } of items) {
      const x = comparable(field.field, readField(field, a, lookup));
      const y = comparable(field.field, readField(field, b, lookup));
      if (x === null && y === null) continue;
      if (x === null) return item.nullsLast ? 1 : -1;
      if (y === null) return item.nullsLast ? -1 : 1;
      const order = compareValues(x, y);
      if (order !== 0) return item.descending ? -order : order;
    }
    return 0;
  };
}

/**
 * A matched row as the query result shows it: attributes, then the selected fields, related ones
 * nested.
 */
export function projectRow(
  plan: QueryPlan,
  row: SObjectRow,
  lookup: RowLookup,
  version: string,
): Record<string, unknown> {
  const record = attributesFor(plan.object, row, version);
  for (const resolved of plan.fields) {
    let target: Record<string, unknown> = record;
    let current: SObjectRow | undefined = row;
    let broken = false;
    for (const reference of resolved.relationships) {
      const name = reference.relationshipName ?? reference.name;
      const id: FieldValue | undefined = current?.[reference.name];
      const object = findObject(reference.referenceTo ?? '');
      current = typeof id === 'string' && object ? lookup.get(object, id) : undefined;
      if (!current || !object) {
        if (!(name in target)) target[name] = null;
        broken = true;
        break;
      }
      const nested = target[name];
      target =
        nested && typeof nested === 'object'
          ? (nested as Record<string, unknown>)
          : (target[name] = attributesFor(object, current, version));
    }
    if (!broken && current)
      target[resolved.field.name] = toApiValue(resolved.field, current[resolved.field.name]);
  }
  return record;
}

function attributesFor(
  object: SObjectSpec,
  row: SObjectRow,
  version: string,
): Record<string, unknown> {
  return {
    attributes: {
      type: object.name,
      url: `/services/data/v${version}/sobjects/${object.name}/${String(row.Id)}`,
    },
  };
}
