// The inbound cycle's retry step: failed writes whose time has come are fetched again and
// re-decided.
import PQueue from 'p-queue';
import { normaliseError, type LeadbridgeError } from '../core/errors.js';
import { nextRetryAt } from '../core/retry.js';
import { appendAudit, claimDueRetries, transitionSyncStates } from '../ledger/index.js';
import type { CycleOptions } from './inbound.js';
import { flush } from './inbound-flush.js';
import { decidePage } from './inbound-page.js';
import type { InboundContext, TargetRun } from './inbound-run.js';
import { withLeadKind } from './lead-kind.js';
import type { InboundStats, ReferralWithKind } from './types.js';

/** Failed writes whose retry time has come: re-fetched one by one and written again. */
export async function processDueRetries(
  ctx: InboundContext,
  run: TargetRun,
  cycle: CycleOptions,
  stats: InboundStats,
): Promise<void> {
  const { db } = ctx.options.ledger;
  const ids = await claimDueRetries(
    db,
    run.target.name,
    ctx.now().toISOString(),
    ctx.options.retryBatchSize ?? 200,
    cycle.runId,
  );
  if (ids.length === 0) return;
  stats.retried += ids.length;
  const queue = new PQueue({ concurrency: 8 });
  const fetched: ReferralWithKind[] = [];
  const lost: Array<{ referralId: string; error: LeadbridgeError }> = [];
  await queue.addAll(
    ids.map((id) => async () => {
      try {
        const referral = await ctx.options.source.get(id, { signal: cycle.signal });
        fetched.push(withLeadKind(referral));
      } catch (thrown) {
        lost.push({ referralId: id, error: normaliseError(thrown, 'partner-center') });
      }
    }),
  );
  if (lost.length > 0) await recordUnfetchable(ctx, run, lost, cycle.runId);
  await decidePage(ctx, run, fetched, null, cycle, stats);
  while (!run.down && run.buffer.some((w) => w.pageIndex === null)) {
    await flush(ctx, run, run.target.adapter.maxBatchSize, cycle, stats);
  }
}

async function recordUnfetchable(
  ctx: InboundContext,
  run: TargetRun,
  lost: Array<{ referralId: string; error: LeadbridgeError }>,
  runId: string,
): Promise<void> {
  const target = run.target.name;
  await ctx.options.ledger.transaction(async (trx) => {
    await transitionSyncStates(
      trx,
      target,
      lost.map(({ referralId, error }) =>
        error.code === 'NOT_FOUND'
          ? {
              referralId,
              to: 'quarantined' as const,
              quarantineReason: 'the referral no longer exists in Partner Center',
              runId,
            }
          : {
              referralId,
              to: 'failed' as const,
              error: { code: error.code, message: error.message },
              nextRetryAt: nextRetryAt(ctx.now(), 1),
              runId,
            },
      ),
    );
    await appendAudit(
      trx,
      lost.map(({ referralId, error }) => ({
        runId,
        referralId,
        target,
        action: 'failed',
        detail: { stage: 'refetch', code: error.code, message: error.message },
      })),
    );
  });
}
