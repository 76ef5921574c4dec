// A SOQL subset parser (SELECT ... FROM ... WHERE ... ORDER BY ... LIMIT ... OFFSET) with the
// platform's error messages.
import { parseDateOnly, parseDateTime } from './dates.js';

export interface FieldPath {
  /** The path as written, split on dots: `ConvertedOpportunity.StageName` → two parts. */
  parts: string[];
  text: string;
  offset: number;
}

export type Literal =
  | {
      kind: 'string';
      value: string;
      /** The text between the quotes, escapes kept (LIKE needs `\%`, `\_`). */ raw: string;
      offset: number;
    }
  | { kind: 'number'; value: number; offset: number }
  | { kind: 'boolean'; value: boolean; offset: number }
  | { kind: 'null'; offset: number }
  | { kind: 'date'; value: string; offset: number }
  | { kind: 'datetime'; value: number; offset: number };

type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and'; operands: Condition[] }
  | { kind: 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; field: FieldPath; operator: ComparisonOperator; value: Literal }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: Literal[] }
  | { kind: 'like'; field: FieldPath; pattern: Extract<Literal, { kind: 'string' }> };

export interface OrderItem {
  field: FieldPath;
  descending: boolean;
  /**
   * Nulls sort first in ascending order and last in descending order unless NULLS FIRST / LAST says
   * otherwise.
   */
  nullsLast: boolean;
}

export interface SoqlQuery {
  select: { kind: 'count' } | { kind: 'fields'; fields: FieldPath[] };
  from: { name: string; offset: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

export type SoqlErrorCode =
  | 'MALFORMED_QUERY'
  | 'INVALID_FIELD'
  | 'INVALID_TYPE'
  | 'INVALID_QUERY_FILTER_OPERATOR'
  | 'NUMBER_OUTSIDE_VALID_RANGE';

/**
 * A refused query; `message` points at the problem as the platform does (excerpt, caret, row and
 * column).
 */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: SoqlErrorCode,
    readonly detail: string,
    readonly offset: number,
    soql: string,
  ) {
    super(formatSoqlProblem(soql, offset, detail));
  }
}

/** `<line>\n   ^\nERROR at Row:R:Column:C\n<detail>`, the layout of Salesforce's query errors. */
export function formatSoqlProblem(soql: string, offset: number, detail: string): string {
  const before = soql.slice(0, offset).split('\n');
  const row = before.length;
  const column = (before[before.length - 1] ?? '').length + 1;
  const line = soql.split('\n')[row - 1] ?? '';
  return `${line}\n${' '.repeat(column - 1)}^\nERROR at Row:${row}:Column:${column}\n${detail}`;
}

type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'symbol' | 'eof' | 'invalid';

interface Token {
  kind: TokenKind;
  text: string;
  offset: number;
  /** string: unescaped value; number / datetime: numeric value; date: YYYY-MM-DD. */
  value?: string | number;
  raw?: string;
  /** Why an invalid token is invalid. */
  problem?: string;
}

const STRING_ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  '%': '%',
  _: '_',
};
const SYMBOLS = ['!=', '<>', '<=', '>=', '=', '<', '>', ',', '(', ')', '.'];
const DATETIME_AT = /\d{4}-\d{2}-\d{2}T[0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?/y;
const DATE_AT = /\d{4}-\d{2}-\d{2}(?![\w])/y;
const NUMBER_AT = /-?\d+(?:\.\d+)?(?![\w.])/y;
const IDENT_AT = /[A-Za-z_][A-Za-z0-9_]*/y;

function matchAt(pattern: RegExp, text: string, at: number): string | null {
  pattern.lastIndex = at;
  const m = pattern.exec(text);
  return m ? m[0] : null;
}

/**
 * Splits SOQL into tokens; a bad literal becomes an `invalid` token so the parser reports problems
 * in order.
 */
function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < soql.length) {
    const ch = soql.charAt(at);
    if (/\s/.test(ch)) {
      at++;
      continue;
    }
    const token =
      ch === "'"
        ? readString(soql, at)
        : /[\d-]/.test(ch)
          ? readNumeric(soql, at)
          : readWordOrSymbol(soql, at);
    tokens.push(token);
    at += token.text.length;
  }
  tokens.push({ kind: 'eof', text: '', offset: soql.length });
  return tokens;
}

function readString(soql: string, start: number): Token {
  let value = '';
  let at = start + 1;
  while (at < soql.length) {
    const ch = soql.charAt(at);
    if (ch === "'") {
      const text = soql.slice(start, at + 1);
      return { kind: 'string', text, offset: start, value, raw: text.slice(1, -1) };
    }
    if (ch === '\\') {
      const next = soql.charAt(at + 1);
      const escaped = STRING_ESCAPES[next];
      if (escaped === undefined) {
        const text = soql.slice(start, at + 2);
        return {
          kind: 'invalid',
          text,
          offset: start,
          problem:
            `Invalid string literal ${text}... Illegal character sequence '\\${next}' ` +
            `in string literal.`,
        };
      }
      value += escaped;
      at += 2;
      continue;
    }
    value += ch;
    at++;
  }
  return {
    kind: 'invalid',
    text: soql.slice(start),
    offset: start,
    problem: 'unterminated string literal: a closing quote is missing',
  };
}

