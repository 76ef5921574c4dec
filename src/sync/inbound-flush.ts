// The inbound cycle's write step: buffered records upserted into the CRM in batches, every result
// recorded.
import { convertedOnWrite } from './converted.js';
import { LeadbridgeError, normaliseError } from '../core/errors.js';
import { isTerminalStatus } from '../core/lifecycle.js';
import { nextRetryAt } from '../core/retry.js';
import type { UpsertItemResult } from '../crm/adapter.js';
import {
  appendAudit,
  enqueueOutcomes,
  transitionSyncStates,
  upsertLinks,
} from '../ledger/index.js';
import { setExternalReferenceRow } from './actions/set-external-reference.js';
import type { CycleOptions } from './inbound.js';
import {
  emptyPageRecord,
  saveCursor,
  versionColumns,
  type InboundContext,
  type PageRecord,
  type PendingWrite,
  type TargetRun,
} from './inbound-run.js';
import { countFor, type InboundStats } from './types.js';

/** Writes up to `count` buffered records to the CRM and records every result in one transaction. */
export async function flush(
  ctx: InboundContext,
  run: TargetRun,
  count: number,
  cycle: CycleOptions,
  stats: InboundStats,
): Promise<void> {
  const batch = run.buffer.splice(0, count);
  const target = run.target.name;
  let results: UpsertItemResult[];
  try {
    results = await run.target.adapter.upsertLeads(
      batch.map((w) => ({ referralId: w.item.referral.id, fields: w.fields })),
      { signal: cycle.signal },
    );
    if (results.length !== batch.length) {
      throw new LeadbridgeError(
        'INTERNAL',
        `${target}: the adapter returned ${results.length} results for ${batch.length} records`,
      );
    }
  } catch (thrown) {
    run.down = normaliseError(thrown, run.target.adapter.kind);
    run.buffer.unshift(...batch);
    ctx.logger.error(
      'CRM target failed; it sits out the rest of this cycle and resumes from its cursor',
      {
        target,
        error: run.down.message,
        code: run.down.code,
      },
    );
    return;
  }
  const record = recordResults(ctx, run, batch, results, cycle.runId, stats);
  const outbox = writeBackRequests(ctx, run, batch, results);
  await ctx.options.ledger.transaction(async (trx) => {
    await upsertLinks(trx, record.links);
    await transitionSyncStates(trx, target, record.transitions);
    await appendAudit(trx, record.audits);
    if (outbox.length > 0) await enqueueOutcomes(trx, outbox);
    await saveCursor(trx, run);
  });
}

function recordResults(
  ctx: InboundContext,
  run: TargetRun,
  batch: PendingWrite[],
  results: UpsertItemResult[],
  runId: string,
  stats: InboundStats,
): PageRecord {
  const target = run.target.name;
  const record = emptyPageRecord();
  batch.forEach((write, i) => {
    const result = results[i] as UpsertItemResult;
    const id = write.item.referral.id;
    if (write.pageIndex !== null) run.tracker.release(write.pageIndex);
    if (result.ok) {
      countFor(stats, target, result.created ? 'created' : 'updated');
      record.links.push({
        ...versionColumns(write.item, target),
        crmRecordId: result.recordId,
        payloadHash: write.hash,
        mappingVersion: run.target.mapping.version,
      });
      record.transitions.push({ referralId: id, to: 'applied', runId });
      record.audits.push({
        runId,
        referralId: id,
        target,
        action: result.created ? 'created' : 'updated',
        crmRecordId: result.recordId,
        detail: {
          fields: Object.keys(write.fields).length,
          mappingVersion: run.target.mapping.version,
        },
      });
      return;
    }
    if (result.error.convertedInto !== undefined) {
      // The CRM locked the lead (converted) after we last read it: skipped with the reason.
      countFor(stats, target, 'skippedConverted');
      const skipped = convertedOnWrite(versionColumns(write.item, target), write.link, result, {
        runId,
        mappingVersion: run.target.mapping.version,
      });
      record.links.push(skipped.link);
      record.transitions.push(skipped.transition);
      record.audits.push(skipped.audit);
      return;
    }
    const attempts =
      (write.state?.state === 'failed' || write.state?.state === 'pending'
        ? write.state.attempts
        : 0) + 1;
    const quarantine = attempts >= ctx.maxAttempts;
    countFor(stats, target, quarantine ? 'quarantined' : 'failed');
    const error = { code: result.error.code, message: result.error.message };
    record.links.push({
      ...versionColumns(write.item, target),
      mappingVersion: run.target.mapping.version,
    });
    record.transitions.push(
      quarantine
        ? {
            referralId: id,
            to: 'quarantined',
            quarantineReason: `the CRM rejected it ${attempts} times: ${error.message}`,
            error,
            runId,
          }
        : {
            referralId: id,
            to: 'failed',
            error,
            nextRetryAt: nextRetryAt(ctx.now(), attempts),
            runId,
          },
    );
    record.audits.push({
      runId,
      referralId: id,
      target,
      action: quarantine ? 'quarantined' : 'failed',
      crmRecordId: write.link?.crmRecordId ?? null,
      detail: { ...error, fields: result.error.fields, status: result.error.status, attempts },
    });
  });
  return record;
}

/**
 * Outbox rows that put the CRM record id into the referral's externalReferenceId (primary target
 * only).
 */
function writeBackRequests(
  ctx: InboundContext,
  run: TargetRun,
  batch: PendingWrite[],
  results: UpsertItemResult[],
) {
  if (run.target.name !== ctx.options.writeBackTarget) return [];
  return batch.flatMap((write, i) => {
    const result = results[i] as UpsertItemResult;
    const { referral } = write.item;
    if (
      !result.ok ||
      referral.externalReferenceId === result.recordId ||
      isTerminalStatus(referral.status)
    )
      return [];
    return [setExternalReferenceRow(run.target.name, referral, result.recordId)];
  });
}
