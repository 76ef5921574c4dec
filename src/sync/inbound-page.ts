// The inbound cycle's page step: every referral of a page decided for one target; writes buffered,
// the rest recorded.
import {
  appendAudit,
  enqueueOutcomes,
  getEchoes,
  getLinks,
  getSyncStates,
  transitionSyncStates,
  upsertLinks,
  type Link,
  type SyncStateRow,
} from '../ledger/index.js';
import { referralVersion } from '../core/referral.js';
import { expiredReflections } from './actions/reflect-expired.js';
import { convertedAudit, settledMoves } from './converted.js';
import { decideInbound, type InboundDecision } from './decide.js';
import { withoutEchoes } from './echo.js';
import type { CycleOptions } from './inbound.js';
import {
  emptyPageRecord,
  saveCursor,
  versionColumns,
  type InboundContext,
  type PageRecord,
  type TargetRun,
} from './inbound-run.js';
import { countFor, type InboundStats, type ReferralWithKind } from './types.js';

/**
 * Decides every referral of a page for one target; records all but the writes, which are buffered.
 */
export async function decidePage(
  ctx: InboundContext,
  run: TargetRun,
  items: ReferralWithKind[],
  pageIndex: number | null,
  cycle: CycleOptions,
  stats: InboundStats,
): Promise<void> {
  const { db } = ctx.options.ledger;
  const target = run.target.name;
  const ids = items.map((i) => i.referral.id);
  const [links, states, echoes] = await Promise.all([
    getLinks(db, target, ids),
    getSyncStates(db, target, ids),
    getEchoes(db, ids),
  ]);
  const record = emptyPageRecord();
  for (const item of items) {
    const id = item.referral.id;
    const link = links.get(id);
    const state = states.get(id);
    // Mapped as if leadbridge's own accept writes were not there (sync/echo.ts).
    const decision = decideInbound(
      { ...item, referral: withoutEchoes(item.referral, echoes.get(id)) },
      {
        target: run.target,
        link,
        state,
        referralLink: ctx.options.referralLink(id),
        forced: pageIndex === null,
      },
    );
    recordDecision(run, record, { item, link, state, decision, pageIndex }, cycle, stats);
  }
  // Expired referrals with a CRM record: the CRM is told (once) so nobody works a dead lead.
  const reflections = expiredReflections(items, links);
  await ctx.options.ledger.transaction(async (trx) => {
    await upsertLinks(trx, record.links);
    await transitionSyncStates(trx, target, record.transitions);
    await appendAudit(trx, record.audits);
    if (reflections.length > 0) await enqueueOutcomes(trx, reflections);
    if (pageIndex !== null) await saveCursor(trx, run);
  });
}
/**
 * One referral's decision: counted, and its link, state move and audit added to the page's record.
 */
function recordDecision(
  run: TargetRun,
  record: PageRecord,
  decided: {
    item: ReferralWithKind;
    link: Link | undefined;
    state: SyncStateRow | undefined;
    decision: InboundDecision;
    pageIndex: number | null;
  },
  cycle: CycleOptions,
  stats: InboundStats,
): void {
  const { item, link, state, decision, pageIndex } = decided;
  const target = run.target.name;
  const id = item.referral.id;
  const seenVersion = versionColumns(item, target);
  switch (decision.kind) {
    case 'same-version':
      break;
    case 'skip-kind':
    case 'skip-closed':
      countFor(stats, target, decision.kind === 'skip-kind' ? 'skippedKind' : 'skippedClosed');
      record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
      record.audits.push({
        runId: cycle.runId,
        referralId: id,
        target,
        action: decision.kind === 'skip-kind' ? 'skipped-kind' : 'skipped-closed',
        detail: { leadKind: item.leadKind, status: item.referral.status },
      });
      break;
    case 'skip-converted':
      countFor(stats, target, 'skippedConverted');
      record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
      record.transitions.push(...settledMoves(id, state, cycle.runId));
      record.audits.push(convertedAudit(cycle.runId, id, target, link?.crmRecordId, decision));
      break;
    case 'quarantine':
      countFor(stats, target, 'quarantined');
      record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
      if (state?.state !== 'quarantined' || state.quarantineReason !== decision.reason) {
        if (state?.state === 'applied')
          record.transitions.push({ referralId: id, to: 'pending', runId: cycle.runId });
        record.transitions.push({
          referralId: id,
          to: 'quarantined',
          quarantineReason: decision.reason,
          runId: cycle.runId,
        });
      }
      record.audits.push({
        runId: cycle.runId,
        referralId: id,
        target,
        action: 'quarantined',
        crmRecordId: link?.crmRecordId ?? null,
        detail: { reason: decision.reason, errors: decision.errors },
      });
      break;
    case 'unchanged':
      countFor(stats, target, 'unchanged');
      record.links.push({ ...seenVersion, mappingVersion: run.target.mapping.version });
      record.audits.push({
        runId: cycle.runId,
        referralId: id,
        target,
        action: 'skipped-unchanged',
        crmRecordId: link?.crmRecordId ?? null,
        detail: { eTag: referralVersion(item.referral) },
      });
      break;
    case 'write':
      if (state && state.state !== 'pending')
        record.transitions.push({ referralId: id, to: 'pending', runId: cycle.runId });
      run.buffer.push({
        pageIndex,
        item,
        fields: decision.fields,
        hash: decision.hash,
        link,
        state,
      });
      if (pageIndex !== null) run.tracker.hold(pageIndex);
      break;
  }
}