function readNumeric(soql: string, start: number): Token {
  const datetime = matchAt(DATETIME_AT, soql, start);
  if (datetime) {
    const ms = parseDateTime(datetime);
    if (ms === null)
      return {
        kind: 'invalid',
        text: datetime,
        offset: start,
        problem: `invalid date time literal: ${datetime}`,
      };
    return { kind: 'datetime', text: datetime, offset: start, value: ms };
  }
  const date = matchAt(DATE_AT, soql, start);
  if (date) {
    if (parseDateOnly(date) === null)
      return {
        kind: 'invalid',
        text: date,
        offset: start,
        problem: `invalid date literal: ${date}`,
      };
    return { kind: 'date', text: date, offset: start, value: date };
  }
  const number = matchAt(NUMBER_AT, soql, start);
  if (number) return { kind: 'number', text: number, offset: start, value: Number(number) };
  const text = matchAt(/[\w.-]+/y, soql, start) ?? soql.charAt(start);
  return { kind: 'invalid', text, offset: start, problem: `unexpected token: '${text}'` };
}

function readWordOrSymbol(soql: string, start: number): Token {
  const ident = matchAt(IDENT_AT, soql, start);
  if (ident) return { kind: 'ident', text: ident, offset: start };
  const symbol = SYMBOLS.find((s) => soql.startsWith(s, start));
  if (symbol) return { kind: 'symbol', text: symbol, offset: start };
  const ch = soql.charAt(start);
  return { kind: 'invalid', text: ch, offset: start, problem: `unexpected token: '${ch}'` };
}

const RESERVED = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'order',
  'by',
  'limit',
  'offset',
  'asc',
  'desc',
  'nulls',
  'null',
  'true',
  'false',
  'group',
  'having',
  'with',
  'for',
  'using',
  'includes',
  'excludes',
]);

class Parser {
  private readonly tokens: Token[];
  private at = 0;

  constructor(private readonly soql: string) {
    this.tokens = tokenize(soql);
  }

