// The life-cycle checks the service applies to a partner's write, on the simulator's own table
// (vocabulary.ts).
import { isPlainObject } from './json.js';
import { PARTNER_CLOSES, STATUS_MOVES, SUBSTATUSES_OF } from './vocabulary.js';

/**
 * A write that breaks the life cycle; the message names the move (from and to) and what is wrong.
 */
export class TransitionError extends Error {
  override name = 'TransitionError';
}

/** What accepting a referral needs (api-facts.md §1, "Accept"). */
const ACCEPT_REQUIRED_FIELDS = [
  'name',
  'details.dealValue',
  'details.currency',
  'details.closingDateTime',
  'details.notes',
] as const;

/** Closing substatuses that must carry the reason in statusReason. */
const REASON_REQUIRED: ReadonlySet<string> = new Set(['Declined', 'Lost']);

/**
 * Checks a partner's write from `before` to `after` (both whole referrals). Returns whether the
 * write accepts the referral (the caller then stamps acceptedDateTime).
 */
export function checkPartnerTransition(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): { accepted: boolean } {
  const from = { status: String(before.status), substatus: String(before.substatus) };
  const to = { status: String(after.status), substatus: String(after.substatus) };
  if (from.status === to.status && from.substatus === to.substatus) return { accepted: false };
  const move = `${from.status}/${from.substatus} to ${to.status}/${to.substatus}`;
  if (!(STATUS_MOVES[from.status] ?? []).includes(to.status)) {
    const allowed = STATUS_MOVES[from.status]?.join(', ') || 'nothing';
    throw new TransitionError(
      `illegal status change from ${from.status} to ${to.status} (${move}): ${from.status} may ` +
        `move to ${allowed}`,
    );
  }
  if (!isLegalSubstatus(to.status, to.substatus)) {
    const allowed = SUBSTATUSES_OF[to.status]?.join(', ') ?? 'none';
    throw new TransitionError(
      `illegal change from ${move}: substatus ${to.substatus} does not go with status ` +
        `${to.status} (allowed: ${allowed})`,
    );
  }
  if (to.status === 'Closed') checkClosing(from.status, to.substatus, move, after);
  if (from.status === 'New' && to.status === 'Active') {
    checkAcceptFields(after, move);
    return { accepted: true };
  }
  return { accepted: false };
}

/**
 * Closing moves follow the partner's actions: decline from New, win or lose from Active; Expired
 * and Error are the system's.
 */
function checkClosing(
  fromStatus: string,
  substatus: string,
  move: string,
  after: Record<string, unknown>,
): void {
  const from = PARTNER_CLOSES[substatus];
  if (!from)
    throw new TransitionError(
      `illegal change from ${move}: Closed/${substatus} is set by the service, not by a partner`,
    );
  if (from !== fromStatus) {
    throw new TransitionError(
      `illegal change from ${move}: a referral moves to Closed/${substatus} only from ${from}`,
    );
  }
  if (REASON_REQUIRED.has(substatus) && !isText(after.statusReason)) {
    throw new TransitionError(
      `the change from ${move} requires statusReason (the reason the referral was ` +
        `${substatus.toLowerCase()})`,
    );
  }
}

function checkAcceptFields(after: Record<string, unknown>, move: string): void {
  const details = isPlainObject(after.details) ? after.details : {};
  const present: Record<(typeof ACCEPT_REQUIRED_FIELDS)[number], boolean> = {
    name: isText(after.name),
    'details.dealValue': details.dealValue !== null && details.dealValue !== undefined,
    'details.currency': isText(details.currency),
    'details.closingDateTime': isText(details.closingDateTime),
    'details.notes': isText(details.notes),
  };
  const missing = ACCEPT_REQUIRED_FIELDS.filter((field) => !present[field]);
  if (missing.length > 0) {
    throw new TransitionError(
      `accepting a referral (${move}) requires ${ACCEPT_REQUIRED_FIELDS.join(', ')}; missing: ` +
        `${missing.join(', ')}`,
    );
  }
}

function isText(value: unknown): boolean {
  return typeof value === 'string' && value.trim().length > 0;
}

export function isLegalSubstatus(status: string, substatus: string): boolean {
  return (SUBSTATUSES_OF[status] ?? []).includes(substatus);
}
