// The field-mapping engine's public API: parse and validate a mapping file, then map referrals with
// it.
import { readFile } from 'node:fs/promises';
import { ValidationError, type Issue } from '../core/errors.js';
import type { MappingDefinition, ValueOrigin } from './definition.js';
import { IssueCollector, readYaml, type DocPath } from './document.js';
import { mapReferral, type MapResult, type MappingInput } from './engine.js';
import { canonicalJson, sha256Hex } from './hash.js';
import { COMPUTED_VALUE_INPUTS, formatSegments } from './paths.js';
import { readOutcome, type CrmRecordView, type OutcomeReading } from './status.js';
import { buildDefinition } from './validate.js';

export type { FieldTrace, MappingInput } from './engine.js';
export type * from './definition.js';
export { CRM_OUTCOMES } from './definition.js';
export type { CrmRecordView, OutcomeReading } from './status.js';
export { ruleMatches } from './status.js';
export { stableHash } from './hash.js';
export { describeOrigin } from './engine.js';
export { describeTransform } from './transforms.js';
export { buildCoSellReferral, type CoSellBuild } from './cosell.js';
export interface CompiledMapping {
  /**
   * sha256 of the normalised file content (its data as canonical JSON: comments and layout do not
   * count), first 12 hex.
   */
  readonly version: string;
  readonly target: string;
  readonly entity: string;
  readonly file: string | null;
  readonly definition: MappingDefinition;
  /** Maps one referral; never throws for bad data (every field error is in the result). */
  map(input: MappingInput): MapResult;
  /**
   * The referral paths this mapping reads (computed values count as the fields they derive from),
   * sorted.
   */
  referralPaths(): string[];
  /**
   * What a linked CRM record says (outcome, reason, accept fields), per the `status:` section;
   * outcome null without one.
   */
  readOutcome(view: CrmRecordView): OutcomeReading;
  /**
   * The line in the mapping file of what `path` names (`['fields', 'email']`), for issues found
   * after parsing (CRM
   * metadata checks); a path that is not in the file gives its nearest written parent.
   */
  lineOf?(path: DocPath): number | undefined;
}

/**
 * Parses and validates a mapping; throws ValidationError('MAPPING_INVALID') listing every problem
 * with file, line and path.
 */
export function parseMapping(text: string, file: string | null = null): CompiledMapping {
  const title = `mapping ${file ?? '(inline)'} is invalid`;
  const yaml = readYaml(text, file);
  if (yaml.syntaxIssues.length > 0)
    throw new ValidationError('MAPPING_INVALID', title, yaml.syntaxIssues);
  const issues = new IssueCollector(file, yaml.lineOf);
  const definition = buildDefinition(yaml.value, issues);
  if (!definition || issues.issues.length > 0)
    throw new ValidationError('MAPPING_INVALID', title, inFileOrder(issues.issues));
  return compile(definition, sha256Hex(canonicalJson(yaml.value)).slice(0, 12), file, yaml.lineOf);
}

export async function loadMapping(file: string): Promise<CompiledMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code ??
      (error instanceof Error ? error.message : String(error));
    throw new ValidationError('MAPPING_INVALID', `mapping ${file} cannot be read`, [
      { file, path: '', message: `cannot read the file (${reason})` },
    ]);
  }
  return parseMapping(text, file);
}

/** Issues sorted by line (stable, so problems on one line keep the order they were found in). */
function inFileOrder(issues: Issue[]): Issue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.index - b.index)
    .map(({ issue }) => issue);
}

function compile(
  definition: MappingDefinition,
  version: string,
  file: string | null,
  lineOf: (path: DocPath) => number | undefined,
): CompiledMapping {
  const paths = collectReferralPaths(definition);
  return {
    version,
    target: definition.target,
    entity: definition.entity,
    file,
    definition,
    map: (input) => mapReferral(definition, input),
    referralPaths: () => [...paths],
    readOutcome: (view) =>
      definition.status
        ? readOutcome(definition.status, definition.defaults, view)
        : { outcome: null, rule: null, reason: null, acceptFields: null, errors: [], trace: [] },
    lineOf,
  };
}

function collectReferralPaths(definition: MappingDefinition): string[] {
  const found = new Set<string>();
  const addOrigin = (origin: ValueOrigin, rooted: boolean) => {
    const paths =
      origin.kind === 'source'
        ? origin.paths
        : origin.kind === 'template'
          ? origin.template.lines.flat().filter((part) => typeof part !== 'string')
          : [];
    for (const path of paths) {
      if (path.computed) COMPUTED_VALUE_INPUTS[path.computed].forEach((input) => found.add(input));
      else if (!rooted) found.add(path.text);
      else if (path.segments[0] && 'key' in path.segments[0] && path.segments[0].key === 'referral')
        found.add(formatSegments(path.segments.slice(1)));
    }
  };
  for (const field of Object.values(definition.fields)) addOrigin(field.origin, false);
  for (const field of Object.values(definition.status?.acceptFields ?? {}))
    addOrigin(field.origin, true);
  return [...found].sort();
}
