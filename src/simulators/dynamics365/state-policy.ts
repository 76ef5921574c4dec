// The state a record starts in, and which state changes a plain write may make (others: actions).
import { invalidArgument } from './errors.js';
import { LEAD, OPPORTUNITY, stateOf, type TableSpec } from './schema.js';
import type { Row } from './values.js';

/**
 * Who asks for a state change: the Web API (leads may be disqualified or reopened by PATCH but are
 * qualified through QualifyLead; opportunities are closed through Win/LoseOpportunity) or a CRM
 * user through /_sim/ (anything valid).
 */
export type StateActor = 'api' | 'user';

/**
 * Which state changes a plain write may make; closing a lead as qualified or an opportunity goes
 * through actions.
 */
export function checkStatePolicy(
  table: TableSpec,
  current: Row | null,
  statecode: number,
  actor: StateActor,
): void {
  const name = stateOf(table, statecode)?.name;
  if (!current) {
    if (statecode !== 0) {
      throw invalidArgument(
        `A ${table.logicalName} is created in state ${table.stateEnum}State.` +
          `${stateOf(table, 0)?.name}; statecode ${statecode} (${name}) can only be set ` +
          `afterwards.`,
      );
    }
    return;
  }
  if (actor === 'user' || current.statecode === statecode) return;
  if (table === LEAD && statecode === 1) {
    throw invalidArgument(
      'A lead is qualified through the QualifyLead action, not by setting statecode 1 (Qualified).',
    );
  }
  if (table === OPPORTUNITY && statecode !== 0) {
    throw invalidArgument(
      `An opportunity is closed through the WinOpportunity or LoseOpportunity action, not by ` +
        `setting statecode ${statecode} (${name}).`,
    );
  }
}

export function defaultState(table: TableSpec): { statecode: number; statuscode: number } {
  const open = table.states[0];
  return { statecode: open?.code ?? 0, statuscode: open?.statuses[0] ?? 1 };
}
