// `leadbridge mappings check` (each mapping against the CRM's real metadata) and `mappings preview <referralId>` (no writes).
import path from 'node:path';
import type { LeadbridgeConfig, TargetConfig } from '../config/index.js';
import { formatIssue, LeadbridgeError, ValidationError, type Issue } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { deriveLeadKind, isHotLead, type LeadKind, type Referral } from '../core/referral.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.js';
import type { CrmAdapter, CrmEntityMetadata, CrmRecordState } from '../crm/adapter.js';
import { loadMapping, type CompiledMapping, type FieldTrace } from '../mapping/index.js';
import { checkMappingAgainstMetadata } from '../mapping/metadata.js';
import { describeTransform } from '../mapping/transforms.js';
import { createCrmAdapter, createSource, endpointOf, portalLink } from './compose.js';

/** An admin command waits for an answer, not for a long backoff: one quick retry, then the error. */
const COMMAND_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 2,
  maxDelayMs: 1_000,
  maxRetryAfterMs: 5_000,
};

export interface MappingsCommandOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  /** Relative mapping paths resolve against this; files under it are shown relative to it. */
  cwd: string;
  out: NodeJS.WritableStream;
  /** Only this target (enabled or not); every enabled target otherwise. */
  target?: string;
  signal?: AbortSignal;
}

// ------------------------------------------------------------------ targets, mappings, adapters

/** The named target (enabled or not), or every enabled one; an unknown name is a config problem. */
function enabledOrNamedTargets(config: LeadbridgeConfig, name: string | undefined): TargetConfig[] {
  const configured = config.targets.map((target) => target.name);
  if (name !== undefined) {
    const target = config.targets.find((candidate) => candidate.name === name);
    if (!target)
      throw new LeadbridgeError(
        'CONFIG_INVALID',
        `there is no target "${name}" in the config (targets: ${configured.join(', ') || 'none'})`,
      );
    return [target];
  }
  const enabled = config.targets.filter((target) => target.enabled);
  if (enabled.length === 0)
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      'the config has no enabled targets (add one under targets:, or name one with --target)',
    );
  return enabled;
}

/** A file under the working directory as a relative path (what an admin typed), anything else as is. */
function shown(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : file;
}

/** Loads and parses the target's mapping; every problem (with file:line) in a MAPPING_INVALID error. */
export async function mappingOf(target: TargetConfig, cwd: string): Promise<CompiledMapping> {
  const file = target.mapping;
  let mapping: CompiledMapping;
  try {
    mapping = await loadMapping(file);
  } catch (error) {
    if (error instanceof ValidationError)
      throw new ValidationError(
        'MAPPING_INVALID',
        `mapping ${shown(file, cwd)} is invalid`,
        withShownFiles(error.issues, cwd),
      );
    throw error;
  }
  if (mapping.target !== target.kind) {
    const line = mapping.lineOf?.(['target']);
    const issue: Issue = {
      file: shown(file, cwd),
      path: 'target',
      message: `the mapping is for ${mapping.target}, but target "${target.name}" is ${target.kind}`,
      ...(line ? { line } : {}),
    };
    throw new ValidationError('MAPPING_INVALID', `mapping ${shown(file, cwd)} is for another CRM`, [
      issue,
    ]);
  }
  return mapping;
}

function withShownFiles(issues: Issue[], cwd: string): Issue[] {
  return issues.map((issue) => (issue.file ? { ...issue, file: shown(issue.file, cwd) } : issue));
}

async function withAdapter<T>(
  target: TargetConfig,
  logger: Logger,
  use: (adapter: CrmAdapter) => Promise<T>,
): Promise<T> {
  const adapter = await createCrmAdapter(target, {
    logger: logger.child({ target: target.name }),
    retryPolicy: COMMAND_RETRY_POLICY,
  });
  try {
    return await use(adapter);
  } finally {
    await adapter.close?.();
  }
}

