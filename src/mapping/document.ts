// Reads a mapping file's YAML keeping line numbers, and collects validation issues as file:line:
// path: message.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
} from 'yaml';
import type { Issue } from '../core/errors.js';

/** A path inside the YAML document: mapping keys and list indexes. */
export type DocPath = ReadonlyArray<string | number>;

/** `fields.estimatedvalue.transforms[1]`, `status.declineReasons.map["Closed Lost"]`. */
export function formatDocPath(path: DocPath): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (/^[\w$-]+$/.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(key)}]`;
  }
  return text;
}

/** Every problem found in one file, each with the line of the node it is about. */
export class IssueCollector {
  readonly issues: Issue[] = [];
  constructor(
    private readonly file: string | null,
    private readonly lineOf: (path: DocPath) => number | undefined,
  ) {}

  add(path: DocPath, message: string): void {
    const line = this.lineOf(path);
    this.issues.push({
      path: formatDocPath(path),
      message,
      ...(this.file === null ? {} : { file: this.file }),
      ...(line === undefined ? {} : { line }),
    });
  }
}

export interface ParsedYaml {
  /** The document as plain data (null when the YAML itself is broken). */
  value: unknown;
  /** YAML syntax problems; when there are any, `value` is not worth validating. */
  syntaxIssues: Issue[];
  lineOf(path: DocPath): number | undefined;
}

export function readYaml(text: string, file: string | null): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (path: DocPath) => {
    const node = nodeAt(doc, path);
    return node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  };
  const syntaxIssues = syntaxProblems(doc, lineCounter, text.split('\n')).map((problem): Issue => ({
    path: '',
    ...problem,
    ...(file === null ? {} : { file }),
  }));
  return {
    value: syntaxIssues.length > 0 ? null : doc.toJS({ maxAliasCount: 1000 }),
    syntaxIssues,
    lineOf,
  };
}

/**
 * The node an issue at `path` is about (keys compared as text, so `4:` matches "4"); a missing tail
 * gives its
 * parent. A mapping or list value is reported at its key, the line an admin looks for.
 */
function nodeAt(doc: Document, path: DocPath): Node | null {
  let node: unknown = doc.contents;
  let key: unknown = null;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextKey: unknown = null;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      // An empty value (`trim:`) has no node of its own: point at its key.
      next = pair ? (pair.value ?? pair.key) : undefined;
      nextKey = pair?.key ?? null;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined || next === null) break;
    node = next;
    key = nextKey;
  }
  const atKey = key !== null && (isMap(node) || isSeq(node));
  return ((atKey ? key : node) ?? null) as Node | null;
}

// A path like team[0] inside a { } flow mapping is a YAML syntax error; the parser's own words do
// not say so.
const BRACKET_IN_FLOW_MAP = /\{[^}]*[\w.]\[/;
const FLOW_HINT =
  ' (inside { } put paths with [ ] in quotes, e.g. source: "customerProfile.team[0].email")';

/**
 * The first syntax error of each line (one slip makes the parser report a cascade), with a hint
 * where it helps.
 */
function syntaxProblems(
  doc: Document,
  lineCounter: LineCounter,
  lines: string[],
): Array<{ line: number; message: string }> {
  const seen = new Set<number>();
  const problems: Array<{ line: number; message: string }> = [];
  for (const error of doc.errors) {
    const line = error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line;
    if (seen.has(line)) continue;
    seen.add(line);
    const hint = BRACKET_IN_FLOW_MAP.test(lines[line - 1] ?? '') ? FLOW_HINT : '';
    problems.push({ line, message: `${firstLine(error.message)}${hint}` });
  }
  return problems;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
