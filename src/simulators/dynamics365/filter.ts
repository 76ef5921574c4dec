// $filter for the simulator: comparisons, and/or/not, parentheses, contains/startswith/endswith,
// typed literals, checked names.
import { odataError, unknownQueryProperty } from './errors.js';
import { GUID_PATTERN } from './paths.js';
import { edmType, type ColumnSpec, type TableSpec } from './schema.js';
import { isDateOnly, type Row, type RowValue } from './values.js';

export type RowPredicate = (row: Row) => boolean;

type LiteralKind = 'string' | 'number' | 'boolean' | 'null' | 'datetime' | 'date' | 'guid';

interface Literal {
  kind: LiteralKind;
  /** The comparable form: lower-cased strings and GUIDs, canonical UTC ISO text for date-times. */
  value: string | number | boolean | null;
}

type Token = {
  type: 'word' | 'string' | 'open' | 'close' | 'comma';
  text: string;
  position: number;
};

const COMPARISONS: Record<string, { name: string; test: (order: number) => boolean }> = {
  eq: { name: 'Equal', test: (order) => order === 0 },
  ne: { name: 'NotEqual', test: (order) => order !== 0 },
  gt: { name: 'GreaterThan', test: (order) => order > 0 },
  ge: { name: 'GreaterThanOrEqual', test: (order) => order >= 0 },
  lt: { name: 'LessThan', test: (order) => order < 0 },
  le: { name: 'LessThanOrEqual', test: (order) => order <= 0 },
};
const MIRRORED: Record<string, string> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  ge: 'le',
  lt: 'gt',
  le: 'ge',
};
const STRING_FUNCTIONS: Record<string, (value: string, literal: string) => boolean> = {
  contains: (value, literal) => value.includes(literal),
  startswith: (value, literal) => value.startsWith(literal),
  endswith: (value, literal) => value.endsWith(literal),
};
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?$/;

/**
 * Compiles a $filter expression into a row predicate; every problem is a 400 naming what and where.
 */
export function compileFilter(table: TableSpec, expression: string): RowPredicate {
  const parser = new FilterParser(table, expression);
  const predicate = parser.parseOr();
  parser.expectEnd();
  return predicate;
}

/**
 * Comparable form of a stored value, matching how literals are normalised: strings compare
 * case-insensitively;
 * GUIDs are stored lower-case and date-times as canonical UTC ISO strings, whose text order is
 * their time order.
 */
export function comparable(
  column: ColumnSpec,
  value: RowValue | undefined,
): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (column.type === 'string' && typeof value === 'string') return value.toLowerCase();
  return value;
}

/** Orders two comparable values (nulls first, as SQL Server sorts them). */
export function compareValues(
  a: string | number | boolean | null,
  b: string | number | boolean | null,
): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

