// Runs a validated mapping over one referral: every field's value, its trace, and every field error
// (never throws).
import type { LeadKind, Referral } from '../core/referral.js';
import type { FieldDefinition, MappingDefinition, ValueOrigin, ValuePath } from './definition.js';
import { readPath } from './paths.js';
import { renderTemplate } from './template.js';
import { applyTransform, describeTransform, isEmpty, show } from './transforms.js';

export interface MappingInput {
  referral: Referral;
  leadKind: LeadKind;
  hot: boolean;
  /** The referral's Partner Center portal link (offered as $referralLink). */
  referralLink: string;
}

export interface FieldTrace {
  field: string;
  /** Where the value came from: a path (`a | b` when several), `template "..."` or `const ...`. */
  source: string;
  /** The value as read, before any transform. */
  input?: unknown;
  /** The value after each transform; a failing step is not listed (see error). */
  steps: Array<{ transform: string; value: unknown }>;
  /** The value written (undefined when the field is left out of the payload). */
  value: unknown;
  error?: string;
}

export type MapResult =
  | { ok: true; fields: Record<string, unknown>; trace: FieldTrace[] }
  | {
      ok: false;
      errors: Array<{ field: string; message: string }>;
      fields: Record<string, unknown>;
      trace: FieldTrace[];
    };

/** One field's evaluation: `emit` is null when the field is left out of the payload. */
export interface FieldOutcome {
  trace: FieldTrace;
  error: string | null;
  emit: { value: unknown } | null;
}

export function mapReferral(definition: MappingDefinition, input: MappingInput): MapResult {
  const read = referralReader(input);
  const fields: Record<string, unknown> = {};
  const errors: Array<{ field: string; message: string }> = [];
  const trace: FieldTrace[] = [];
  for (const field of Object.values(definition.fields)) {
    const outcome = evaluateField(field, read);
    trace.push(outcome.trace);
    if (outcome.error !== null) errors.push({ field: field.name, message: outcome.error });
    else if (outcome.emit) fields[field.name] = outcome.emit.value;
  }
  return errors.length === 0 ? { ok: true, fields, trace } : { ok: false, errors, fields, trace };
}

/** Reads referral paths and the computed values ($leadKind, $hot, $referralLink, $referralId). */
function referralReader(input: MappingInput): (path: ValuePath) => unknown {
  return (path) => {
    switch (path.computed) {
      case '$leadKind':
        return input.leadKind;
      case '$hot':
        return input.hot;
      case '$referralLink':
        return input.referralLink;
      case '$referralId':
        return input.referral.id;
      default:
        return readPath(input.referral, path.segments);
    }
  };
}

/**
 * Reads the field's origin, runs its transforms, and decides what (if anything) goes into the
 * payload.
 */
export function evaluateField(
  field: FieldDefinition,
  read: (path: ValuePath) => unknown,
): FieldOutcome {
  const source = describeOrigin(field.origin);
  const trace: FieldTrace = { field: field.name, source, steps: [], value: undefined };
  try {
    const input = readOrigin(field.origin, read);
    trace.input = input;
    let value = input;
    for (const step of field.transforms) {
      value = applyTransform(value, step, source);
      trace.steps.push({ transform: describeTransform(step), value });
    }
    return finish(field, value, trace);
  } catch (error) {
    return failed(trace, error instanceof Error ? error.message : String(error));
  }
}

function finish(field: FieldDefinition, value: unknown, trace: FieldTrace): FieldOutcome {
  if (Array.isArray(value) && value.length > 0)
    return failed(trace, `gives ${show(value)}: add a join transform`);
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return failed(trace, `gives ${show(value)}: pick one of its fields`);
  if (isEmpty(value)) {
    // Empty values are left out (the CRM keeps what is there) unless the field asks for null to
    // clear it.
    if (!field.nullWhenEmpty) return { trace, error: null, emit: null };
    trace.value = null;
    return { trace, error: null, emit: { value: null } };
  }
  trace.value = value;
  return { trace, error: null, emit: { value } };
}

function failed(trace: FieldTrace, message: string): FieldOutcome {
  trace.error = message;
  return { trace, error: message, emit: null };
}

function readOrigin(origin: ValueOrigin, read: (path: ValuePath) => unknown): unknown {
  switch (origin.kind) {
    case 'const':
      return origin.value;
    case 'template':
      return renderTemplate(origin.template, read);
    case 'source': {
      let value: unknown;
      for (const path of origin.paths) {
        value = read(path);
        if (!isEmpty(value)) return value;
      }
      return value;
    }
  }
}

/** Where a field's value comes from, as the mapping file says it (paths, template, constant). */
export function describeOrigin(origin: ValueOrigin): string {
  switch (origin.kind) {
    case 'const':
      return `const ${JSON.stringify(origin.value)}`;
    case 'template':
      return `template ${JSON.stringify(origin.template.text)}`;
    case 'source':
      return origin.paths.map((path) => path.text).join(' | ');
  }
}
