// OData $filter for the referrals list: a recursive-descent parser that types every property path
// against the referral schema.
import { canonicalInstant } from './instant.js';
import {
  REFERRAL_SPEC,
  TOP_LEVEL_FIELDS,
  suggestField,
  type FieldSpec,
  type ObjectSpec,
} from './schema.js';

/**
 * A $filter the service would refuse; the message says what and where (1-based character
 * positions).
 */
export class FilterError extends Error {
  override name = 'FilterError';
}

type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
type LiteralType = 'string' | 'number' | 'boolean' | 'null' | 'datetime';

interface PathOperand {
  kind: 'path';
  /** The lambda variable the path starts from, or null for the referral itself. */
  variable: string | null;
  segments: string[];
  spec: FieldSpec;
  text: string;
  at: number;
}

interface LiteralOperand {
  kind: 'literal';
  type: LiteralType;
  /** Date-times are held in canonical form (see instant.ts), so they compare as instants. */
  value: string | number | boolean | null;
  text: string;
  at: number;
}

type Operand = PathOperand | LiteralOperand;

export type FilterExpr =
  | { kind: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; operand: FilterExpr }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand }
  | {
      kind: 'any' | 'all';
      collection: PathOperand;
      variable: string | null;
      predicate: FilterExpr | null;
    }
  /** A bare boolean property used as a condition (`favorite`). */
  | { kind: 'isTrue'; path: PathOperand };

type Token =
  | { kind: 'punct'; text: string; at: number }
  | { kind: 'word'; text: string; at: number }
  | { kind: 'literal'; literal: LiteralOperand; at: number }
  | { kind: 'end'; at: number };

/**
 * What a sub-expression turned out to be: a condition, or a value still waiting for its comparison.
 */
type Node = { kind: 'expr'; expr: FilterExpr; at: number } | { kind: 'operand'; operand: Operand };

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const UNSUPPORTED_OPS: ReadonlySet<string> = new Set([
  'has',
  'in',
  'add',
  'sub',
  'mul',
  'div',
  'divby',
  'mod',
]);
const KEYWORDS: ReadonlySet<string> = new Set([
  ...COMPARE_OPS,
  ...UNSUPPORTED_OPS,
  'and',
  'or',
  'not',
]);
const FLIPPED: Readonly<Record<CompareOp, CompareOp>> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  ge: 'le',
  lt: 'gt',
  le: 'ge',
};
const SUPPORTED = 'eq, ne, gt, ge, lt, le, and, or, not, parentheses and any/all lambdas';

/** Parses and type-checks a $filter expression; throws FilterError naming the problem. */
export function parseFilter(source: string): FilterExpr {
  if (source.trim() === '') throw new FilterError('the expression is empty');
  return new FilterParser(tokenize(source)).parse();
}

// ---------------------------------------------------------------- tokens

const DATE_LIKE = /\d{4}-\d{2}-\d{2}(?:T[0-9:.]*(?:Z|[+-]\d{2}:\d{2})?)?/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const LITERAL_RUN = /[A-Za-z0-9_.:+-]*/y;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const at = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if ('()/:,'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, at });
      i++;
    } else if (c === "'") {
      const { literal, end } = readString(source, i);
      tokens.push({ kind: 'literal', literal, at });
      i = end;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const { literal, end } = readNumberOrDateTime(source, i);
      tokens.push({ kind: 'literal', literal, at });
      i = end;
    } else if (/[A-Za-z_]/.test(c)) {
      WORD.lastIndex = i;
      const text = WORD.exec(source)![0];
      tokens.push(wordOrKeywordLiteral(text, at));
      i += text.length;
    } else {
      throw new FilterError(`unexpected character '${c}' at character ${at}`);
    }
  }
  tokens.push({ kind: 'end', at: source.length + 1 });
  return tokens;
}

function wordOrKeywordLiteral(text: string, at: number): Token {
  if (text === 'true' || text === 'false')
    return {
      kind: 'literal',
      literal: { kind: 'literal', type: 'boolean', value: text === 'true', text, at },
      at,
    };
  if (text === 'null')
    return {
      kind: 'literal',
      literal: { kind: 'literal', type: 'null', value: null, text, at },
      at,
    };
  return { kind: 'word', text, at };
}

