// The pure decisions of the outbound sync: what a CRM record's outcome asks of its referral, and whether an outbox row is still due.
import { isTerminalStatus, planOutcome, type OutcomeAction } from '../core/lifecycle.js';
import type { Referral } from '../core/referral.js';
import type { CrmRecordState } from '../crm/adapter.js';
import type { Link, OutboxRow, OutboxState, OutcomeToSend } from '../ledger/index.js';
import {
  CRM_OUTCOMES,
  ruleMatches,
  stableHash,
  type CompiledMapping,
  type CrmOutcome,
  type CrmRecordView,
  type OutcomeReading,
} from '../mapping/index.js';

/** The outbox action that marks a CRM lead for a referral that expired unanswered. */
export const REFLECT_EXPIRED = 'reflect-expired';

export const OUTCOME_ACTION_NAMES: readonly OutcomeAction[] = ['accept', 'decline', 'win', 'lose'];

/** Partner Center refuses an accept without these five (api-facts.md §1, "Accept"). */
const REQUIRED_ACCEPT_FIELDS = [
  'dealName',
  'dealValue',
  'currency',
  'closingDateTime',
  'notes',
] as const;

/** What an outcome row carries: only eTag-independent data, so a resend after a fresh read needs nothing else. */
export interface OutcomePayload {
  outcome: CrmOutcome;
  /** AcceptFields for accept, { reason } for decline and lose, {} for win. */
  fields: Record<string, unknown>;
  crmRecordId: string;
}

export type OutcomeDecision =
  | { kind: 'none'; why: 'no-outcome' | 'reflected' | 'no-legal-path'; outcome: CrmOutcome | null }
  | { kind: 'enqueue'; outcome: CrmOutcome; actions: OutcomeAction[]; rows: OutcomeToSend[] }
  | {
      kind: 'quarantine';
      outcome: CrmOutcome;
      actions: OutcomeAction[];
      row: OutcomeToSend;
      reason: string;
      missing: string[];
    };

/** The lead and opportunity halves of a CRM record state, as the mapping's status rules see them. */
export function recordView(record: CrmRecordState, referral: Referral): CrmRecordView {
  return {
    referral,
    lead: record.entity === 'lead' ? record.fields : null,
    opportunity:
      record.entity === 'opportunity' ? record.fields : (record.opportunity?.fields ?? null),
  };
}

/**
 * The outcome a record reads as, without the referral (rules look at CRM fields only), most advanced first as
 * readOutcome tries them: enough to rule records out before fetching their referral.
 */
export function outcomeOf(mapping: CompiledMapping, record: CrmRecordState): CrmOutcome | null {
  const status = mapping.definition.status;
  if (!status) return null;
  const view = {
    lead: record.entity === 'lead' ? record.fields : null,
    opportunity:
      record.entity === 'opportunity' ? record.fields : (record.opportunity?.fields ?? null),
  };
  return (
    CRM_OUTCOMES.find((outcome) => status.rules[outcome].some((rule) => ruleMatches(rule, view))) ??
    null
  );
}

/**
 * Decides what a CRM reading asks of a referral in `referral.status`: nothing (no outcome, already shown, or no
 * legal path), the ordered outbox rows to record, or a quarantine when a field the actions need is missing.
 */
export function decideOutcome(
  target: string,
  referral: Pick<Referral, 'id' | 'status'>,
  crmRecordId: string,
  reading: OutcomeReading,
): OutcomeDecision {
  const { outcome } = reading;
  if (outcome === null) return { kind: 'none', why: 'no-outcome', outcome };
  const actions = planOutcome(referral.status, outcome);
  if (actions === null) return { kind: 'none', why: 'no-legal-path', outcome };
  if (actions.length === 0) return { kind: 'none', why: 'reflected', outcome };
  const gaps = actions
    .map((action) => ({ action, missing: missingFields(action, reading) }))
    .filter((gap) => gap.missing.length > 0);
  const firstGap = gaps[0];
  if (firstGap) {
    const missing = [...new Set(gaps.flatMap((gap) => gap.missing))];
    const reason = quarantineReason(
      outcome,
      gaps.map((gap) => gap.action),
      missing,
      reading,
    );
    const row: OutcomeToSend = {
      referralId: referral.id,
      target,
      action: firstGap.action,
      payload: { outcome, actions, missing, reason, crmRecordId },
      // One row per distinct problem: the same gap read again adds nothing, a different one replaces it.
      dedupeKey: `${outcomeDedupeKey(target, referral.id, firstGap.action)}:quarantined:${stableHash({ reason }).slice(0, 12)}`,
    };
    return { kind: 'quarantine', outcome, actions, row, reason, missing };
  }
  const rows = actions.map((action) => ({
    referralId: referral.id,
    target,
    action,
    payload: {
      outcome,
      fields: actionFields(action, reading),
      crmRecordId,
    } satisfies OutcomePayload as unknown as Record<string, unknown>,
    dedupeKey: outcomeDedupeKey(target, referral.id, action),
  }));
  return { kind: 'enqueue', outcome, actions, rows };
}

