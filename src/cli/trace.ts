// `leadbridge trace <referralId>`: what the ledger knows of one referral, per target, and its audit trail.
import type { LeadbridgeConfig } from '../config/index.js';
import { auditTrail, getLinks, getSyncStates, listOutbox, type AuditEntry, type Ledger, type Link, type OutboxRow, type SyncStateRow } from '../ledger/index.js';

export interface TraceReport {
  referralId: string;
  targets: Array<{ target: string; link: Link | null; state: SyncStateRow | null }>;
  outbox: OutboxRow[];
  audit: AuditEntry[];
}

export async function collectTrace(config: LeadbridgeConfig, ledger: Ledger, referralId: string): Promise<TraceReport> {
  const targets = await Promise.all(
    config.targets.map(async (t) => ({
      target: t.name,
      link: (await getLinks(ledger.db, t.name, [referralId])).get(referralId) ?? null,
      state: (await getSyncStates(ledger.db, t.name, [referralId])).get(referralId) ?? null,
    })),
  );
  return { referralId, targets, outbox: await listOutbox(ledger.db, referralId), audit: await auditTrail(ledger.db, referralId) };
}

export function formatTrace(report: TraceReport): string {
  const lines = [`referral ${report.referralId}`];
  for (const { target, link, state } of report.targets) {
    if (!link && !state) {
      lines.push(`  ${target}: not seen yet`);
      continue;
    }
    lines.push(
      `  ${target}: ${state ? state.state : 'no sync state'}${state?.attempts ? ` (attempt ${state.attempts}${state.nextRetryAt ? `, next try ${state.nextRetryAt}` : ''})` : ''}` +
        `; CRM record ${link?.crmRecordId ?? 'none'}; referral ${link?.referralStatus ?? '?'} eTag ${link?.referralETag ?? '?'}; mapping ${link?.mappingVersion ?? '?'}`,
    );
    if (state?.lastError) lines.push(`    last error: ${state.lastErrorCode ? `${state.lastErrorCode} ` : ''}${state.lastError}`);
    if (state?.quarantineReason) lines.push(`    quarantined: ${state.quarantineReason}`);
  }
  if (report.outbox.length > 0) {
    lines.push('outbox:');
    for (const row of report.outbox) {
      lines.push(`  ${row.createdAt} ${row.target} ${row.action} ${row.state}${row.attempts ? ` (${row.attempts} attempts)` : ''}${row.lastError ? ` error: ${row.lastError}` : ''}`);
    }
  }
  lines.push('audit trail:');
  if (report.audit.length === 0) lines.push('  nothing recorded for this referral');
  for (const entry of report.audit) {
    const detail = entry.detail ? ` ${JSON.stringify(entry.detail)}` : '';
    lines.push(`  ${entry.at} ${entry.runId} ${entry.target ?? '-'} ${entry.action}${entry.crmRecordId ? ` record=${entry.crmRecordId}` : ''}${detail}`);
  }
  return `${lines.join('\n')}\n`;
}
