// `leadbridge sync --once`: one inbound cycle against the configured targets, with progress and a
// summary.
import { randomUUID } from 'node:crypto';
import type { LeadbridgeConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';
import { describeTargetFailure, downTargetNames, type CycleResult } from '../sync/cycle.js';
import { createRuntime } from './compose.js';

export interface SyncOnceOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  cwd: string;
  out: NodeJS.WritableStream;
  /** Progress lines for long backfills (stderr). */
  progress: NodeJS.WritableStream;
  signal?: AbortSignal;
}

/** Runs one cycle; resolves with the exit code (1 when a target failed as a whole). */
export async function runSyncOnce(options: SyncOnceOptions): Promise<number> {
  // The ledger first (local, and the commonest mistake), then the mappings against each CRM, then
  // the cycle.
  const runtime = await createRuntime(options.config, { logger: options.logger });
  const runId = `sync-${new Date().toISOString().replace(/[:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  // Progress lines only for runs long enough to need them (a backfill), every 2 s.
  let lastReport = Date.now();
  try {
    const { refuseMappingsThatDoNotFit } = await import('./mappings.js');
    await refuseMappingsThatDoNotFit(
      {
        config: options.config,
        logger: options.logger,
        cwd: options.cwd,
        out: process.stderr,
        signal: options.signal,
      },
      {
        refusal:
          'sync --once does not run: the field mappings do not fit the CRM; nothing was written',
        unreachable: 'could not check the mapping against the CRM now',
      },
    );
    const result = await runtime.syncOnce({
      runId,
      signal: options.signal,
      onProgress: (stats) => {
        if (Date.now() - lastReport < 2_000) return;
        lastReport = Date.now();
        options.progress.write(
          `… ${stats.referralsSeen} referrals read (${stats.pages} pages), ${stats.created}` +
            ` created, ${stats.updated} updated\n`,
        );
      },
    });
    options.out.write(formatSummary(runId, result));
    return downTargetNames(result).length > 0 ? 1 : 0;
  } finally {
    await runtime.close();
  }
}

function formatSummary(runId: string, result: CycleResult): string {
  const { inbound: stats, outbound, outbox } = result;
  const down = downTargetNames(result);
  const lines = [
    `run ${runId}: ${stats.referralsSeen} referrals read in ${stats.pages} pages, ` +
      `${stats.invalid} invalid, ${stats.retried} retried, ` +
      `${down.length} ${down.length === 1 ? 'target' : 'targets'} failed as a whole`,
  ];
  for (const [target, c] of Object.entries(stats.byTarget)) {
    lines.push(
      `  ${target}: ${down.includes(target) ? 'FAILED as a whole; ' : ''}${c.created} created, ` +
        `${c.updated} updated, ${c.unchanged} unchanged, ${c.skippedKind} skipped (lead kind), ` +
        `${c.skippedClosed} skipped (archived), ${c.skippedConverted} skipped (lead converted), ` +
        `${c.failed} failed, ${c.quarantined} quarantined`,
    );
  }
  lines.push(
    `  partner-center: ${stats.externalReferencesWritten} CRM ids written back to ` +
      `externalReferenceId`,
  );
  lines.push(
    `  outcomes from the CRM: ${outbound.outcomesRead} read, ${outbound.enqueued} queued, ` +
      `${outbound.sent} sent, ${outbound.superseded} no longer needed, ` +
      `${outbound.quarantined} quarantined, ${outbound.conflicts} conflicts, ` +
      `${outbound.expiredReflected} expiries reflected`,
  );
  if (outbox.failed > 0)
    lines.push(`  ${outbox.failed} writes to Partner Center failed and are retried next run`);
  for (const failure of result.targetsDown)
    lines.push(`  FAILED ${describeTargetFailure(failure)}`);
  if (down.length > 0)
    lines.push(
      `  ${down.join(', ')} resume${down.length === 1 ? 's' : ''} from ` +
        `${down.length === 1 ? 'its cursor' : 'their cursors'} next run, once the cause is fixed.`,
    );
  return `${lines.join('\n')}\n`;
}
