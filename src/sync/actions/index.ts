// The outbox actions, one module each, in the one table the drain reads: an action is a module and
// a line here.
import { silentLogger, type Logger } from '../../core/log.js';
import type { Ledger } from '../../ledger/index.js';
import {
  drainOutbox,
  type DrainOptions,
  type DrainStats,
  type RegisteredHandler,
} from '../outbox.js';
import type { OutboundStats, OutcomeWriter, ReferralSource, SyncTarget } from '../types.js';
import { handlerLedger, type ActionContext } from './context.js';
import { OUTCOME_ACTION_NAMES, outcomeHandler } from './outcome.js';
import { CREATE_REFERRAL, createReferralHandler, type DealWriter } from './create-referral.js';
import { REFLECT_EXPIRED, reflectExpiredHandler } from './reflect-expired.js';
import { SET_EXTERNAL_REFERENCE, setExternalReferenceHandler } from './set-external-reference.js';

interface OutboxAction {
  /** The name its rows are counted under (DrainStats.byKind). */
  kind: string;
  /** The outbox `action` values it handles. */
  actions: readonly string[];
  /**
   * Whether its verdicts count in the cycle's outbound statistics (writes that carry a CRM
   * outcome).
   */
  outbound: boolean;
  handler(context: ActionContext): RegisteredHandler['handle'];
}

const OUTBOX_ACTIONS: readonly OutboxAction[] = [
  {
    kind: SET_EXTERNAL_REFERENCE,
    actions: [SET_EXTERNAL_REFERENCE],
    outbound: false,
    handler: setExternalReferenceHandler,
  },
  { kind: 'outcome', actions: OUTCOME_ACTION_NAMES, outbound: true, handler: outcomeHandler },
  {
    kind: REFLECT_EXPIRED,
    actions: [REFLECT_EXPIRED],
    outbound: true,
    handler: reflectExpiredHandler,
  },
  {
    kind: CREATE_REFERRAL,
    actions: [CREATE_REFERRAL],
    outbound: false,
    handler: createReferralHandler,
  },
];

/** Every registered action's handler, by outbox `action` value. */
export function outboxHandlers(context: ActionContext): ReadonlyMap<string, RegisteredHandler> {
  const handlers = new Map<string, RegisteredHandler>();
  for (const action of OUTBOX_ACTIONS) {
    const handle = action.handler(context);
    for (const name of action.actions) handlers.set(name, { kind: action.kind, handle });
  }
  return handlers;
}

export interface ActionDrainOptions extends Omit<DrainOptions, 'logger'> {
  ledger: Ledger;
  source: ReferralSource & OutcomeWriter;
  /** Creates partner-originated referrals (create-referral). */
  deals?: DealWriter;
  targets: readonly SyncTarget[];
  logger?: Logger;
  now?: () => Date;
  /** A send that keeps failing (network, 5xx) is quarantined at this attempt (default 8). */
  maxAttempts?: number;
}

/**
 * Drains the whole outbox with every registered action; the outbound actions' verdicts (and their
 * conflicts and reflected expiries) are added to `outbound`, the cycle's outbound statistics.
 */
export async function drainOutboxActions(
  options: ActionDrainOptions,
  outbound: OutboundStats,
): Promise<DrainStats> {
  const logger = options.logger ?? silentLogger;
  const context: ActionContext = {
    ledger: handlerLedger(options.ledger),
    source: options.source,
    ...(options.deals ? { deals: options.deals } : {}),
    targets: new Map(options.targets.map((target) => [target.name, target])),
    logger,
    stats: outbound,
    maxAttempts: options.maxAttempts ?? 8,
    now: options.now ?? (() => new Date()),
  };
  const drained = await drainOutbox(options.ledger, outboxHandlers(context), {
    ...options,
    logger,
  });
  for (const action of OUTBOX_ACTIONS.filter((candidate) => candidate.outbound)) {
    const counts = drained.byKind[action.kind];
    if (!counts) continue;
    for (const state of ['sent', 'failed', 'superseded', 'quarantined'] as const)
      outbound[state] += counts[state];
  }
  return drained;
}
