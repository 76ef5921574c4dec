// The `status:` section of a mapping parsed and checked: what CRM record states mean for Partner
// Center.
import { CLOSE_REASONS } from '../core/referral.js';
import {
  ACCEPT_FIELD_NAMES,
  CRM_OUTCOMES,
  type AcceptFieldName,
  type CloseReason,
  type CrmOutcome,
  type FieldDefinition,
  type LookupTable,
  type MappingDefaults,
  type ReasonMapping,
  type RecordRole,
  type Scalar,
  type StatusDefinition,
  type StatusRule,
  type ValuePath,
} from './definition.js';
import type { DocPath, IssueCollector } from './document.js';
import { isRecord, parseField, reportUnknownKeys, type FieldContext } from './fields.js';
import { formatSegments, parsePath, referralPathShape, type PathShape } from './paths.js';
import { isScalar, show } from './transforms.js';

const STATUS_KEYS = [
  'accepted',
  'declined',
  'won',
  'lost',
  'declineReasons',
  'lossReasons',
  'acceptFields',
  'expiredReflection',
];
const RECORD_ROLES: readonly RecordRole[] = ['lead', 'opportunity'];
const RECORD_ROOTS = ['lead', 'opportunity', 'referral'];
/**
 * The acceptFields a status mapping must name (Partner Center needs currency too, which
 * defaults.currency may give).
 */
const MAPPED_ACCEPT_FIELDS: readonly AcceptFieldName[] = [
  'dealName',
  'dealValue',
  'closingDateTime',
  'notes',
];
const CRM_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseStatus(
  raw: unknown,
  at: DocPath,
  context: { lookups: Readonly<Record<string, LookupTable>>; defaults: MappingDefaults },
  issues: IssueCollector,
): StatusDefinition | null {
  if (!isRecord(raw)) {
    issues.add(at, `status is a mapping (accepted, declined, won, lost, ...), got ${show(raw)}`);
    return null;
  }
  const before = issues.issues.length;
  reportUnknownKeys(raw, STATUS_KEYS, at, issues);
  const rules = Object.fromEntries(
    CRM_OUTCOMES.map((outcome) => [outcome, parseRules(raw[outcome], [...at, outcome], issues)]),
  ) as Record<CrmOutcome, StatusRule[]>;
  const declineReasons = optional(raw['declineReasons'], (value) =>
    parseReasons(value, [...at, 'declineReasons'], issues),
  );
  const lossReasons = optional(raw['lossReasons'], (value) =>
    parseReasons(value, [...at, 'lossReasons'], issues),
  );
  const acceptFields = parseAcceptFields(
    raw['acceptFields'],
    [...at, 'acceptFields'],
    context,
    issues,
  );
  const expiredReflection = optional(raw['expiredReflection'], (value) =>
    parseReflection(value, [...at, 'expiredReflection'], issues),
  );
  checkCompleteness({ defaults: context.defaults, raw }, at, issues);
  if (issues.issues.length > before) return null;
  return { rules, declineReasons, lossReasons, acceptFields, expiredReflection };
}

function optional<T>(value: unknown, parse: (value: unknown) => T | null): T | null {
  return value === undefined || value === null ? null : parse(value);
}

/** A list of `{ entity, when }` (a single rule may be written without the list). */
function parseRules(raw: unknown, at: DocPath, issues: IssueCollector): StatusRule[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const rules: StatusRule[] = [];
  list.forEach((item, index) => {
    const where = Array.isArray(raw) ? [...at, index] : at;
    const rule = parseRule(item, where, issues);
    if (rule) rules.push(rule);
  });
  return rules;
}

function parseRule(raw: unknown, at: DocPath, issues: IssueCollector): StatusRule | null {
  if (!isRecord(raw)) {
    issues.add(
      at,
      `a status rule is { entity: lead|opportunity, when: { field: value } }, got ${show(raw)}`,
    );
    return null;
  }
  reportUnknownKeys(raw, ['entity', 'when'], at, issues);
  const entity = raw['entity'];
  const entityValid =
    typeof entity === 'string' && (RECORD_ROLES as readonly string[]).includes(entity);
  if (!entityValid)
    issues.add([...at, 'entity'], `entity must be lead or opportunity, got ${show(entity)}`);
  const when = raw['when'];
  if (!isRecord(when) || Object.keys(when).length === 0) {
    issues.add(
      [...at, 'when'],
      `when is a mapping of CRM field → value (or list of values), got ${show(when)}`,
    );
    return null;
  }
  const conditions: Record<string, Scalar[]> = {};
  for (const [field, value] of Object.entries(when)) {
    const values = Array.isArray(value) ? value : [value];
    if (!CRM_FIELD.test(field))
      issues.add([...at, 'when', field], `"${field}" is not a valid CRM field name`);
    if (values.length === 0 || !values.every(isScalar)) {
      issues.add(
        [...at, 'when', field],
        `a condition is a value or a list of values, got ${show(value)}`,
      );
    }
    conditions[field] = values.filter(isScalar);
  }
  return entityValid ? { entity: entity as RecordRole, when: conditions } : null;
}

function parseReasons(raw: unknown, at: DocPath, issues: IssueCollector): ReasonMapping | null {
  if (!isRecord(raw)) {
    issues.add(
      at,
      `reasons are { field: lead.x, map: { crm value: reason }, default: reason }, got ` +
        `${show(raw)}`,
    );
    return null;
  }
  reportUnknownKeys(raw, ['field', 'map', 'default'], at, issues);
  const field =
    typeof raw['field'] === 'string'
      ? recordPath(raw['field'], false)
      : `field must be a record path like lead.statuscode, got ${show(raw['field'])}`;
  if (typeof field === 'string') issues.add([...at, 'field'], field);
  const map =
    raw['map'] === undefined || raw['map'] === null
      ? null
      : parseReasonMap(raw['map'], [...at, 'map'], issues);
  const fallback =
    raw['default'] === undefined || raw['default'] === null
      ? null
      : closeReason(raw['default'], [...at, 'default'], issues);
  if (typeof field === 'string') return null;
  return { field, map, default: fallback };
}