/** A single-quoted string; '' stands for one quote, and a backslash is an ordinary character. */
function readString(source: string, start: number): { literal: LiteralOperand; end: number } {
  let value = '';
  let j = start + 1;
  for (;;) {
    if (j >= source.length) {
      throw new FilterError(
        `unterminated string literal starting at character ${start + 1} (write '' for a quote ` +
          `inside a string)`,
      );
    }
    const ch = source[j]!;
    if (ch === "'") {
      if (source[j + 1] !== "'") break;
      value += "'";
      j += 2;
    } else {
      value += ch;
      j++;
    }
  }
  return {
    literal: {
      kind: 'literal',
      type: 'string',
      value,
      text: source.slice(start, j + 1),
      at: start + 1,
    },
    end: j + 1,
  };
}

function readNumberOrDateTime(
  source: string,
  start: number,
): { literal: LiteralOperand; end: number } {
  const at = start + 1;
  DATE_LIKE.lastIndex = start;
  const date = source[start] === '-' ? null : DATE_LIKE.exec(source);
  if (date) {
    const text = date[0];
    const end = start + text.length;
    if (!text.includes('T')) {
      throw new FilterError(
        `date literal ${text} at character ${at} has no time: write a date-time such as ${text}` +
          `T00:00:00Z`,
      );
    }
    const instant = /[A-Za-z0-9]/.test(source[end] ?? '') ? null : canonicalInstant(text);
    if (instant === null) throw new FilterError(invalidDateTimeMessage(source, start, text));
    return { literal: { kind: 'literal', type: 'datetime', value: instant, text, at }, end };
  }
  NUMBER.lastIndex = start;
  const text = NUMBER.exec(source)![0];
  const end = start + text.length;
  if (/[A-Za-z0-9_.-]/.test(source[end] ?? '')) {
    LITERAL_RUN.lastIndex = start;
    const run = LITERAL_RUN.exec(source)![0];
    throw new FilterError(
      `malformed literal ${run} at character ${at}: quote strings and GUIDs ('${run}')`,
    );
  }
  return { literal: { kind: 'literal', type: 'number', value: Number(text), text, at }, end };
}

function invalidDateTimeMessage(source: string, start: number, text: string): string {
  const base = `invalid date-time literal ${text} at character ${start + 1}`;
  if (/^ \d{2}:\d{2}/.test(source.slice(start + text.length))) {
    return `${base}: a '+' in a URL query decodes as a space, so percent-encode it as %2B`;
  }
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(text))
    return `${base}: it needs a zone, Z or +hh:mm (e.g. 2025-01-01T00:00:00Z)`;
  return (
    `${base}: expected a real date and time such as 2025-01-01T00:00:00Z or ` +
    `2025-01-01T00:00:00.1234567+01:00`
  );
}

// ---------------------------------------------------------------- parser

class FilterParser {
  private pos = 0;
  /** Lambda variables in scope, innermost last. */
  private readonly scopes: Array<{ name: string; spec: FieldSpec }> = [];

  constructor(private readonly tokens: Token[]) {}

  parse(): FilterExpr {
    const expr = this.condition(this.parseOr(), 'the $filter');
    const next = this.peek();
    if (next.kind !== 'end') throw this.unexpected(next);
    return expr;
  }

  private parseOr(): Node {
    let left = this.parseAnd();
    while (this.isWord('or')) {
      const at = this.next().at;
      const right = this.parseAnd();
      left = {
        kind: 'expr',
        expr: {
          kind: 'or',
          left: this.condition(left, `'or' at character ${at}`),
          right: this.condition(right, `'or' at character ${at}`),
        },
        at,
      };
    }
    return left;
  }

  private parseAnd(): Node {
    let left = this.parseComparison();
    while (this.isWord('and')) {
      const at = this.next().at;
      const right = this.parseComparison();
      left = {
        kind: 'expr',
        expr: {
          kind: 'and',
          left: this.condition(left, `'and' at character ${at}`),
          right: this.condition(right, `'and' at character ${at}`),
        },
        at,
      };
    }
    return left;
  }