/** A CRM call that failed as a whole, said with the target and the URL it tried. */
function unreachable(target: TargetConfig, what: string, error: unknown): LeadbridgeError {
  const cause =
    error instanceof LeadbridgeError
      ? error
      : new LeadbridgeError('INTERNAL', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  return new LeadbridgeError(
    cause.code,
    `target "${target.name}": cannot ${what} from ${endpointOf(target)}: ${cause.message}`,
    {
      status: cause.status,
      api: cause.api,
      cause,
    },
  );
}

// ------------------------------------------------------------------ mappings check

export type TargetCheck =
  | { target: string; file: string; status: 'ok'; version: string; fields: number }
  | { target: string; file: string; status: 'invalid'; issues: Issue[] }
  | { target: string; file: string; status: 'unreachable'; error: LeadbridgeError };

/** Parses each selected target's mapping and checks it against the CRM's metadata for the mapping's entity. */
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
  try {
    metadata = await withAdapter(target, options.logger, (adapter) =>
      describeOrNull(adapter, mapping.entity, options.signal),
    );
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
    ? checkMappingAgainstMetadata(mapping, metadata)
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

/** The entity's metadata, or null when the CRM has no such entity (a mapping problem, not an outage). */
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

/** One line per target: `<target>: <file> OK (version <v>, N fields)`, or how many issues / why it could not be checked. */
function formatCheck(checks: readonly TargetCheck[]): string {
  return checks
    .map((check) => {
      if (check.status === 'ok')
        return `${check.target}: ${check.file} OK (version ${check.version}, ${check.fields} fields)\n`;
      if (check.status === 'invalid')
        return `${check.target}: ${check.file} INVALID (${check.issues.length} ${check.issues.length === 1 ? 'issue' : 'issues'})\n`;
      return `${check.target}: ${check.file} NOT CHECKED (the CRM cannot be reached)\n`;
    })
    .join('');
}

/** The error a failed check ends with: a CRM out of reach (exit 1) before mapping issues (MAPPING_INVALID, exit 2). */
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
        ? `\nand the mappings have issues:\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`
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
    `mappings check: ${issues.length} ${issues.length === 1 ? 'issue' : 'issues'} (${targets.join(', ')})`,
    issues,
  );
}

/** Prints the per-target lines, then throws when anything failed (every issue at once, each with file:line). */
export async function runMappingsCheck(options: MappingsCommandOptions): Promise<TargetCheck[]> {
  const checks = await checkMappings(options);
  options.out.write(formatCheck(checks));
  const failure = checkFailure(checks);
  if (failure) throw failure;
  return checks;
}

/**
 * Before a command writes anything: every enabled target's mapping against its CRM's metadata, so a mapping one CRM
 * rejects stops the run before the other CRM is written. A CRM out of reach is only a warning: that target then
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

// ------------------------------------------------------------------ mappings preview

/** How a field's new value compares with the CRM record: + new, ~ changed, = unchanged, ? not read back, (blank) empty, ! error. */
type FieldChange = 'new' | 'changed' | 'unchanged' | 'unknown' | 'empty' | 'error';

interface FieldPreview {
  field: string;
  change: FieldChange;
  /** What a sync would write (absent when the field is left out or fails). */
  value?: unknown;
  /** What the CRM record holds now, when it was read back. */
  current?: unknown;
  source: string;
  /** The field's whole transform chain, as the mapping file has it. */
  transforms: string[];
  input?: unknown;
  /** The value after each step that ran (a failing step and those after it are not listed). */
  steps: Array<{ transform: string; value: unknown }>;
  error?: string;
}

interface TargetPreview {
  target: string;
  kind: string;
  entity: string;
  mapping: { file: string; version: string };
  /** The CRM record linked to the referral now, or null when a sync would create one. */
  record: { recordId: string; entity: string } | null;
  fields: FieldPreview[];
  /** Field errors: a sync would quarantine the referral for this target. */
  errors: Array<{ field: string; message: string }>;
}

export interface ReferralPreview {
  referralId: string;
  leadKind: LeadKind;
  hot: boolean;
  /** Whether the config syncs this lead kind at all (source.partnerCenter.leadKinds). */
  synced: boolean;
  targets: TargetPreview[];
}

/** Reads the referral and each target's current record, maps the referral, and compares; writes nothing anywhere. */
export async function previewReferral(
  options: MappingsCommandOptions & { referralId: string },
): Promise<ReferralPreview> {
  const targets = enabledOrNamedTargets(options.config, options.target);
  const mappings = await Promise.all(targets.map((target) => mappingOf(target, options.cwd)));
  const referral = await createSource(options.config, options.logger).get(options.referralId, {
    signal: options.signal,
  });
  const leadKind = deriveLeadKind(referral);
  const hot = isHotLead(referral);
  const previews = await Promise.all(
    targets.map((target, index) =>
      previewTarget(
        target,
        mappings[index] as CompiledMapping,
        { referral, leadKind, hot },
        options,
      ),
    ),
  );
  return {
    referralId: referral.id,
    leadKind,
    hot,
    synced: options.config.source.partnerCenter.leadKinds.includes(leadKind),
    targets: previews,
  };
}