class FilterParser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(
    private readonly table: TableSpec,
    private readonly expression: string,
  ) {
    this.tokens = tokenize(expression);
  }

  parseOr(): RowPredicate {
    const terms = [this.parseAnd()];
    while (this.peekWord('or')) {
      this.index++;
      terms.push(this.parseAnd());
    }
    return terms.length === 1
      ? (terms[0] as RowPredicate)
      : (row) => terms.some((term) => term(row));
  }

  expectEnd(): void {
    const token = this.tokens[this.index];
    if (token) throw this.syntaxError(token.position);
  }

  private parseAnd(): RowPredicate {
    const terms = [this.parseUnary()];
    while (this.peekWord('and')) {
      this.index++;
      terms.push(this.parseUnary());
    }
    return terms.length === 1
      ? (terms[0] as RowPredicate)
      : (row) => terms.every((term) => term(row));
  }

  private parseUnary(): RowPredicate {
    if (this.peekWord('not')) {
      this.index++;
      const inner = this.parseUnary();
      return (row) => !inner(row);
    }
    const token = this.next();
    if (token.type === 'open') {
      const inner = this.parseOr();
      this.expect('close');
      return inner;
    }
    if (token.type === 'word' && this.tokens[this.index]?.type === 'open')
      return this.parseFunction(token);
    return this.parseComparison(token);
  }

  private parseFunction(name: Token): RowPredicate {
    const test = STRING_FUNCTIONS[name.text.toLowerCase()];
    if (!test)
      throw odataError(
        `An unknown function with name '${name.text}' was found in $filter at position ` +
          `${name.position}.`,
      );
    this.expect('open');
    const [property, column] = this.property(this.next());
    this.expect('comma');
    const literal = this.literal(this.next());
    this.expect('close');
    if (column.type !== 'string' || literal.kind !== 'string') {
      throw odataError(
        `The function '${name.text}' needs a string column and a string literal; '${property}' ` +
          `is ${edmType(column)}.`,
      );
    }
    const needle = literal.value as string;
    return (row) => {
      const value = row[property];
      return typeof value === 'string' && test(value.toLowerCase(), needle);
    };
  }

  private parseComparison(first: Token): RowPredicate {
    const operator = this.next();
    const opName = operator.text.toLowerCase();
    if (operator.type !== 'word' || !COMPARISONS[opName]) throw this.syntaxError(operator.position);
    const second = this.next();
    const firstIsProperty = this.isProperty(first);
    if (firstIsProperty === this.isProperty(second)) {
      throw odataError(
        `The simulator compares a column with a literal; '${first.text} ${operator.text} ` +
          `${second.text}' at position ${first.position} is not of that form.`,
      );
    }
    const [propertyToken, literalToken, op] = firstIsProperty
      ? [first, second, opName]
      : [second, first, MIRRORED[opName] as string];
    const [property, column] = this.property(propertyToken);
    const literal = this.literal(literalToken);
    checkCompatible(column, literal, COMPARISONS[op]?.name ?? op);
    return comparisonPredicate(property, column, op, literal);
  }

  private isProperty(token: Token): boolean {
    return (
      token.type === 'word' &&
      /^[A-Za-z_][A-Za-z0-9_]*$/.test(token.text) &&
      !['null', 'true', 'false'].includes(token.text)
    );
  }

  private property(token: Token): [string, ColumnSpec] {
    if (!this.isProperty(token)) throw this.syntaxError(token.position);
    const column = this.table.columns[token.text];
    if (!column) throw unknownQueryProperty(this.table, token.text);
    return [token.text, column];
  }

  private literal(token: Token): Literal {
    if (token.type === 'string') return { kind: 'string', value: token.text.toLowerCase() };
    if (token.type !== 'word') throw this.syntaxError(token.position);
    const text = token.text;
    if (text === 'null') return { kind: 'null', value: null };
    if (text === 'true' || text === 'false') return { kind: 'boolean', value: text === 'true' };
    if (GUID_PATTERN.test(text)) return { kind: 'guid', value: text.toLowerCase() };
    if (DATETIME.test(text) && !Number.isNaN(Date.parse(text)))
      return { kind: 'datetime', value: new Date(Date.parse(text)).toISOString() };
    if (isDateOnly(text)) return { kind: 'date', value: text };
    if (NUMBER.test(text))
      return { kind: 'number', value: Number(text.replace(/[mMdDfFlL]$/, '')) };
    throw odataError(
      `Syntax error: '${text}' at position ${token.position} in '${this.expression}' is not a ` +
        `valid literal.`,
    );
  }

  private peekWord(word: string): boolean {
    const token = this.tokens[this.index];
    return token?.type === 'word' && token.text.toLowerCase() === word;
  }

  private next(): Token {
    const token = this.tokens[this.index++];
    if (!token) throw this.syntaxError(this.expression.length);
    return token;
  }

  private expect(type: Token['type']): void {
    const token = this.next();
    if (token.type !== type) throw this.syntaxError(token.position);
  }

  private syntaxError(position: number): Error {
    return odataError(`Syntax error at position ${position} in '${this.expression}'.`);
  }
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < expression.length) {
    const char = expression[index] as string;
    if (/\s/.test(char)) {
      index++;
    } else if (char === '(' || char === ')' || char === ',') {
      tokens.push({
        type: char === '(' ? 'open' : char === ')' ? 'close' : 'comma',
        text: char,
        position: index,
      });
      index++;
    } else if (char === "'") {
      index = readString(expression, index, tokens);
    } else {
      const start = index;
      while (index < expression.length && !/[\s(),']/.test(expression[index] as string)) index++;
      tokens.push({ type: 'word', text: expression.slice(start, index), position: start });
    }
  }
  return tokens;
}

/** A quoted literal with quotes doubled inside; returns the index after it. */
function readString(expression: string, start: number, tokens: Token[]): number {
  let value = '';
  for (let index = start + 1; index < expression.length; index++) {
    const char = expression[index];
    if (char === "'" && expression[index + 1] === "'") {
      value += "'";
      index++;
    } else if (char === "'") {
      tokens.push({ type: 'string', text: value, position: start });
      return index + 1;
    } else {
      value += char;
    }
  }
  throw odataError(
    `Syntax error: the string literal at position ${start} in '${expression}' is not closed.`,
  );
}

const ACCEPTED_LITERALS: Record<ColumnSpec['type'], LiteralKind[]> = {
  guid: ['guid'],
  lookup: ['guid'],
  string: ['string'],
  money: ['number'],
  picklist: ['number'],
  state: ['number'],
  status: ['number'],
  bigint: ['number'],
  boolean: ['boolean'],
  datetime: ['datetime'],
  date: ['date'],
};

const LITERAL_TYPES: Record<LiteralKind, string> = {
  string: 'Edm.String',
  number: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
  null: 'null',
  datetime: 'Edm.DateTimeOffset',
  date: 'Edm.Date',
  guid: 'Edm.Guid',
};

function checkCompatible(column: ColumnSpec, literal: Literal, operatorName: string): void {
  if (literal.kind === 'null' || ACCEPTED_LITERALS[column.type].includes(literal.kind)) return;
  throw odataError(
    `A binary operator with incompatible types was detected. Found operand types '` +
      `${edmType(column)}' and '${LITERAL_TYPES[literal.kind]}' for operator kind '` +
      `${operatorName}'.`,
  );
}

/**
 * SQL semantics: a null column matches only `eq null` / `ne null`; other comparisons with null are
 * false.
 */
function comparisonPredicate(
  property: string,
  column: ColumnSpec,
  op: string,
  literal: Literal,
): RowPredicate {
  if (literal.kind === 'null') {
    if (op === 'eq') return (row) => row[property] === null || row[property] === undefined;
    if (op === 'ne') return (row) => row[property] !== null && row[property] !== undefined;
    return () => false;
  }
  const test = (COMPARISONS[op] as { test: (order: number) => boolean }).test;
  return (row) => {
    const value = comparable(column, row[property]);
    return value !== null && test(compareValues(value, literal.value));
  };
}