  private parseComparison(): Node {
    const left = this.parseUnary();
    const next = this.peek();
    if (next.kind !== 'word') return left;
    if (UNSUPPORTED_OPS.has(next.text))
      throw new FilterError(
        `unsupported operator '${next.text}' at character ${next.at}; supported: ${SUPPORTED}`,
      );
    if (!COMPARE_OPS.has(next.text)) return left;
    this.next();
    const right = this.parseUnary();
    const op = next.text as CompareOp;
    return {
      kind: 'expr',
      expr: typedComparison(
        op,
        this.operand(left, op, next.at),
        this.operand(right, op, next.at),
        next.at,
      ),
      at: next.at,
    };
  }

  private parseUnary(): Node {
    if (!this.isWord('not')) return this.parsePrimary();
    const at = this.next().at;
    const operand = this.parseUnary();
    if (
      operand.kind === 'operand' &&
      !(operand.operand.kind === 'path' && operand.operand.spec.kind === 'boolean')
    ) {
      // As in Microsoft's OData parser, 'not' binds tighter than the comparison operators.
      const shown = operand.operand.text;
      throw new FilterError(
        `'not' at character ${at} applies to ${shown} alone, which is not a condition: write ` +
          `not (${shown} eq ...)`,
      );
    }
    return {
      kind: 'expr',
      expr: { kind: 'not', operand: this.condition(operand, `'not' at character ${at}`) },
      at,
    };
  }

  private parsePrimary(): Node {
    const token = this.next();
    if (token.kind === 'punct' && token.text === '(') {
      const inner = this.parseOr();
      this.expectPunct(')', `to close the parenthesis opened at character ${token.at}`);
      return inner;
    }
    if (token.kind === 'literal') return { kind: 'operand', operand: token.literal };
    if (token.kind === 'word') {
      if (KEYWORDS.has(token.text))
        throw new FilterError(
          `expected a property or a literal at character ${token.at}, found '${token.text}'`,
        );
      const after = this.peek();
      if (after.kind === 'punct' && after.text === '(') {
        throw new FilterError(
          `unsupported function '${token.text}' at character ${token.at}; supported: ${SUPPORTED}`,
        );
      }
      return this.parsePath(token);
    }
    throw this.unexpected(token);
  }

  /**
   * A property path from the referral or from a lambda variable, possibly ending in /any(...) or
   * /all(...).
   */
  private parsePath(first: { text: string; at: number }): Node {
    const scope = [...this.scopes].reverse().find((s) => s.name === first.text);
    let spec: FieldSpec = scope
      ? scope.spec
      : resolveField(REFERRAL_SPEC, first.text, first.text, first.at);
    const segments: string[] = scope ? [] : [first.text];
    let text = first.text;
    while (this.isPunct('/')) {
      this.next();
      const segment = this.next();
      if (segment.kind !== 'word')
        throw new FilterError(
          `expected a property name after '${text}/' at character ${segment.at}`,
        );
      const path: PathOperand = {
        kind: 'path',
        variable: scope ? first.text : null,
        segments: [...segments],
        spec,
        text,
        at: first.at,
      };
      if ((segment.text === 'any' || segment.text === 'all') && this.isPunct('('))
        return this.parseLambda(segment.text, path, segment.at);
      spec = this.childSpec(spec, segment.text, text, segment.at);
      segments.push(segment.text);
      text = `${text}/${segment.text}`;
    }
    return {
      kind: 'operand',
      operand: {
        kind: 'path',
        variable: scope ? first.text : null,
        segments,
        spec,
        text,
        at: first.at,
      },
    };
  }

  private childSpec(spec: FieldSpec, name: string, parentText: string, at: number): FieldSpec {
    if (spec.kind === 'collection') {
      throw new FilterError(
        `${parentText} is a collection at character ${at}: test its items with ${parentText}` +
          `/any(x: x/... eq ...)`,
      );
    }
    if (spec.kind !== 'object')
      throw new FilterError(
        `${parentText} is a ${kindName(spec)} and has no property '${name}' (character ${at})`,
      );
    return resolveField(spec, name, `${parentText}/${name}`, at);
  }

