// `leadbridge trace <referralId>`: what the ledger knows of one referral, per target, and its audit
// trail.
import type { LeadbridgeConfig } from '../config/index.js';
import {
  auditTrail,
  getLinks,
  getSyncStates,
  listOutbox,
  type AuditEntry,
  type Ledger,
  type Link,
  type OutboxRow,
  type SyncStateRow,
} from '../ledger/index.js';
import { invalidReason, targetStanding, unknownReferral } from '../sync/standing.js';

export interface TraceReport {
  referralId: string;
  /** Per target; `skipped` says why a referral that was read was not synced there. */
  targets: Array<{
    target: string;
    link: Link | null;
    state: SyncStateRow | null;
    skipped: string | null;
  }>;
  /** Set when the referral was read but failed validation. */
  invalid: string | null;
  outbox: OutboxRow[];
  audit: AuditEntry[];
}

/** Throws NOT_FOUND ("unknown referral") when the ledger has nothing at all on the id. */
export async function collectTrace(
  config: LeadbridgeConfig,
  ledger: Ledger,
  referralId: string,
): Promise<TraceReport> {
  const targets = await Promise.all(
    config.targets.map(async (t) => {
      const link = (await getLinks(ledger.db, t.name, [referralId])).get(referralId);
      const state = (await getSyncStates(ledger.db, t.name, [referralId])).get(referralId);
      const standing = targetStanding(config, link, state);
      return {
        target: t.name,
        link: link ?? null,
        state: state ?? null,
        skipped: standing.kind === 'skipped' ? standing.reason : null,
      };
    }),
  );
  const [outbox, audit] = await Promise.all([
    listOutbox(ledger.db, referralId),
    auditTrail(ledger.db, referralId),
  ]);
  if (outbox.length === 0 && audit.length === 0 && targets.every((t) => !t.link && !t.state))
    throw unknownReferral(referralId);
  return { referralId, targets, invalid: invalidReason(audit), outbox, audit };
}

export function formatTrace(report: TraceReport): string {
  const lines = [`referral ${report.referralId}`];
  if (report.invalid) lines.push(`  ${report.invalid}`);
  for (const { target, link, state, skipped } of report.targets) {
    if (skipped) {
      lines.push(`  ${target}: ${skipped}`);
      continue;
    }
    if (!link && !state) {
      lines.push(`  ${target}: not read for this target yet`);
      continue;
    }
    lines.push(
      `  ${target}: ${state ? state.state : 'no sync state'}${
        state?.attempts
          ? ` (attempt ` +
            `${state.attempts}${state.nextRetryAt ? `, next try ${state.nextRetryAt}` : ''})`
          : ''
      }` +
        `; CRM record ${link?.crmRecordId ?? 'none'}; referral ${link?.referralStatus ?? '?'}` +
        ` eTag ${link?.referralETag ?? '?'}; mapping ${link?.mappingVersion ?? '?'}`,
    );
    if (state?.lastError)
      lines.push(
        `    last error: ${state.lastErrorCode ? `${state.lastErrorCode} ` : ''}${state.lastError}`,
      );
    if (state?.quarantineReason) lines.push(`    quarantined: ${state.quarantineReason}`);
  }
  if (report.outbox.length > 0) {
    lines.push('outbox:');
    for (const row of report.outbox) {
      lines.push(
        `  ${row.createdAt} ${row.target} ${row.action} ${row.state}${
          row.attempts ? ` (` + `${row.attempts} attempts)` : ''
        }${row.lastError ? ` error: ${row.lastError}` : ''}`,
      );
    }
  }
  lines.push('audit trail:');
  if (report.audit.length === 0) lines.push('  nothing recorded for this referral');
  for (const entry of report.audit) {
    const detail = entry.detail ? ` ${JSON.stringify(entry.detail)}` : '';
    lines.push(
      `  ${entry.at} ${entry.runId} ${entry.target ?? '-'} ${entry.action}` +
        `${entry.crmRecordId ? ` record=${entry.crmRecordId}` : ''}${detail}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
