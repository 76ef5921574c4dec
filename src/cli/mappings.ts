// `leadbridge mappings check`: each target's mapping against its CRM's real metadata; reads only.
import type { TargetConfig } from '../config/index.js';
import { formatIssue, LeadbridgeError, ValidationError, type Issue } from '../core/errors.js';
import type { CrmAdapter, CrmEntityMetadata } from '../crm/adapter.js';
import type { CompiledMapping } from '../mapping/index.js';
import { checkMappingAgainstMetadata } from '../mapping/metadata.js';
import {
  enabledOrNamedTargets,
  mappingOf,
  shown,
  unreachable,
  withAdapter,
  withShownFiles,
  type MappingsCommandOptions,
} from './mappings-targets.js';

export type TargetCheck =
  | { target: string; file: string; status: 'ok'; version: string; fields: number }
  | { target: string; file: string; status: 'invalid'; issues: Issue[] }
  | { target: string; file: string; status: 'unreachable'; error: LeadbridgeError };

/**
 * Parses each selected target's mapping and checks it against the CRM's metadata for the mapping's
 * entity.
 */
export async function checkMappings(options: MappingsCommandOptions): Promise<TargetCheck[]> {
  const targets = enabledOrNamedTargets(options.config, options.target);
  return Promise.all(targets.map((target) => checkTarget(target, options)));
}

async function checkTarget(
  target: TargetConfig,
  options: MappingsCommandOptions,
): Promise<TargetCheck> {
  const file = shown(target.mapping, options.cwd);
  let mapping: CompiledMapping;
  try {
    mapping = await mappingOf(target, options.cwd);
  } catch (error) {
    if (error instanceof ValidationError)
      return { target: target.name, file, status: 'invalid', issues: error.issues };
    throw error;
  }
  let metadata: CrmEntityMetadata | null;
  let opportunity: CrmEntityMetadata | null = null;
  try {
    metadata = await withAdapter(target, options.logger, (adapter) =>
      describeOrNull(adapter, mapping.entity, options.signal),
    );
    // coSell names opportunity fields: the CRM's opportunity entity, spelt like the mapping's.
    if (mapping.definition.coSell) {
      const entity = /^[A-Z]/.test(mapping.entity) ? 'Opportunity' : 'opportunity';
      opportunity = await withAdapter(target, options.logger, (adapter) =>
        describeOrNull(adapter, entity, options.signal),
      );
    }
  } catch (error) {
    return {
      target: target.name,
      file,
      status: 'unreachable',
      error: unreachable(target, `read the ${mapping.entity} metadata`, error),
    };
  }
  const line = mapping.lineOf?.(['entity']);
  const issues = metadata
    ? [
        ...checkMappingAgainstMetadata(mapping, metadata),
        ...(opportunity
          ? checkMappingAgainstMetadata(mapping, opportunity, { coSellOnly: true })
          : []),
      ]
    : [
        {
          file: mapping.file ?? file,
          path: 'entity',
          message: `the CRM has no entity "${mapping.entity}"`,
          ...(line ? { line } : {}),
        },
      ];
  if (issues.length > 0)
    return {
      target: target.name,
      file,
      status: 'invalid',
      issues: withShownFiles(issues, options.cwd),
    };
  return {
    target: target.name,
    file,
    status: 'ok',
    version: mapping.version,
    fields: Object.keys(mapping.definition.fields).length,
  };
}

/**
 * The entity's metadata, or null when the CRM has no such entity (a mapping problem, not an
 * outage).
 */
async function describeOrNull(
  adapter: CrmAdapter,
  entity: string,
  signal: AbortSignal | undefined,
): Promise<CrmEntityMetadata | null> {
  if (!adapter.describeEntity)
    throw new LeadbridgeError('INTERNAL', `the ${adapter.kind} adapter cannot read CRM metadata`);
  try {
    return await adapter.describeEntity(entity, { signal });
  } catch (error) {
    if (error instanceof LeadbridgeError && error.code === 'NOT_FOUND') return null;
    throw error;
  }
}

/**
 * One line per target: `<target>: <file> OK (version <v>, N fields)`, or how many issues / why it
 * could not be checked.
 */
function formatCheck(checks: readonly TargetCheck[]): string {
  return checks
    .map((check) => {
      if (check.status === 'ok')
        return (
          `${check.target}: ${check.file} OK (version ${check.version}, ${check.fields}` +
          ` fields)\n`
        );
      if (check.status === 'invalid')
        return (
          `${check.target}: ${check.file} INVALID (${check.issues.length} ` +
          `${check.issues.length === 1 ? 'issue' : 'issues'})\n`
        );
      return `${check.target}: ${check.file} NOT CHECKED (the CRM cannot be reached)\n`;
    })
    .join('');
}

/**
 * The error a failed check ends with: a CRM out of reach (exit 1) before mapping issues
 * (MAPPING_INVALID, exit 2).
 */
function checkFailure(checks: readonly TargetCheck[]): LeadbridgeError | null {
  const issues = checks.flatMap((check) => (check.status === 'invalid' ? check.issues : []));
  const down = checks.filter(
    (check): check is Extract<TargetCheck, { status: 'unreachable' }> =>
      check.status === 'unreachable',
  );
  const first = down[0];
  if (first) {
    const also =
      issues.length > 0
        ? `\nand the mappings have issues:\n${issues
            .map((issue) => `  - ${formatIssue(issue)}` + ``)
            .join('\n')}`
        : '';
    return new LeadbridgeError(
      first.error.code,
      `${down.map((check) => check.error.message).join('\n')}${also}`,
      { cause: first.error },
    );
  }
  if (issues.length === 0) return null;
  const targets = checks.filter((check) => check.status === 'invalid').map((check) => check.target);
  return new ValidationError(
    'MAPPING_INVALID',
    `mappings check: ${issues.length} ${issues.length === 1 ? 'issue' : 'issues'} (` +
      `${targets.join(', ')})`,
    issues,
  );
}

/**
 * Prints the per-target lines, then throws when anything failed (every issue at once, each with
 * file:line).
 */
export async function runMappingsCheck(options: MappingsCommandOptions): Promise<TargetCheck[]> {
  const checks = await checkMappings(options);
  options.out.write(formatCheck(checks));
  const failure = checkFailure(checks);
  if (failure) throw failure;
  return checks;
}

/**
 * Before a command writes anything: every enabled target's mapping against its CRM's metadata, so a
 * mapping one CRM
 * rejects stops the run before the other CRM is written. A CRM out of reach is only a warning: that
 * target then
 * fails as a whole in the cycle, and the command says so.
 */
export async function refuseMappingsThatDoNotFit(
  options: Omit<MappingsCommandOptions, 'target'>,
  words: { refusal: string; unreachable: string },
): Promise<void> {
  const checks = await checkMappings(options);
  for (const check of checks) {
    if (check.status === 'unreachable')
      options.logger.warn(words.unreachable, { target: check.target, error: check.error.message });
  }
  const issues = checks.flatMap((check) => (check.status === 'invalid' ? check.issues : []));
  if (issues.length > 0) throw new ValidationError('MAPPING_INVALID', words.refusal, issues);
}
