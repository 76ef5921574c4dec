// Reading a CRM record with a mapping's `status:` section: the outcome, its reason and accept
// fields.
import { CLOSE_REASONS, type Referral } from '../core/referral.js';
import {
  ACCEPT_FIELD_NAMES,
  CRM_OUTCOMES,
  type AcceptFieldName,
  type CloseReason,
  type CrmOutcome,
  type MappingDefaults,
  type ReasonMapping,
  type Scalar,
  type StatusDefinition,
  type StatusRule,
  type ValuePath,
} from './definition.js';
import { evaluateField, type FieldTrace } from './engine.js';
import { readPath } from './paths.js';
import { show } from './transforms.js';

/**
 * A linked CRM record as the push-back sees it: the lead, the opportunity it became (if any), and
 * the referral.
 */
export interface CrmRecordView {
  referral: Referral;
  lead: Readonly<Record<string, unknown>> | null;
  opportunity: Readonly<Record<string, unknown>> | null;
}

export interface OutcomeReading {
  /** The most advanced outcome whose rules match (won, lost, declined, accepted), or null. */
  outcome: CrmOutcome | null;
  /** The matching rule. */
  rule: StatusRule | null;
  /** The close reason for declined and lost. */
  reason: CloseReason | null;
  /**
   * The accept fields for accepted, won and lost (a New referral is accepted before it is closed);
   * undefined values left out.
   */
  acceptFields: Partial<Record<AcceptFieldName, unknown>> | null;
  errors: Array<{ field: string; message: string }>;
  trace: FieldTrace[];
}

/**
 * What a CRM record says about its referral. Outcomes are tried from the most advanced (won) down,
 * so a
 * converted lead whose opportunity was won reads as won. The caller still checks the life cycle
 * (planOutcome):
 * a record that merely shows the expiredReflection of an already expired referral leads nowhere.
 */
export function readOutcome(
  status: StatusDefinition,
  defaults: MappingDefaults,
  view: CrmRecordView,
): OutcomeReading {
  const reading: OutcomeReading = {
    outcome: null,
    rule: null,
    reason: null,
    acceptFields: null,
    errors: [],
    trace: [],
  };
  for (const outcome of CRM_OUTCOMES) {
    const rule = status.rules[outcome].find((candidate) => ruleMatches(candidate, view));
    if (!rule) continue;
    reading.outcome = outcome;
    reading.rule = rule;
    break;
  }
  if (reading.outcome === 'declined' || reading.outcome === 'lost') {
    const mapping = reading.outcome === 'declined' ? status.declineReasons : status.lossReasons;
    const label = reading.outcome === 'declined' ? 'declineReasons' : 'lossReasons';
    if (mapping) readReason(mapping, label, view, reading);
  }
  if (reading.outcome !== null && reading.outcome !== 'declined')
    readAcceptFields(status, defaults, view, reading);
  return reading;
}

export function ruleMatches(
  rule: StatusRule,
  view: Pick<CrmRecordView, 'lead' | 'opportunity'>,
): boolean {
  const record = view[rule.entity];
  if (!record) return false;
  return Object.entries(rule.when).every(([field, values]) =>
    values.some((expected) => sameValue(record[field], expected)),
  );
}

/**
 * CRM values are compared as text (statecode 1 matches 1 and "1"); null matches a missing value.
 */
function sameValue(actual: unknown, expected: Scalar): boolean {
  if (expected === null) return actual === null || actual === undefined;
  return actual !== null && actual !== undefined && String(actual) === String(expected);
}

function readReason(
  mapping: ReasonMapping,
  label: string,
  view: CrmRecordView,
  reading: OutcomeReading,
): void {
  const value = readRecordPath(view, mapping.field);
  const key = value === null || value === undefined ? '' : String(value);
  const mapped = mapping.map
    ? mapping.map[key]
    : (CLOSE_REASONS as readonly string[]).includes(key)
      ? (key as CloseReason)
      : undefined;
  const reason = mapped ?? mapping.default;
  if (reason) reading.reason = reason;
  else
    reading.errors.push({
      field: 'reason',
      message:
        `${show(value)} in ${mapping.field.text} has no reason in status.${label} and ` +
        `there is no default`,
    });
}

function readAcceptFields(
  status: StatusDefinition,
  defaults: MappingDefaults,
  view: CrmRecordView,
  reading: OutcomeReading,
): void {
  const values: Partial<Record<AcceptFieldName, unknown>> = {};
  for (const name of ACCEPT_FIELD_NAMES) {
    const field = status.acceptFields[name];
    if (!field) continue;
    const outcome = evaluateField(field, (path) => readRecordPath(view, path));
    reading.trace.push(outcome.trace);
    if (outcome.error !== null) reading.errors.push({ field: name, message: outcome.error });
    else if (outcome.emit) values[name] = outcome.emit.value;
  }
  if (values.currency === undefined && defaults.currency !== null)
    values.currency = defaults.currency;
  reading.acceptFields = values;
}

function readRecordPath(view: CrmRecordView, path: ValuePath): unknown {
  const [root, ...rest] = path.segments;
  if (!root || !('key' in root)) return undefined;
  const record =
    root.key === 'lead'
      ? view.lead
      : root.key === 'opportunity'
        ? view.opportunity
        : root.key === 'referral'
          ? view.referral
          : null;
  return readPath(record, rest);
}