  parse(): SoqlQuery {
    this.expectKeyword('SELECT');
    const select = this.parseSelectList();
    this.expectKeyword('FROM');
    const fromToken = this.expectIdentifier();
    const query: SoqlQuery = {
      select,
      from: { name: fromToken.text, offset: fromToken.offset },
      orderBy: [],
    };
    if (this.acceptKeyword('WHERE')) query.where = this.parseCondition();
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      query.orderBy = this.parseOrderBy();
    }
    if (this.acceptKeyword('LIMIT')) query.limit = this.expectInteger('LIMIT');
    if (this.acceptKeyword('OFFSET')) query.offset = this.expectInteger('OFFSET');
    if (this.peek().kind !== 'eof') this.fail(this.peek());
    return query;
  }

  private parseSelectList(): SoqlQuery['select'] {
    const first = this.peek();
    if (
      first.kind === 'ident' &&
      first.text.toLowerCase() === 'count' &&
      this.peek(1).text === '('
    ) {
      this.at += 2;
      if (this.peek().text !== ')')
        throw this.problem(
          'MALFORMED_QUERY',
          'only COUNT() is supported: aggregate functions are not',
          this.peek().offset,
        );
      this.at++;
      return { kind: 'count' };
    }
    const fields = [this.parseFieldPath()];
    while (this.acceptSymbol(',')) fields.push(this.parseFieldPath());
    return { kind: 'fields', fields };
  }

  private parseFieldPath(): FieldPath {
    const first = this.expectIdentifier();
    const parts = [first.text];
    while (this.peek().text === '.' && this.peek().kind === 'symbol') {
      this.at++;
      parts.push(this.expectIdentifier().text);
    }
    return { parts, text: parts.join('.'), offset: first.offset };
  }

  /** AND and OR may not be mixed at one level without parentheses, as in SOQL. */
  private parseCondition(): Condition {
    const first = this.parseUnary();
    const joiner = this.peekKeyword('AND') ? 'AND' : this.peekKeyword('OR') ? 'OR' : null;
    if (!joiner) return first;
    const operands = [first];
    while (this.acceptKeyword(joiner)) operands.push(this.parseUnary());
    if (this.peekKeyword(joiner === 'AND' ? 'OR' : 'AND')) this.fail(this.peek());
    return { kind: joiner === 'AND' ? 'and' : 'or', operands };
  }

  private parseUnary(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.parseUnary() };
    if (this.acceptSymbol('(')) {
      const inner = this.parseCondition();
      this.expectSymbol(')');
      return inner;
    }
    return this.parseSimpleCondition();
  }

  private parseSimpleCondition(): Condition {
    const field = this.parseFieldPath();
    const token = this.peek();
    if (token.kind === 'symbol' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(token.text)) {
      this.at++;
      const operator = (token.text === '<>' ? '!=' : token.text) as ComparisonOperator;
      return { kind: 'compare', field, operator, value: this.parseLiteral() };
    }
    if (this.acceptKeyword('LIKE')) {
      const pattern = this.parseLiteral();
      if (pattern.kind !== 'string')
        throw this.problem(
          'MALFORMED_QUERY',
          'LIKE needs a string literal in single quotes',
          pattern.offset,
        );
      return { kind: 'like', field, pattern };
    }
    const negated = this.peekKeyword('NOT') && this.peek(1).text.toLowerCase() === 'in';
    if (negated) this.at++;
    if (this.acceptKeyword('IN'))
      return { kind: 'in', field, negated, values: this.parseLiteralList() };
    return this.fail(token);
  }

  private parseLiteralList(): Literal[] {
    this.expectSymbol('(');
    const values = [this.parseLiteral()];
    while (this.acceptSymbol(',')) values.push(this.parseLiteral());
    this.expectSymbol(')');
    return values;
  }

  private parseLiteral(): Literal {
    const token = this.peek();
    const { offset } = token;
    const word = token.kind === 'ident' ? token.text.toLowerCase() : '';
    let literal: Literal | undefined;
    if (token.kind === 'string')
      literal = { kind: 'string', value: String(token.value), raw: token.raw ?? '', offset };
    else if (token.kind === 'number')
      literal = { kind: 'number', value: Number(token.value), offset };
    else if (token.kind === 'date') literal = { kind: 'date', value: String(token.value), offset };
    else if (token.kind === 'datetime')
      literal = { kind: 'datetime', value: Number(token.value), offset };
    else if (word === 'true' || word === 'false')
      literal = { kind: 'boolean', value: word === 'true', offset };
    else if (word === 'null') literal = { kind: 'null', offset };
    if (!literal) return this.fail(token);
    this.at++;
    return literal;
  }

  private parseOrderBy(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const field = this.parseFieldPath();
      const descending = this.acceptKeyword('DESC');
      if (!descending) this.acceptKeyword('ASC');
      let nullsLast = descending;
      if (this.acceptKeyword('NULLS')) {
        if (this.acceptKeyword('LAST')) nullsLast = true;
        else if (this.acceptKeyword('FIRST')) nullsLast = false;
        else this.fail(this.peek());
      }
      items.push({ field, descending, nullsLast });
    } while (this.acceptSymbol(','));
    return items;
  }

  private expectInteger(clause: string): number {
    const token = this.peek();
    if (token.kind !== 'number' || !Number.isInteger(token.value) || Number(token.value) < 0) {
      if (token.kind === 'invalid' || token.kind === 'eof') this.fail(token);
      throw this.problem(
        'MALFORMED_QUERY',
        `${clause} must be a non-negative integer, found: '${token.text}'`,
        token.offset,
      );
    }
    this.at++;
    return Number(token.value);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)] as Token;
  }

  private peekKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'ident' && token.text.toUpperCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.peekKeyword(word)) return false;
    this.at++;
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) this.fail(this.peek());
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.peek();
    if (token.kind !== 'symbol' || token.text !== symbol) return false;
    this.at++;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(this.peek());
  }

  private expectIdentifier(): Token {
    const token = this.peek();
    if (token.kind !== 'ident' || RESERVED.has(token.text.toLowerCase())) this.fail(token);
    this.at++;
    return token;
  }

  /**
   * Refuses the query at this token: its own problem for a bad literal, "unexpected token"
   * otherwise.
   */
  private fail(token: Token): never {
    if (token.kind === 'invalid')
      throw this.problem(
        'MALFORMED_QUERY',
        token.problem ?? `unexpected token: '${token.text}'`,
        token.offset,
      );
    if (token.kind === 'eof')
      throw this.problem('MALFORMED_QUERY', 'unexpected token: <EOF>', token.offset);
    throw this.problem('MALFORMED_QUERY', `unexpected token: '${token.text}'`, token.offset);
  }

  private problem(code: SoqlErrorCode, detail: string, offset: number): SoqlError {
    return new SoqlError(code, detail, offset, this.soql);
  }
}

/**
 * Parses one SOQL statement of the supported subset; throws SoqlError (MALFORMED_QUERY) on a syntax
 * problem.
 */
export function parseSoql(soql: string): SoqlQuery {
  return new Parser(soql).parse();
}
