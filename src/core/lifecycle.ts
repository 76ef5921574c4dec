// The referral life cycle on the wire: which status moves are legal and which substatus goes with
// each.
import type { ReferralStatus, ReferralSubstatus } from './referral.js';

/** from status → statuses it may move to (api-facts.md §1, "Life cycle on the wire"). */
const STATUS_TRANSITIONS: Readonly<Record<ReferralStatus, readonly ReferralStatus[]>> = {
  None: ['None', 'New', 'Active', 'Closed'],
  New: ['New', 'Active', 'Closed'],
  Active: ['Active', 'Closed'],
  Closed: [],
};

/** status → substatuses that may accompany it. */
const SUBSTATUS_FOR_STATUS: Readonly<Record<ReferralStatus, readonly ReferralSubstatus[]>> = {
  None: ['None'],
  New: ['Pending', 'Received'],
  Active: ['Accepted'],
  Closed: ['Won', 'Lost', 'Declined', 'Expired', 'Error'],
};

/** Terminal statuses are derived from the table: those that may move nowhere. */
export function isTerminalStatus(status: string): boolean {
  const next = STATUS_TRANSITIONS[status as ReferralStatus];
  return next !== undefined && next.length === 0;
}

export function isLegalStatusMove(from: string, to: string): boolean {
  return (STATUS_TRANSITIONS[from as ReferralStatus] ?? []).includes(to as ReferralStatus);
}

export function isLegalSubstatus(status: string, substatus: string): boolean {
  return (SUBSTATUS_FOR_STATUS[status as ReferralStatus] ?? []).includes(
    substatus as ReferralSubstatus,
  );
}

/** The partner's answers that leadbridge can report back. */
export type OutcomeAction = 'accept' | 'decline' | 'win' | 'lose';

/** Where each action lands, and the status it must start from. */
export const OUTCOME_ACTIONS: Readonly<
  Record<OutcomeAction, { from: ReferralStatus; to: ReferralStatus; substatus: ReferralSubstatus }>
> = {
  accept: { from: 'New', to: 'Active', substatus: 'Accepted' },
  decline: { from: 'New', to: 'Closed', substatus: 'Declined' },
  win: { from: 'Active', to: 'Closed', substatus: 'Won' },
  lose: { from: 'Active', to: 'Closed', substatus: 'Lost' },
};

/**
 * The ordered actions that bring a referral from `status` to the CRM's `outcome`
 * (a deal won in the CRM while the referral is still New is accepted first, then won).
 * Returns [] when the referral already reflects it, or null when no legal path exists.
 */
export function planOutcome(
  status: string,
  outcome: 'accepted' | 'declined' | 'won' | 'lost',
): OutcomeAction[] | null {
  if (isTerminalStatus(status)) return null;
  switch (outcome) {
    case 'accepted':
      return status === 'Active' ? [] : status === 'New' ? ['accept'] : null;
    case 'declined':
      return status === 'New' ? ['decline'] : null;
    case 'won':
      return status === 'Active' ? ['win'] : status === 'New' ? ['accept', 'win'] : null;
    case 'lost':
      return status === 'Active' ? ['lose'] : status === 'New' ? ['accept', 'lose'] : null;
  }
}
