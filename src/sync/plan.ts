// The inbound cycle as a plan: what one pass from the current cursors would create, update, skip or
// quarantine per target, read-only.
import { formatIssue } from '../core/errors.js';
import { compareInstants } from '../core/time.js';
import {
  countDueRetries,
  getCursor,
  getEchoes,
  getLinks,
  getSyncStates,
  hasOtherMappingVersion,
  type Ledger,
} from '../ledger/index.js';
import { decideInbound, type InboundDecision } from './decide.js';
import { withoutEchoes } from './echo.js';
import { withLeadKind } from './lead-kind.js';
import {
  inboundCursorName,
  type ReferralSource,
  type ReferralWithKind,
  type SyncTarget,
} from './types.js';

type PlanAction = 'create' | 'update' | 'skip' | 'quarantine';

export interface PlanEntry {
  referralId: string;
  leadKind: string;
  customer: string | null;
  action: PlanAction;
  /**
   * Why a referral is skipped or quarantined (for a quarantine: every mapping error, with its CRM
   * field).
   */
  reason?: string;
  /** The CRM fields whose mapping failed (quarantine only). */
  fields?: string[];
}

export interface TargetPlan {
  target: string;
  /**
   * The target's inbound cursor (null: never synced, or its mapping changed: every referral is
   * read).
   */
  cursor: string | null;
  mappingChanged: boolean;
  counts: Record<PlanAction | 'unchanged' | 'alreadySynced', number>;
  /** Failed writes whose retry time has come: the cycle fetches and writes them again first. */
  retriesDue: number;
  /** Empty when the caller took the entries one by one (PlanOptions.onEntry). */
  entries: PlanEntry[];
}

export interface SyncPlan {
  /**
   * Where the pass starts: the lowest target cursor (before the source's overlap), null from the
   * beginning.
   */
  since: string | null;
  pages: number;
  referralsRead: number;
  invalid: Array<{ referralId: string | null; issues: string[] }>;
  targets: TargetPlan[];
}

/**
 * What a plan needs of a target: its name, mapping and filters (no CRM adapter: a plan talks to no
 * CRM).
 */
export type PlanTarget = Pick<SyncTarget, 'name' | 'mapping' | 'leadKinds' | 'syncClosed'>;

/** The part of the lead source a plan reads (listing only: nothing is written). */
export type PlanSource = Pick<ReferralSource, 'listChanged'>;

export interface PlanOptions {
  ledger: Ledger;
  source: PlanSource;
  targets: PlanTarget[];
  referralLink: (referralId: string) => string;
  now: Date;
  signal?: AbortSignal;
  /**
   * Receives each entry as it is decided; entries are then not kept in the plan (memory stays flat
   * on a backfill).
   */
  onEntry?: (target: string, entry: PlanEntry) => void;
}

/**
 * Reads the referral stream from the current cursors and decides every referral per target, as a
 * cycle would; writes nothing.
 */
export async function planInbound(options: PlanOptions): Promise<SyncPlan> {
  const { ledger, targets } = options;
  const plans = await Promise.all(targets.map((target) => startPlan(ledger, target, options.now)));
  const since =
    plans.some((p) => p.cursor === null) || plans.length === 0
      ? null
      : (plans.map((p) => p.cursor as string).sort(compareInstants)[0] ?? null);
  const plan: SyncPlan = { since, pages: 0, referralsRead: 0, invalid: [], targets: plans };
  for await (const page of options.source.listChanged(since, { signal: options.signal })) {
    plan.pages++;
    plan.referralsRead += page.referrals.length;
    for (const bad of page.invalid)
      plan.invalid.push({ referralId: bad.id, issues: bad.issues.map(formatIssue) });
    const items = page.referrals.map(withLeadKind);
    const echoes = await getEchoes(
      ledger.db,
      items.map((item) => item.referral.id),
    );
    for (const [i, target] of targets.entries())
      await planPage(ledger, target, plans[i] as TargetPlan, items, echoes, options);
  }
  return plan;
}

async function startPlan(ledger: Ledger, target: PlanTarget, now: Date): Promise<TargetPlan> {
  const stored = await getCursor(ledger.db, inboundCursorName(target.name));
  const mappingChanged =
    stored !== null &&
    (await hasOtherMappingVersion(ledger.db, target.name, target.mapping.version));
  return {
    target: target.name,
    cursor: mappingChanged ? null : stored,
    mappingChanged,
    counts: { create: 0, update: 0, skip: 0, quarantine: 0, unchanged: 0, alreadySynced: 0 },
    retriesDue: await countDueRetries(ledger.db, target.name, now.toISOString()),
    entries: [],
  };
}

async function planPage(
  ledger: Ledger,
  target: PlanTarget,
  plan: TargetPlan,
  items: ReferralWithKind[],
  echoes: Awaited<ReturnType<typeof getEchoes>>,
  options: PlanOptions,
): Promise<void> {
  const ids = items.map((item) => item.referral.id);
  const [links, states] = await Promise.all([
    getLinks(ledger.db, target.name, ids),
    getSyncStates(ledger.db, target.name, ids),
  ]);
  for (const item of items) {
    const id = item.referral.id;
    const link = links.get(id);
    const view = { ...item, referral: withoutEchoes(item.referral, echoes.get(id)) };
    const decision = decideInbound(view, {
      target,
      link,
      state: states.get(id),
      referralLink: options.referralLink(id),
      forced: false,
    });
    const entry = entryFor(item, decision, Boolean(link?.crmRecordId));
    if (entry === 'alreadySynced' || entry === 'unchanged') {
      plan.counts[entry]++;
      continue;
    }
    plan.counts[entry.action]++;
    if (options.onEntry) options.onEntry(target.name, entry);
    else plan.entries.push(entry);
  }
}

function entryFor(
  item: ReferralWithKind,
  decision: InboundDecision,
  hasRecord: boolean,
): PlanEntry | 'alreadySynced' | 'unchanged' {
  const base = {
    referralId: item.referral.id,
    leadKind: item.leadKind,
    customer: item.referral.customerProfile?.name?.trim() || null,
  };
  switch (decision.kind) {
    case 'same-version':
      return 'alreadySynced';
    case 'unchanged':
      return 'unchanged';
    case 'skip-kind':
      return {
        ...base,
        action: 'skip',
        reason: `lead kind ${item.leadKind} is not synced (source.partnerCenter.leadKinds)`,
      };
    case 'skip-closed':
      return {
        ...base,
        action: 'skip',
        reason:
          `archived (${item.referral.status}/${String(item.referral.substatus)}) before ` +
          `it was ever synced`,
      };
    case 'skip-converted':
      return { ...base, action: 'skip', reason: decision.reason };
    case 'quarantine':
      return {
        ...base,
        action: 'quarantine',
        reason: decision.reason,
        fields: decision.errors.map((e) => e.field),
      };
    case 'write':
      return { ...base, action: hasRecord ? 'update' : 'create' };
  }
}