  private parseLambda(quantifier: 'any' | 'all', collection: PathOperand, at: number): Node {
    this.expectPunct('(', `after ${quantifier}`);
    if (collection.spec.kind !== 'collection') {
      throw new FilterError(
        `${collection.text}/${quantifier} at character ${at}: ${collection.text} is not a ` +
          `collection`,
      );
    }
    if (this.isPunct(')')) {
      this.next();
      if (quantifier === 'all')
        throw new FilterError(
          `${collection.text}/all() at character ${at} needs a predicate, e.g. all(x: x/... eq ` +
            `...)`,
        );
      return {
        kind: 'expr',
        expr: { kind: 'any', collection, variable: null, predicate: null },
        at,
      };
    }
    const variable = this.next();
    if (variable.kind !== 'word' || KEYWORDS.has(variable.text)) {
      throw new FilterError(
        `expected a lambda variable at character ${variable.at}, as in ${collection.text}/` +
          `${quantifier}(x: x/... eq ...)`,
      );
    }
    this.expectPunct(':', `after the lambda variable '${variable.text}'`);
    this.scopes.push({ name: variable.text, spec: collection.spec.element });
    const predicate = this.condition(
      this.parseOr(),
      `the ${quantifier} predicate at character ${at}`,
    );
    this.scopes.pop();
    this.expectPunct(')', `to close ${collection.text}/${quantifier}(`);
    if (this.isPunct('/'))
      throw new FilterError(
        `nothing may follow ${collection.text}/${quantifier}(...) (character ${this.peek().at})`,
      );
    return {
      kind: 'expr',
      expr: { kind: quantifier, collection, variable: variable.text, predicate },
      at,
    };
  }

  /** The node as a condition: a comparison, a logical expression or a bare boolean property. */
  private condition(node: Node, where: string): FilterExpr {
    if (node.kind === 'expr') return node.expr;
    const { operand } = node;
    if (operand.kind === 'path' && operand.spec.kind === 'boolean')
      return { kind: 'isTrue', path: operand };
    throw new FilterError(
      `${where} needs a condition, but ${operand.text} at character ${operand.at} is a value: ` +
        `compare it with eq, ne, gt, ge, lt or le`,
    );
  }

  private operand(node: Node, op: string, at: number): Operand {
    if (node.kind === 'operand') return node.operand;
    throw new FilterError(
      `'${op}' at character ${at} compares a condition; compare a property with a literal instead`,
    );
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const token = this.tokens[this.pos]!;
    if (token.kind !== 'end') this.pos++;
    return token;
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text === text;
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.kind === 'punct' && token.text === text;
  }

  private expectPunct(text: string, why: string): void {
    const token = this.next();
    if (token.kind !== 'punct' || token.text !== text) {
      throw new FilterError(
        `expected '${text}' ${why}, found ${describeToken(token)} at character ${token.at}`,
      );
    }
  }

  private unexpected(token: Token): FilterError {
    if (
      token.kind === 'word' &&
      KEYWORDS.has(token.text.toLowerCase()) &&
      !KEYWORDS.has(token.text)
    ) {
      return new FilterError(
        `unexpected '${token.text}' at character ${token.at}: operators are lowercase ('` +
          `${token.text.toLowerCase()}')`,
      );
    }
    return new FilterError(`unexpected ${describeToken(token)} at character ${token.at}`);
  }
}

function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return 'the end of the expression';
    case 'literal':
      return token.literal.text;
    default:
      return `'${token.text}'`;
  }
}

