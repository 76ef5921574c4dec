// `leadbridge sync --once --dry-run`: read every referral from Partner Center and print what would be synced; no writes.
import type { LeadbridgeConfig } from '../config/index.js';
import { formatIssue } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { LeadKind } from '../core/referral.js';
import { createSource } from '../worker/runtime.js';
import type { ReferralPage, ReferralWithKind } from '../source/partner-center/index.js';

/** The part of the Partner Center client the preview uses. */
export interface ReferralSource {
  listChanged(since: string | null, options?: { signal?: AbortSignal }): AsyncIterable<ReferralPage>;
}

export interface SyncPreviewOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  out: NodeJS.WritableStream;
  signal?: AbortSignal;
  /** Defaults to a PartnerCenterClient built from the config. */
  source?: ReferralSource;
}

export interface SyncPreviewSummary {
  /** Referrals that would be synced, by lead kind. */
  wouldSync: Partial<Record<LeadKind, number>>;
  /** Referrals of kinds the config does not sync, by lead kind. */
  skipped: Partial<Record<LeadKind, number>>;
  hot: number;
  invalid: number;
}

/** Lists every referral (since null), one tab-separated line each, then a summary. */
export async function runSyncPreview(options: SyncPreviewOptions): Promise<SyncPreviewSummary> {
  const { config, out } = options;
  const partnerCenter = config.source.partnerCenter;
  const source = options.source ?? createSource(config, options.logger);
  const wanted = new Set<LeadKind>(partnerCenter.leadKinds);
  const summary: SyncPreviewSummary = { wouldSync: {}, skipped: {}, hot: 0, invalid: 0 };
  for await (const page of source.listChanged(null, { signal: options.signal })) {
    for (const item of page.referrals) {
      const tally = wanted.has(item.leadKind) ? summary.wouldSync : summary.skipped;
      tally[item.leadKind] = (tally[item.leadKind] ?? 0) + 1;
      if (!wanted.has(item.leadKind)) continue;
      if (item.hot) summary.hot++;
      out.write(`${previewLine(item)}\n`);
    }
    for (const invalid of page.invalid) {
      summary.invalid++;
      out.write(`invalid ${invalid.id ?? '(no id)'}: ${invalid.issues.map(formatIssue).join('; ')}\n`);
    }
  }
  out.write(summaryText(summary));
  return summary;
}


/** id, lead kind, hot flag, customer name, status/substatus. */
function previewLine({ referral, leadKind, hot }: ReferralWithKind): string {
  const customer = referral.customerProfile?.name ?? '(no customer name)';
  const status = `${referral.status}/${referral.substatus ?? 'None'}`;
  return [referral.id, leadKind, hot ? 'hot' : '-', customer, status].join('\t');
}

function countsText(counts: Partial<Record<LeadKind, number>>): string {
  const parts = Object.entries(counts).map(([kind, count]) => `${kind} ${count}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function total(counts: Partial<Record<LeadKind, number>>): number {
  return Object.values(counts).reduce((sum, count) => sum + (count ?? 0), 0);
}

function summaryText(summary: SyncPreviewSummary): string {
  return [
    `would sync ${total(summary.wouldSync)} referrals (${summary.hot} hot): ${countsText(summary.wouldSync)}`,
    `skipped ${total(summary.skipped)} referrals of kinds not configured: ${countsText(summary.skipped)}`,
    `invalid ${summary.invalid} referrals`,
    '',
  ].join('\n');
}
