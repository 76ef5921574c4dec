// The pure decisions of the outbound sync: what a CRM record's outcome asks of its referral, and
// whether an outbox row is still due.
import { planOutcome, type OutcomeAction } from '../core/lifecycle.js';
import type { Referral } from '../core/referral.js';
import type { CrmRecordState } from '../crm/adapter.js';
import type { OutboxRow, OutboxState, OutcomeToSend } from '../ledger/index.js';
import {
  CRM_OUTCOMES,
  ruleMatches,
  type CompiledMapping,
  type CrmOutcome,
  type CrmRecordView,
  type OutcomeReading,
} from '../mapping/index.js';
import { incompleteOutcomeRow, OUTCOME_ACTION_NAMES, outcomeRow } from './actions/outcome.js';

/** Partner Center refuses an accept without these five (api-facts.md §1, "Accept"). */
const PARTNER_CENTER_ACCEPT_FIELDS = [
  'dealName',
  'dealValue',
  'currency',
  'closingDateTime',
  'notes',
] as const;

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

/**
 * The lead and opportunity halves of a CRM record state, as the mapping's status rules see them.
 */
export function recordView(record: CrmRecordState, referral: Referral): CrmRecordView {
  return {
    referral,
    lead: record.entity === 'lead' ? record.fields : null,
    opportunity:
      record.entity === 'opportunity' ? record.fields : (record.opportunity?.fields ?? null),
  };
}

/**
 * The outcome a record reads as, without the referral (rules look at CRM fields only), most
 * advanced first as readOutcome tries them: enough to rule records out before fetching their
 * referral.
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
 * Decides what a CRM reading asks of a referral in `referral.status`: nothing (no outcome, already
 * shown, or no legal path), the ordered outbox rows to record, or a quarantine when a field the
 * actions need is missing.
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
    const row = incompleteOutcomeRow(target, referral.id, firstGap.action, {
      outcome,
      actions,
      missing,
      reason,
      crmRecordId,
    });
    return { kind: 'quarantine', outcome, actions, row, reason, missing };
  }
  const rows = actions.map((action) =>
    outcomeRow(target, referral.id, action, {
      outcome,
      fields: actionFields(action, reading),
      crmRecordId,
    }),
  );
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
 * Reconciles a decision with the rows already recorded for the same referral and target
 * (`existing`).
 * - enqueue: nothing when every step already has a live row (a re-read changes nothing); otherwise
 *   the unsent rows are retired and the steps not yet sent are recorded again, so rows stay in
 *   life-cycle order (claims take the oldest first) and an outcome once quarantined or refused can
 *   flow again after a CRM fix.
 * - quarantine: replaces an earlier quarantined reading; the same problem read again adds nothing.
 * - none: quarantined readings are no longer needed (the referral shows the outcome, or is
 *   archived).
 */
export function reconcileRows(
  decision: OutcomeDecision,
  recorded: readonly OutboxRow[],
): OutboxChange {
  // Other actions share the outbox (set-external-reference, reflect-expired): they are not this
  // outcome's rows.
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

function missingFields(action: OutcomeAction, reading: OutcomeReading): string[] {
  if (action === 'decline' || action === 'lose') return reading.reason === null ? ['reason'] : [];
  if (action === 'win') return [];
  const failed = new Set(reading.errors.map((error) => error.field));
  return PARTNER_CENTER_ACCEPT_FIELDS.filter(
    (name) => failed.has(name) || isEmpty(reading.acceptFields?.[name]),
  );
}

function actionFields(action: OutcomeAction, reading: OutcomeReading): Record<string, unknown> {
  if (action === 'decline' || action === 'lose') return { reason: reading.reason };
  if (action === 'win') return {};
  const given = reading.acceptFields ?? {};
  return Object.fromEntries(PARTNER_CENTER_ACCEPT_FIELDS.map((name) => [name, given[name]]));
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
  const gap = `${missing.join(', ')} ${verb} missing to ${actions.join(' and ')} the referral`;
  return `the CRM record reads as ${outcome}, but ${gap} (${details.join('; ')})`;
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}