function resolveField(spec: ObjectSpec, name: string, pathText: string, at: number): FieldSpec {
  if (spec === REFERRAL_SPEC && name === 'links')
    throw new FilterError(`links at character ${at} cannot be filtered`);
  const field = Object.hasOwn(spec.fields, name) ? spec.fields[name] : undefined;
  if (field) return field;
  const suggestion = suggestField(spec, name);
  const hint = suggestion
    ? ` (did you mean '${pathText.slice(0, -name.length)}${suggestion}'?)`
    : spec === REFERRAL_SPEC
      ? `; referral properties are ${TOP_LEVEL_FIELDS.filter((f) => f !== 'links').join(', ')}`
      : `; known: ${Object.keys(spec.fields).join(', ')}`;
  throw new FilterError(`unknown property '${pathText}' at character ${at}${hint}`);
}

function kindName(spec: FieldSpec): string {
  return spec.kind === 'datetime' ? 'date-time' : spec.kind;
}

// ---------------------------------------------------------------- types

function typedComparison(op: CompareOp, left: Operand, right: Operand, at: number): FilterExpr {
  if (left.kind === 'literal' && right.kind === 'literal') {
    throw new FilterError(
      `'${op}' at character ${at} compares two literals; one side must be a property`,
    );
  }
  if (left.kind === 'path') assertScalar(left);
  if (right.kind === 'path') assertScalar(right);
  if (left.kind === 'path' && right.kind === 'path') assertComparablePaths(op, left, right, at);
  else if (left.kind === 'path') assertLiteralFits(op, left, right as LiteralOperand);
  else assertLiteralFits(FLIPPED[op], right as PathOperand, left);
  return { kind: 'compare', op, left, right };
}

function assertScalar(path: PathOperand): void {
  if (path.spec.kind === 'collection') {
    throw new FilterError(
      `${path.text} at character ${path.at} is a collection: use ${path.text}/any(x: x/... eq ...)`,
    );
  }
  if (path.spec.kind === 'object') {
    const first = Object.keys(path.spec.fields)[0] ?? '...';
    throw new FilterError(
      `${path.text} at character ${path.at} is an object: compare one of its properties, e.g. ` +
        `${path.text}/${first}`,
    );
  }
}

function assertComparablePaths(
  op: CompareOp,
  left: PathOperand,
  right: PathOperand,
  at: number,
): void {
  if (left.spec.kind !== right.spec.kind) {
    throw new FilterError(
      `'${op}' at character ${at} compares ${left.text} (${kindName(left.spec)}) with ` +
        `${right.text} (${kindName(right.spec)})`,
    );
  }
  assertOperatorFits(op, left);
}

function assertOperatorFits(op: CompareOp, path: PathOperand): void {
  const orderable =
    path.spec.kind !== 'boolean' && !(path.spec.kind === 'string' && path.spec.enumValues);
  if (!orderable && op !== 'eq' && op !== 'ne') {
    throw new FilterError(
      `${path.text} at character ${path.at} can only be compared with eq or ne, not ${op}`,
    );
  }
}

function assertLiteralFits(op: CompareOp, path: PathOperand, literal: LiteralOperand): void {
  if (literal.type === 'null') {
    if (op !== 'eq' && op !== 'ne')
      throw new FilterError(`null at character ${literal.at} can only be compared with eq or ne`);
    return;
  }
  assertOperatorFits(op, path);
  const { spec } = path;
  const expected = expectedLiteral(spec);
  if (literal.type === expected) {
    if (
      spec.kind === 'string' &&
      spec.enumValues &&
      !spec.enumValues.includes(literal.value as string)
    ) {
      throw new FilterError(
        `${literal.text} at character ${literal.at} is not a valid ${path.text}; expected one ` +
          `of ${spec.enumValues.join(', ')}`,
      );
    }
    return;
  }
  throw new FilterError(literalMismatch(op, path, literal));
}

function expectedLiteral(spec: FieldSpec): LiteralType {
  if (spec.kind === 'string') return 'string';
  if (spec.kind === 'datetime') return 'datetime';
  if (spec.kind === 'number') return 'number';
  return 'boolean';
}

