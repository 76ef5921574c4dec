// Generic checks over the ledger's explicit state-transition tables (sync states, outbox, runs).
import { LeadbridgeError } from '../core/errors.js';

/** from state → states it may move to. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export function canMove<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return (table[from] ?? []).includes(to);
}

/** Terminal states are derived from the table: those that may move nowhere. */
export function terminalStates<S extends string>(table: TransitionTable<S>): S[] {
  return (Object.keys(table) as S[]).filter((state) => table[state].length === 0);
}

/**
 * States from which a move to `to` is legal (the guard of a claiming `UPDATE … WHERE state IN
 * (…)`).
 */
export function statesThatMayMoveTo<S extends string>(table: TransitionTable<S>, to: S): S[] {
  return (Object.keys(table) as S[]).filter((state) => table[state].includes(to));
}

/**
 * Throws LEDGER_ERROR when `from → to` is not in the table.
 * `kind` names the table ("sync-state"), `subject` the row ("for referral "R1" on target
 * "crm:dynamics"").
 */
export function assertMove<S extends string>(
  table: TransitionTable<S>,
  kind: string,
  from: S,
  to: S,
  subject: string,
): void {
  if (canMove(table, from, to)) return;
  const allowed = table[from]?.length ? table[from].join(', ') : 'nothing (terminal)';
  throw new LeadbridgeError(
    'LEDGER_ERROR',
    `illegal ${kind} move ${from} → ${to} ${subject} (${from} may move to: ${allowed})`,
  );
}
