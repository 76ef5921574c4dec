// Reads one field entry (source | template | const, transforms, nullWhenEmpty), shared by `fields:`
// and `status.acceptFields:`.
import type {
  FieldDefinition,
  LookupTable,
  TransformStep,
  ValueOrigin,
  ValuePath,
} from './definition.js';
import type { DocPath, IssueCollector } from './document.js';
import { suggest, type PathShape } from './paths.js';
import { parseTemplate } from './template.js';
import { parseTransform } from './transform-parse.js';
import { isScalar, show } from './transforms.js';

/** How the entries of one section read and check their paths. */
export interface FieldContext {
  parsePath(text: string): ValuePath | string;
  shapeOf(path: ValuePath): PathShape;
  lookups: Readonly<Record<string, LookupTable>>;
  nullWhenEmpty: boolean;
  /** Whether a list-valued source must be joined (CRM fields hold single values). */
  listsNeedJoin: boolean;
}

const FIELD_KEYS = ['source', 'template', 'const', 'transforms', 'nullWhenEmpty'];
const ORIGIN_KEYS = ['source', 'template', 'const'] as const;

/** A field is a mapping, or a plain text as shorthand for `{ source: <text> }`. */
export function parseField(
  name: string,
  raw: unknown,
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): FieldDefinition | null {
  const entry = typeof raw === 'string' ? { source: raw } : raw;
  if (!isRecord(entry)) {
    issues.add(
      at,
      `a field is a mapping with source, template or const (and transforms), got ${show(raw)}`,
    );
    return null;
  }
  const before = issues.issues.length;
  reportUnknownKeys(entry, FIELD_KEYS, at, issues);
  const origin = parseOrigin(entry, at, context, issues);
  const transforms = parseTransforms(
    entry['transforms'],
    [...at, 'transforms'],
    context.lookups,
    issues,
  );
  const nullWhenEmpty = entry['nullWhenEmpty'] ?? context.nullWhenEmpty;
  if (typeof nullWhenEmpty !== 'boolean')
    issues.add(
      [...at, 'nullWhenEmpty'],
      `nullWhenEmpty must be true or false, got ${show(nullWhenEmpty)}`,
    );
  if (origin && context.listsNeedJoin) checkListJoined(origin, transforms, at, context, issues);
  if (issues.issues.length > before || !origin || typeof nullWhenEmpty !== 'boolean') return null;
  return { name, origin, transforms, nullWhenEmpty };
}

function parseOrigin(
  entry: Record<string, unknown>,
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): ValueOrigin | null {
  const present = ORIGIN_KEYS.filter((key) => Object.hasOwn(entry, key));
  if (present.length === 0) {
    issues.add(at, 'needs one of source, template or const');
    return null;
  }
  if (present.length > 1) {
    issues.add(at, `use only one of source, template or const (found ${present.join(', ')})`);
    return null;
  }
  const key = present[0];
  if (key === 'const') {
    const value = entry['const'];
    if (isScalar(value)) return { kind: 'const', value };
    issues.add(
      [...at, 'const'],
      `const must be a text, number, boolean or null, got ${show(value)}`,
    );
    return null;
  }
  return key === 'template'
    ? parseTemplateOrigin(entry['template'], [...at, 'template'], context, issues)
    : parseSourceOrigin(entry['source'], [...at, 'source'], context, issues);
}

/** `source: a.b` or `source: [a.b, c.d]` (the first non-empty wins). */
function parseSourceOrigin(
  raw: unknown,
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): ValueOrigin | null {
  const texts = Array.isArray(raw) ? raw : [raw];
  if (texts.length === 0) {
    issues.add(at, 'source list is empty');
    return null;
  }
  const paths: ValuePath[] = [];
  texts.forEach((text, index) => {
    const where = Array.isArray(raw) ? [...at, index] : at;
    const path = readPath(text, where, context, issues);
    if (path) paths.push(path);
  });
  return paths.length === texts.length ? { kind: 'source', paths } : null;
}

function readPath(
  text: unknown,
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): ValuePath | null {
  if (typeof text !== 'string') {
    issues.add(at, `a source is a path text like customerProfile.name, got ${show(text)}`);
    return null;
  }
  const path = context.parsePath(text);
  if (typeof path === 'string') {
    issues.add(at, path);
    return null;
  }
  const shape = context.shapeOf(path);
  if (shape.kind === 'problem') {
    issues.add(at, shape.message);
    return null;
  }
  return path;
}

function parseTemplateOrigin(
  raw: unknown,
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): ValueOrigin | null {
  if (typeof raw !== 'string') {
    issues.add(at, `a template is a text with {{path}} placeholders, got ${show(raw)}`);
    return null;
  }
  const { template, problems } = parseTemplate(raw, context.parsePath);
  for (const message of problems) issues.add(at, message);
  let valid = problems.length === 0;
  for (const part of template.lines.flat()) {
    if (typeof part === 'string') continue;
    const shape = context.shapeOf(part);
    if (shape.kind === 'problem') {
      issues.add(at, `template placeholder {{${part.text}}}: ${shape.message}`);
      valid = false;
    }
  }
  return valid ? { kind: 'template', template } : null;
}

function parseTransforms(
  raw: unknown,
  at: DocPath,
  lookups: Readonly<Record<string, LookupTable>>,
  issues: IssueCollector,
): TransformStep[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const steps: TransformStep[] = [];
  list.forEach((item, index) => {
    const where = Array.isArray(raw) ? [...at, index] : at;
    const step = parseTransform(item, lookups);
    if (Array.isArray(step))
      for (const problem of step) issues.add([...where, ...problem.at], problem.message);
    else steps.push(step);
  });
  return steps;
}

/**
 * A CRM field holds one value, so a list source without a join would fail at every referral: say so
 * now.
 */
function checkListJoined(
  origin: ValueOrigin,
  transforms: readonly TransformStep[],
  at: DocPath,
  context: FieldContext,
  issues: IssueCollector,
): void {
  if (origin.kind !== 'source' || transforms.some((step) => step.transform === 'join')) return;
  const listed = origin.paths.find((path) => context.shapeOf(path).kind === 'list');
  if (listed)
    issues.add(
      [...at, 'source'],
      `${listed.text} is a list: add a join transform, e.g. { join: ", " }`,
    );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function reportUnknownKeys(
  entry: Record<string, unknown>,
  known: readonly string[],
  at: DocPath,
  issues: IssueCollector,
): void {
  for (const key of Object.keys(entry)) {
    if (!known.includes(key))
      issues.add(
        [...at, key],
        `unknown key "${key}"${suggest(key, known)} (expected ${known.join(', ')})`,
      );
  }
}