async function previewTarget(
  target: TargetConfig,
  mapping: CompiledMapping,
  subject: { referral: Referral; leadKind: LeadKind; hot: boolean },
  options: MappingsCommandOptions,
): Promise<TargetPreview> {
  const result = mapping.map({ ...subject, referralLink: portalLink(subject.referral.id) });
  let state: CrmRecordState | null;
  try {
    state = await withAdapter(target, options.logger, (adapter) =>
      adapter.getByReferralId(subject.referral.id, { signal: options.signal }),
    );
  } catch (error) {
    throw unreachable(target, `read the record of referral ${subject.referral.id}`, error);
  }
  // The mapping writes one entity; a linked record of the other kind says nothing about these fields.
  const record = state && state.entity === mapping.entity.toLowerCase() ? state : null;
  return {
    target: target.name,
    kind: target.kind,
    entity: mapping.entity,
    mapping: { file: shown(mapping.file ?? '', options.cwd), version: mapping.version },
    record: record ? { recordId: record.recordId, entity: record.entity } : null,
    fields: result.trace.map((trace) => fieldPreview(trace, mapping, result.fields, record)),
    errors: result.ok ? [] : result.errors,
  };
}

function fieldPreview(
  trace: FieldTrace,
  mapping: CompiledMapping,
  written: Record<string, unknown>,
  record: CrmRecordState | null,
): FieldPreview {
  const transforms = (mapping.definition.fields[trace.field]?.transforms ?? []).map(
    describeTransform,
  );
  const preview: FieldPreview = {
    field: trace.field,
    change: 'empty',
    source: trace.source,
    transforms,
    steps: trace.steps,
  };
  if (trace.input !== undefined) preview.input = trace.input;
  if (trace.error !== undefined) return { ...preview, change: 'error', error: trace.error };
  if (!Object.hasOwn(written, trace.field)) return preview;
  const value = written[trace.field];
  if (!record) return { ...preview, change: 'new', value };
  if (!Object.hasOwn(record.fields, trace.field)) return { ...preview, change: 'unknown', value };
  const current = record.fields[trace.field];
  return {
    ...preview,
    change: sameValue(current, value) ? 'unchanged' : 'changed',
    value,
    current,
  };
}

/** As the CRM would see it: numbers by value (a CRM may hand back 1000.0 for 1000), everything else as text. */
function sameValue(current: unknown, next: unknown): boolean {
  if (current === next) return true;
  if (current === null || current === undefined || next === null || next === undefined)
    return (current ?? null) === (next ?? null);
  if (typeof current === 'number' || typeof next === 'number')
    return String(current).trim() !== '' && Number(current) === Number(next);
  return String(current) === String(next);
}

const MARKS: Readonly<Record<FieldChange, string>> = {
  new: '+',
  changed: '~',
  unchanged: '=',
  unknown: '?',
  empty: ' ',
  error: '!',
};

/** The preview as text: per target a header, one line per field (mark, field, value, source and transforms), then errors. */
function formatPreview(preview: ReferralPreview): string {
  const lines = [
    `referral ${preview.referralId} (${preview.leadKind}${preview.hot ? ', hot' : ''})`,
  ];
  if (!preview.synced)
    lines.push(
      `note: this config does not sync ${preview.leadKind} referrals (source.partnerCenter.leadKinds), so a sync would skip it`,
    );
  for (const target of preview.targets) {
    lines.push(
      '',
      `${target.target}: ${target.kind} ${target.entity} (mapping ${target.mapping.file}, version ${target.mapping.version})`,
    );
    lines.push(
      target.record
        ? `record ${target.record.recordId} (a sync would update it)`
        : 'no record yet (a sync would create one)',
    );
    lines.push(...target.fields.map(fieldLine));
    if (target.errors.length > 0) {
      lines.push(`errors (a sync would quarantine the referral for ${target.target}):`);
      lines.push(...target.errors.map((error) => `  ${error.field}: ${error.message}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function fieldLine(field: FieldPreview): string {
  const origin =
    field.transforms.length > 0
      ? `(${field.source}; ${field.transforms.join(', ')})`
      : `(${field.source})`;
  let value: string;
  if (field.change === 'error') value = `error: ${field.error}`;
  else if (field.change === 'empty') value = '(empty: not written)';
  else if (field.change === 'changed')
    value = `${JSON.stringify(field.current)} → ${JSON.stringify(field.value)}`;
  else if (field.change === 'unknown')
    value = `${JSON.stringify(field.value)} (not read back from the CRM)`;
  else value = JSON.stringify(field.value);
  return `${MARKS[field.change]} ${field.field}: ${value}  ${origin}`;
}

export async function runMappingsPreview(
  options: MappingsCommandOptions & { referralId: string; json: boolean },
): Promise<ReferralPreview> {
  const preview = await previewReferral(options);
  options.out.write(
    options.json ? `${JSON.stringify(preview, null, 2)}\n` : formatPreview(preview),
  );
  return preview;
}