function literalMismatch(op: CompareOp, path: PathOperand, literal: LiteralOperand): string {
  const where = `at character ${literal.at}`;
  switch (path.spec.kind) {
    case 'datetime': {
      if (literal.type !== 'string')
        return (
          `${path.text} is a date-time, but ${literal.text} ${where} is not (write e.g. ` +
          `2025-01-01T00:00:00Z)`
        );
      const example = canonicalInstant(literal.value)
        ? String(literal.value)
        : '2025-01-01T00:00:00Z';
      return (
        `${path.text} is a date-time: write the literal unquoted, as in ${path.text} ${op}` +
        ` ${example}, not as the string ${literal.text} ${where}`
      );
    }
    case 'string':
      return (
        `${path.text} is a string: quote the literal ${literal.text} ${where} ('` +
        `${literal.text}')`
      );
    case 'number':
      return (
        `${path.text} is a number: write the literal ${literal.text} ${where} unquoted, ` +
        `as in ${path.text} ${op} 10000`
      );
    default:
      return (
        `${path.text} is a boolean: compare it with true or false, not ${literal.text} ` +
        `${where}`
      );
  }
}

// ---------------------------------------------------------------- evaluation

export type ReferralPredicate = (referral: unknown) => boolean;
type Scalar = string | number | boolean | null;
type Env = unknown[];
type Test = (root: unknown, env: Env) => boolean;
type Getter = (root: unknown, env: Env) => unknown;

/**
 * Compiles a parsed filter into a predicate over stored referrals (values of the wrong type count
 * as null).
 */
export function compileFilter(expr: FilterExpr): ReferralPredicate {
  const test = compileExpr(expr, []);
  return (referral) => test(referral, []);
}

function compileExpr(expr: FilterExpr, scopes: string[]): Test {
  switch (expr.kind) {
    case 'and': {
      const left = compileExpr(expr.left, scopes);
      const right = compileExpr(expr.right, scopes);
      return (root, env) => left(root, env) && right(root, env);
    }
    case 'or': {
      const left = compileExpr(expr.left, scopes);
      const right = compileExpr(expr.right, scopes);
      return (root, env) => left(root, env) || right(root, env);
    }
    case 'not': {
      const operand = compileExpr(expr.operand, scopes);
      return (root, env) => !operand(root, env);
    }
    case 'isTrue': {
      const value = compileOperand(expr.path, scopes);
      return (root, env) => value(root, env) === true;
    }
    case 'compare':
      return compileComparison(
        expr.op,
        compileOperand(expr.left, scopes),
        compileOperand(expr.right, scopes),
      );
    case 'any':
    case 'all':
      return compileLambda(expr, scopes);
  }
}

function compileLambda(expr: Extract<FilterExpr, { kind: 'any' | 'all' }>, scopes: string[]): Test {
  const items = pathGetter(expr.collection, scopes);
  const predicate =
    expr.predicate && expr.variable !== null
      ? compileExpr(expr.predicate, [...scopes, expr.variable])
      : null;
  const holds = (root: unknown, env: Env, item: unknown): boolean => {
    if (!predicate) return true;
    env.push(item);
    try {
      return predicate(root, env);
    } finally {
      env.pop();
    }
  };
  return expr.kind === 'any'
    ? (root, env) => {
        const list = items(root, env);
        return Array.isArray(list) && list.some((item) => holds(root, env, item));
      }
    : (root, env) => {
        const list = items(root, env);
        return !Array.isArray(list) || list.every((item) => holds(root, env, item));
      };
}

function compileComparison(op: CompareOp, left: Getter, right: Getter): Test {
  switch (op) {
    case 'eq':
      return (root, env) => left(root, env) === right(root, env);
    case 'ne':
      return (root, env) => left(root, env) !== right(root, env);
    default: {
      const holds = ORDERINGS[op];
      return (root, env) => {
        const a = left(root, env) as Ordered | null;
        const b = right(root, env) as Ordered | null;
        return a !== null && b !== null && holds(a, b);
      };
    }
  }
}

/** Typing guarantees both sides are strings (canonical date-times included) or both numbers. */
type Ordered = string | number;
const ORDERINGS: Readonly<Record<'gt' | 'ge' | 'lt' | 'le', (a: Ordered, b: Ordered) => boolean>> =
  {
    gt: (a, b) => a > b,
    ge: (a, b) => a >= b,
    lt: (a, b) => a < b,
    le: (a, b) => a <= b,
  };

