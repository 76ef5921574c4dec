// `leadbridge mappings preview <referralId>`: a referral mapped and compared with the CRM record;
// no writes.
import type { TargetConfig } from '../config/index.js';
import { deriveLeadKind, isHotLead, type LeadKind, type Referral } from '../core/referral.js';
import type { CrmRecordState } from '../crm/adapter.js';
import type { CompiledMapping, FieldTrace } from '../mapping/index.js';
import { describeTransform } from '../mapping/transforms.js';
import { createSource, portalLink } from './compose.js';
import {
  enabledOrNamedTargets,
  mappingOf,
  shown,
  unreachable,
  withAdapter,
  type MappingsCommandOptions,
} from './mappings-targets.js';

/**
 * How a field's new value compares with the CRM record: + new, ~ changed, = unchanged, ? not read
 * back, (blank) empty, ! error.
 */
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

/**
 * Reads the referral and each target's current record, maps the referral, and compares; writes
 * nothing anywhere.
 */
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
  // The mapping writes one entity; a linked record of the other kind says nothing about these
  // fields.
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

/**
 * As the CRM would see it: numbers by value (a CRM may hand back 1000.0 for 1000), everything else
 * as text.
 */
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

/**
 * The preview as text: per target a header, one line per field (mark, field, value, source and
 * transforms), then errors.
 */
function formatPreview(preview: ReferralPreview): string {
  const lines = [
    `referral ${preview.referralId} (${preview.leadKind}${preview.hot ? ', hot' : ''})`,
  ];
  if (!preview.synced)
    lines.push(
      `note: this config does not sync ${preview.leadKind} referrals ` +
        `(source.partnerCenter.leadKinds), so a sync would skip it`,
    );
  for (const target of preview.targets) {
    lines.push(
      '',
      `${target.target}: ${target.kind} ${target.entity} (mapping ${target.mapping.file}, ` +
        `version ${target.mapping.version})`,
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