/** Rows of an outcome that are done or on their way: a step with one of these needs no new row. */
const LIVE_STATES: ReadonlySet<OutboxState> = new Set(['pending', 'sending', 'failed', 'sent']);
/** Rows that may be retired when a new reading replaces them (in flight and done ones may not). */
const RETIRABLE_STATES: ReadonlySet<OutboxState> = new Set(['pending', 'failed', 'quarantined']);

export interface OutboxChange {
  /** Rows to move to superseded first. */
  retire: OutboxRow[];
  /** Rows to record after that, in order. */
  add: OutcomeToSend[];
}

/**
 * Reconciles a decision with the rows already recorded for the same referral and target (`existing`).
 * - enqueue: nothing when every step already has a live row (a re-read changes nothing); otherwise the unsent
 *   rows are retired and the steps not yet sent are recorded again, so rows stay in life-cycle order (claims
 *   take the oldest first) and an outcome once quarantined or refused can flow again after a CRM fix.
 * - quarantine: replaces an earlier quarantined reading; the same problem read again adds nothing.
 * - none: quarantined readings are no longer needed (the referral shows the outcome, or is archived).
 */
export function reconcileRows(
  decision: OutcomeDecision,
  recorded: readonly OutboxRow[],
): OutboxChange {
  // Other actions share the outbox (set-external-reference, reflect-expired): they are not this outcome's rows.
  const existing = recorded.filter((row) =>
    (OUTCOME_ACTION_NAMES as readonly string[]).includes(row.action),
  );
  const quarantinedExcept = (key: string | null) =>
    existing.filter((row) => row.state === 'quarantined' && row.dedupeKey !== key);
  if (decision.kind === 'none') return { retire: quarantinedExcept(null), add: [] };
  if (decision.kind === 'quarantine') {
    const known = existing.some((row) => row.dedupeKey === decision.row.dedupeKey);
    return { retire: quarantinedExcept(decision.row.dedupeKey), add: known ? [] : [decision.row] };
  }
  const hasRow = (action: string, states: ReadonlySet<OutboxState>) =>
    existing.some((row) => row.action === action && states.has(row.state));
  if (decision.rows.every((row) => hasRow(row.action, LIVE_STATES)))
    return { retire: quarantinedExcept(null), add: [] };
  const retire = existing.filter((row) => RETIRABLE_STATES.has(row.state));
  const taken = new Set(existing.map((row) => row.dedupeKey));
  const add = decision.rows
    .filter((row) => !hasRow(row.action, SETTLED_LIVE_STATES))
    .map((row) => ({ ...row, dedupeKey: unusedKey(row.dedupeKey, taken) }));
  return { retire, add };
}

/** Sent or being sent: such a step is never recorded again. */
const SETTLED_LIVE_STATES: ReadonlySet<OutboxState> = new Set(['sending', 'sent']);