function compileOperand(operand: Operand, scopes: string[]): Getter {
  if (operand.kind === 'literal') {
    const { value } = operand;
    return () => value;
  }
  const raw = pathGetter(operand, scopes);
  const coerce = COERCIONS[operand.spec.kind];
  return (root, env) => coerce(raw(root, env));
}

/** The raw value at a path (undefined when any step is missing or not an object). */
function pathGetter(path: PathOperand, scopes: string[]): Getter {
  const base = path.variable === null ? -1 : scopes.lastIndexOf(path.variable);
  const { segments } = path;
  return (root, env) => {
    let value: unknown = base < 0 ? root : env[base];
    for (const segment of segments) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
    return value;
  };
}

const COERCIONS: Readonly<Record<FieldSpec['kind'], (value: unknown) => Scalar>> = {
  string: (v) => (typeof v === 'string' ? v : null),
  datetime: (v) => canonicalInstant(v),
  number: (v) =>
    typeof v === 'number'
      ? v
      : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)
        ? Number(v)
        : null,
  boolean: (v) => (typeof v === 'boolean' ? v : null),
  object: () => null,
  collection: () => null,
};

// ---------------------------------------------------------------- index ranges

interface KeyBound {
  key: string;
  inclusive: boolean;
}

export interface KeyRange {
  lower: KeyBound | null;
  upper: KeyBound | null;
}

/**
 * Splits the top-level conjunction into bounds on one date-time field (which a sorted index can
 * answer with binary search) and the rest, which must still be evaluated item by item.
 */
export function splitKeyRange(
  expr: FilterExpr | null,
  field: string,
): { range: KeyRange; residual: FilterExpr | null } {
  const range: KeyRange = { lower: null, upper: null };
  const rest: FilterExpr[] = [];
  for (const term of conjuncts(expr)) {
    const bound = boundOn(term, field);
    if (!bound) rest.push(term);
    else {
      if (bound.lower) range.lower = tighter(range.lower, bound.lower, 1);
      if (bound.upper) range.upper = tighter(range.upper, bound.upper, -1);
    }
  }
  const residual = rest.reduce<FilterExpr | null>(
    (acc, term) => (acc ? { kind: 'and', left: acc, right: term } : term),
    null,
  );
  return { range, residual };
}

function conjuncts(expr: FilterExpr | null): FilterExpr[] {
  if (!expr) return [];
  return expr.kind === 'and' ? [...conjuncts(expr.left), ...conjuncts(expr.right)] : [expr];
}

function boundOn(term: FilterExpr, field: string): Partial<KeyRange> | null {
  if (term.kind !== 'compare') return null;
  const { left, right } = term;
  const isField = (o: Operand) =>
    o.kind === 'path' && o.variable === null && o.segments.length === 1 && o.segments[0] === field;
  const isInstant = (o: Operand) => o.kind === 'literal' && o.type === 'datetime';
  let op = term.op;
  let key: string;
  if (isField(left) && isInstant(right)) key = (right as LiteralOperand).value as string;
  else if (isField(right) && isInstant(left)) {
    key = (left as LiteralOperand).value as string;
    op = FLIPPED[op];
  } else return null;
  switch (op) {
    case 'ge':
    case 'gt':
      return { lower: { key, inclusive: op === 'ge' } };
    case 'le':
    case 'lt':
      return { upper: { key, inclusive: op === 'le' } };
    case 'eq':
      return { lower: { key, inclusive: true }, upper: { key, inclusive: true } };
    default:
      return null;
  }
}

/**
 * The stricter of two bounds: direction 1 keeps the higher lower bound, -1 the lower upper bound.
 */
function tighter(current: KeyBound | null, candidate: KeyBound, direction: 1 | -1): KeyBound {
  if (!current) return candidate;
  if (candidate.key === current.key)
    return { key: current.key, inclusive: current.inclusive && candidate.inclusive };
  return candidate.key > current.key === (direction === 1) ? candidate : current;
}
