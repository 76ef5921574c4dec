// `leadbridge sync --once --dry-run`: the plan of one inbound pass from the current cursors, per
// target; writes nothing anywhere.
import type { LeadbridgeConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import type { Ledger } from '../ledger/index.js';
import { portalLink } from '../source/partner-center/facts.js';
import {
  planInbound,
  type PlanEntry,
  type PlanSource,
  type PlanTarget,
  type SyncPlan,
  type TargetPlan,
} from '../sync/plan.js';
import { createSource, loadMappings } from './compose.js';

export interface SyncPreviewOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  /** The ledger, opened by the caller (only read). */
  ledger: Ledger;
  cwd: string;
  out: NodeJS.WritableStream;
  json: boolean;
  signal?: AbortSignal;
  /** Defaults to a PartnerCenterClient built from the config (only lists referrals). */
  source?: PlanSource;
  now?: Date;
}

/**
 * Plans the pass and prints it: as text, one line per entry as it is decided (so a backfill's plan
 * does not pile up
 * in memory), then the counts; or the whole plan as JSON. No CRM is contacted: the ledger knows
 * what exists.
 */
export async function runSyncPreview(options: SyncPreviewOptions): Promise<SyncPlan> {
  const { config, out } = options;
  const enabled = config.targets.filter((t) => t.enabled);
  const mappings = await loadMappings(enabled);
  // As the runtime builds its targets (cli/compose.ts createTargets), minus the CRM adapter.
  const targets: PlanTarget[] = enabled.map((t, i) => ({
    name: t.name,
    mapping: mappings[i]!,
    leadKinds: config.source.partnerCenter.leadKinds,
    syncClosed: false,
  }));
  const width = Math.max(0, ...targets.map((t) => t.name.length));
  if (!options.json)
    out.write('dry run: nothing is written to Partner Center, the CRMs or the ledger\n');
  const plan = await planInbound({
    ledger: options.ledger,
    source: options.source ?? createSource(config, options.logger),
    targets,
    referralLink: portalLink,
    now: options.now ?? new Date(),
    signal: options.signal,
    ...(options.json
      ? {}
      : {
          onEntry: (target: string, entry: PlanEntry) =>
            out.write(`${entryLine(target.padEnd(width), entry)}\n`),
        }),
  });
  out.write(
    options.json
      ? `${JSON.stringify(plan, null, 2)}\n`
      : formatPlanSummary(plan, config.source.partnerCenter.overlapSeconds),
  );
  return plan;
}

function entryLine(target: string, entry: PlanEntry): string {
  const who = `${entry.referralId}  ${entry.leadKind}  ${entry.customer ?? '(no customer name)'}`;
  return `${target}  ${entry.action.padEnd(10)}  ${who}${entry.reason ? `: ${entry.reason}` : ''}`;
}

/** What follows the entry lines: where the pass read from, and per target its cursor and counts. */
function formatPlanSummary(plan: SyncPlan, overlapSeconds: number): string {
  const from =
    plan.since === null
      ? 'from the beginning'
      : `from ${plan.since} (the lowest target cursor, less the ${overlapSeconds} s overlap)`;
  const lines = [
    `${plan.referralsRead} referrals read in ${plan.pages} ` +
      `${plan.pages === 1 ? 'page' : 'pages'} ${from}`,
  ];
  if (plan.targets.length === 0) lines.push('no enabled targets: nothing would be synced');
  for (const target of plan.targets) lines.push(targetLine(target));
  for (const bad of plan.invalid)
    lines.push(
      `invalid ${bad.referralId ?? '(no id)'}: ${bad.issues.join('; ')} (skipped until it changes)`,
    );
  return `${lines.join('\n')}\n`;
}

function targetLine(plan: TargetPlan): string {
  const cursor = plan.mappingChanged
    ? 'its mapping changed: every referral is mapped again'
    : plan.cursor === null
      ? 'no cursor yet: a backfill'
      : `cursor ${plan.cursor}`;
  const c = plan.counts;
  return (
    `${plan.target} (${cursor}): would create ${c.create}, update ${c.update}, skip ${c.skip}, ` +
    `quarantine ${c.quarantine}; ` +
    `${c.unchanged} unchanged, ${c.alreadySynced} already synced at this version; ` +
    `${plan.retriesDue} failed writes due for retry`
  );
}