function unusedKey(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}:${n}`)) return `${base}:${n}`;
}

/** Same target, referral and action: recorded once, so re-reading an outcome already recorded does nothing. */
function outcomeDedupeKey(
  target: string,
  referralId: string,
  action: OutcomeAction | typeof REFLECT_EXPIRED,
): string {
  return `${target}:${referralId}:${action}`;
}

function missingFields(action: OutcomeAction, reading: OutcomeReading): string[] {
  if (action === 'decline' || action === 'lose') return reading.reason === null ? ['reason'] : [];
  if (action === 'win') return [];
  const failed = new Set(reading.errors.map((error) => error.field));
  return REQUIRED_ACCEPT_FIELDS.filter(
    (name) => failed.has(name) || isEmpty(reading.acceptFields?.[name]),
  );
}

function actionFields(action: OutcomeAction, reading: OutcomeReading): Record<string, unknown> {
  if (action === 'decline' || action === 'lose') return { reason: reading.reason };
  if (action === 'win') return {};
  const given = reading.acceptFields ?? {};
  return Object.fromEntries(REQUIRED_ACCEPT_FIELDS.map((name) => [name, given[name]]));
}

function quarantineReason(
  outcome: CrmOutcome,
  actions: OutcomeAction[],
  missing: string[],
  reading: OutcomeReading,
): string {
  const details = missing.map((field) => {
    const error = reading.errors.find((e) => e.field === field);
    return `${field}: ${error?.message ?? 'the mapping gives no value'}`;
  });
  const verb = missing.length === 1 ? 'is' : 'are';
  return `the CRM record reads as ${outcome}, but ${missing.join(', ')} ${verb} missing to ${actions.join(' and ')} the referral (${details.join('; ')})`;
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}

export type ActionCheck =
  | { kind: 'send' }
  /** Archived: never written. */
  | { kind: 'closed'; expired: boolean }
  /** The referral already shows this step (or a later one). */
  | { kind: 'reflected' }
  /** No legal transition leads from the referral's status to the outcome (declining an Active referral). */
  | { kind: 'no-legal-path' }
  /** An earlier step is still due, but its row is gone: sending this one would break the life cycle. */
  | { kind: 'out-of-order'; first: OutcomeAction };

/** Re-plans one outbox row against the referral as just read: send only when this action is the next legal step. */
export function checkAction(
  action: OutcomeAction,
  outcome: CrmOutcome,
  referral: Pick<Referral, 'status' | 'substatus'>,
): ActionCheck {
  if (isTerminalStatus(referral.status))
    return { kind: 'closed', expired: referral.substatus === 'Expired' };
  const plan = planOutcome(referral.status, outcome);
  if (plan === null) return { kind: 'no-legal-path' };
  if (plan[0] === action) return { kind: 'send' };
  if (!plan.includes(action)) return { kind: 'reflected' };
  return { kind: 'out-of-order', first: plan[0] as OutcomeAction };
}

/** Reads an outcome row's payload back; null when it is not one this engine wrote. */
export function readOutcomePayload(payload: Record<string, unknown>): OutcomePayload | null {
  const { outcome, fields, crmRecordId } = payload;
  if (typeof outcome !== 'string' || !(CRM_OUTCOMES as readonly string[]).includes(outcome))
    return null;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return null;
  return {
    outcome: outcome as CrmOutcome,
    fields: fields as Record<string, unknown>,
    crmRecordId: typeof crmRecordId === 'string' ? crmRecordId : '',
  };
}

/** An outbox row that marks the CRM lead of an expired referral (once per target and referral). */
export function reflectExpiredRow(
  target: string,
  referralId: string,
  crmRecordId: string,
): OutcomeToSend {
  return {
    referralId,
    target,
    action: REFLECT_EXPIRED,
    payload: { crmRecordId },
    dedupeKey: outcomeDedupeKey(target, referralId, REFLECT_EXPIRED),
  };
}

/**
 * For the inbound engine: reflect-expired rows for the referrals it saw Closed/Expired that have a CRM record on
 * the links' target (links as getLinks returns them for one target). Whether the lead is still open is checked
 * when the row is handled; enqueueing the same referral again does nothing.
 */
export function expiredReflections(
  items: ReadonlyArray<{ referral: Pick<Referral, 'id' | 'status' | 'substatus'> }>,
  links: ReadonlyMap<string, Link>,
): OutcomeToSend[] {
  return items.flatMap(({ referral }) => {
    const link = links.get(referral.id);
    if (
      !link?.crmRecordId ||
      !isTerminalStatus(referral.status) ||
      referral.substatus !== 'Expired'
    )
      return [];
    return [reflectExpiredRow(link.target, referral.id, link.crmRecordId)];
  });
}
