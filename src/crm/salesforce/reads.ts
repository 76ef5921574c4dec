// Salesforce reads: outcomes and changes by SOQL, held back past the configured daily API share.
import type { Connection } from 'jsforce';
import type { ApiBudget, CrmChangePage, CrmRecordState } from '../adapter.js';
import {
  fetchAll,
  latestOpportunitySoql,
  leadState,
  leadsByReferralSoql,
  opportunitiesByIdSoql,
  opportunityState,
  readChangePages,
} from './changes.js';
import type { SalesforceContext as ReadContext, Signal } from './session.js';
import type { SalesforceSettings } from './settings.js';

/**
 * The org's daily API requests as last seen: every REST response carries
 * `Sforce-Limit-Info: api-usage=N/M` (jsforce keeps it in limitInfo); before any call, the
 * `/limits` resource's DailyApiRequests {Max, Remaining}.
 * Sources: Salesforce REST API Developer Guide, "Limits" resource and "Limit Info Header".
 */
export function apiBudgetOf(conn: Connection, settings: SalesforceSettings): ApiBudget | null {
  const usage = conn.limitInfo?.apiUsage;
  if (!usage || !(usage.limit > 0)) return null;
  const limitShare = settings.limits.maxDailyApiShare;
  return {
    used: usage.used,
    max: usage.limit,
    limitShare,
    holdingBack: usage.used >= usage.limit * limitShare,
  };
}

/**
 * Outcome reads are polling that can wait: past the configured share of the daily allocation they
 * stop.
 */
export async function* readChangesWithinBudget(
  ctx: ReadContext,
  since: string | null,
  signal: Signal,
): AsyncGenerator<CrmChangePage> {
  if (!(await readsWithinBudget(ctx, signal))) return;
  yield* readChangePages(
    { externalIdField: ctx.settings.externalIdField, runner: ctx.session.queryRunner(signal) },
    since,
  );
}

export async function readsWithinBudget(ctx: ReadContext, signal: Signal): Promise<boolean> {
  // Unknown, or last seen past the share: ask /limits, since the rolling 24 hours may have freed
  // calls meanwhile.
  if (apiBudgetOf(ctx.conn, ctx.settings)?.holdingBack !== false) await readLimits(ctx, signal);
  const budget = apiBudgetOf(ctx.conn, ctx.settings);
  if (!budget?.holdingBack) return true;
  ctx.logger.warn(
    'daily API share used: outcome reads wait until the allocation frees up; ' +
      'new referrals are still written',
    {
      used: budget.used,
      max: budget.max,
      maxDailyApiShare: budget.limitShare,
    },
  );
  return false;
}

async function readLimits(ctx: ReadContext, signal: Signal): Promise<void> {
  const { conn } = ctx;
  const limits = await ctx.session.call('read of /limits', () => conn.limits(), signal);
  const daily = (limits as { DailyApiRequests?: { Max?: unknown; Remaining?: unknown } })
    .DailyApiRequests;
  if (typeof daily?.Max !== 'number' || typeof daily.Remaining !== 'number') return;
  conn.limitInfo = {
    ...conn.limitInfo,
    apiUsage: { used: daily.Max - daily.Remaining, limit: daily.Max },
  };
}

export async function getByReferralId(
  ctx: ReadContext,
  referralId: string,
  signal: Signal,
): Promise<CrmRecordState | null> {
  if (referralId.trim() === '') return null;
  const field = ctx.settings.externalIdField;
  const runner = ctx.session.queryRunner(signal);
  const [lead] = await fetchAll(runner, leadsByReferralSoql(field, [referralId]));
  const converted = lead?.ConvertedOpportunityId;
  if (lead && typeof converted === 'string') {
    const [opportunity] = await fetchAll(runner, opportunitiesByIdSoql(field, [converted]));
    return leadState(referralId, lead, opportunity);
  }
  // An open lead may still have an opportunity carrying its referral id, and a referral may be
  // written as an opportunity only.
  const [opportunity] = await fetchAll(runner, latestOpportunitySoql(field, referralId));
  if (lead) return leadState(referralId, lead, opportunity);
  return opportunity ? opportunityState(referralId, opportunity) : null;
}