function parseReasonMap(
  raw: unknown,
  at: DocPath,
  issues: IssueCollector,
): Record<string, CloseReason> | null {
  if (!isRecord(raw)) {
    issues.add(at, `map is a mapping of CRM value → Partner Center reason, got ${show(raw)}`);
    return null;
  }
  const map: Record<string, CloseReason> = {};
  for (const [key, value] of Object.entries(raw)) {
    const reason = closeReason(value, [...at, key], issues);
    if (reason) map[key] = reason;
  }
  return map;
}

function closeReason(value: unknown, at: DocPath, issues: IssueCollector): CloseReason | null {
  if (typeof value === 'string' && (CLOSE_REASONS as readonly string[]).includes(value))
    return value as CloseReason;
  issues.add(
    at,
    `${show(value)} is not a Partner Center close reason (one of: ` +
      `${CLOSE_REASONS.map((reason) => `"${reason}"`).join(', ')})`,
  );
  return null;
}

function parseReflection(
  raw: unknown,
  at: DocPath,
  issues: IssueCollector,
): Record<string, Scalar> | null {
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    issues.add(at, `expiredReflection is a mapping of CRM field → value, got ${show(raw)}`);
    return null;
  }
  for (const [field, value] of Object.entries(raw)) {
    if (!CRM_FIELD.test(field))
      issues.add([...at, field], `"${field}" is not a valid CRM field name`);
    if (!isScalar(value))
      issues.add(
        [...at, field],
        `a CRM field value must be a text, number, boolean or null, got ${show(value)}`,
      );
  }
  return raw as Record<string, Scalar>;
}

function parseAcceptFields(
  raw: unknown,
  at: DocPath,
  context: { lookups: Readonly<Record<string, LookupTable>>; defaults: MappingDefaults },
  issues: IssueCollector,
): Partial<Record<AcceptFieldName, FieldDefinition>> {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    issues.add(
      at,
      `acceptFields is a mapping of ${ACCEPT_FIELD_NAMES.join(', ')}, got ${show(raw)}`,
    );
    return {};
  }
  reportUnknownKeys(raw, ACCEPT_FIELD_NAMES, at, issues);
  const fieldContext: FieldContext = {
    parsePath: (text) => recordPath(text, true),
    shapeOf: recordPathShape,
    lookups: context.lookups,
    nullWhenEmpty: false,
    listsNeedJoin: false,
  };
  const fields: Partial<Record<AcceptFieldName, FieldDefinition>> = {};
  for (const name of ACCEPT_FIELD_NAMES) {
    if (!Object.hasOwn(raw, name)) continue;
    const field = parseField(name, raw[name], [...at, name], fieldContext, issues);
    if (field) fields[name] = field;
  }
  return fields;
}

/**
 * `lead.x`, `opportunity.x` (any CRM field: a later check compares them with CRM metadata) or
 * `referral.x`.
 */
function recordPath(text: string, allowReferral: boolean): ValuePath | string {
  const roots: readonly string[] = allowReferral ? RECORD_ROOTS : RECORD_ROLES;
  const path = text.trim().startsWith('$') ? null : parsePath(text);
  const root = path && typeof path !== 'string' ? path.segments[0] : undefined;
  if (typeof path === 'string') return path;
  if (!path || !root || !('key' in root) || !roots.includes(root.key) || path.segments.length < 2) {
    return `"${text}" is not a record path: start it with ${roots
      .map((r) => `${r}` + `.`)
      .join(', ')} (e.g. lead.subject)`;
  }
  return path;
}

function recordPathShape(path: ValuePath): PathShape {
  const [root, ...rest] = path.segments;
  if (!root || !('key' in root) || root.key !== 'referral') return { kind: 'value' };
  return referralPathShape({ text: formatSegments(rest), computed: null, segments: rest });
}

function checkCompleteness(
  found: { defaults: MappingDefaults; raw: Record<string, unknown> },
  at: DocPath,
  issues: IssueCollector,
): void {
  // Judged on what was written, so a rule with a problem of its own does not hide these.
  const { raw } = found;
  const has = (key: string) => raw[key] !== undefined && raw[key] !== null;
  if (has('declined') && !has('declineReasons'))
    issues.add(
      at,
      'declineReasons is needed when declined is set (Partner Center requires a reason)',
    );
  if (has('lost') && !has('lossReasons')) issues.add(at, 'lossReasons is needed when lost is set');
  // Won and lost may also need an accept first (a deal closed in the CRM while the referral is
  // still New).
  const accepting = has('accepted') || has('won') || has('lost');
  if (!accepting || !isRecord(raw['acceptFields'])) {
    if (accepting)
      issues.add(
        at,
        `acceptFields is needed when accepted, won or lost is set (with ` +
          `${MAPPED_ACCEPT_FIELDS.join(', ')})`,
      );
    return;
  }
  for (const name of MAPPED_ACCEPT_FIELDS) {
    if (!Object.hasOwn(raw['acceptFields'], name))
      issues.add(
        [...at, 'acceptFields'],
        `${name} is missing (Partner Center requires it to accept)`,
      );
  }
  if (!Object.hasOwn(raw['acceptFields'], 'currency') && found.defaults.currency === null) {
    issues.add([...at, 'acceptFields'], 'currency is missing and defaults.currency is not set');
  }
}
