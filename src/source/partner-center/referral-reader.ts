// Reading referrals from responses: validation, and each dropped-field / unknown-enum warning once.
import { ValidationError, type Issue } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { referralVersion, type Referral } from '../../core/referral.js';
import type { ReferralPage } from './client-types.js';
import { toTicks, type DedupePass } from './overlap.js';
import { parseReferral, unknownEnumValues } from './parse.js';

/** Bounds the memory of dropped-field warnings already logged. */
const MAX_REMEMBERED_DROPS = 10_000;

/** Reads referrals for one client, remembering which warnings it already logged. */
export class ReferralReader {
  private readonly reportedEnumValues = new Set<string>();
  private readonly reportedDrops = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /**
   * Validates each item on its own, so that one malformed referral never holds back its page-mates.
   */
  readPage(items: unknown[], pass: DedupePass): ReferralPage {
    const page: ReferralPage = { referrals: [], invalid: [], highWatermark: null };
    let high: bigint | null = null;
    const noteTimestamp = (updated: unknown): void => {
      const ticks = typeof updated === 'string' ? toTicks(updated) : null;
      if (ticks === null || (high !== null && ticks <= high)) return;
      high = ticks;
      page.highWatermark = updated as string;
      pass.observe(ticks);
    };
    for (const item of items) {
      noteTimestamp((item as { updatedDateTime?: unknown } | null)?.updatedDateTime);
      const parsed = parseReferral(item);
      if (!parsed.ok) {
        // Reported once per version, as a valid one is delivered once (overlapping polls read it
        // again).
        if (!admitInvalid(pass, item, parsed.invalid.id, high)) continue;
        page.invalid.push(parsed.invalid);
        this.logger.warn('invalid referral skipped', {
          referralId: parsed.invalid.id,
          issues: parsed.invalid.issues,
        });
        continue;
      }
      const { referral } = parsed;
      this.reportDropped(referral, parsed.dropped);
      this.reportUnknownEnums(referral);
      const updated = toTicks(referral.updatedDateTime) ?? 0n;
      if (!pass.admit(referral.id, referralVersion(referral), updated)) continue;
      page.referrals.push(referral);
    }
    return page;
  }

  toReferral(body: unknown, context: string): Referral {
    const parsed = parseReferral(body);
    if (!parsed.ok) {
      throw new ValidationError(
        'VALIDATION_FAILED',
        `partner-center: ${context}: the response is not a valid referral`,
        parsed.invalid.issues,
      );
    }
    this.reportDropped(parsed.referral, parsed.dropped);
    this.reportUnknownEnums(parsed.referral);
    return parsed.referral;
  }

  /** Unknown enum values are kept; each field + value is logged once per client. */
  private reportUnknownEnums(referral: Referral): void {
    for (const { field, value } of unknownEnumValues(referral)) {
      const key = `${field}=${value}`;
      if (this.reportedEnumValues.has(key)) continue;
      this.reportedEnumValues.add(key);
      this.logger.warn('unknown enum value kept', { field, value, referralId: referral.id });
    }
  }

  /**
   * Each malformed optional field the tolerant reader left out, by referral id and JSON path;
   * logged once per referral version (a list read, the GET before a write and the write's answer
   * would otherwise repeat it).
   */
  reportDropped(referral: Referral, dropped: Issue[]): void {
    for (const issue of dropped) {
      const key = `${referral.id}|${referral.updatedDateTime}|${issue.path}`;
      if (this.reportedDrops.has(key)) continue;
      if (this.reportedDrops.size >= MAX_REMEMBERED_DROPS) this.reportedDrops.clear();
      this.reportedDrops.add(key);
      this.logger.warn('malformed referral field dropped', {
        referralId: referral.id,
        path: issue.path,
        problem: issue.message,
      });
    }
  }
}

/**
 * Whether this version of an invalid item is new to the pass (items without a usable id always
 * are).
 */
function admitInvalid(
  pass: DedupePass,
  item: unknown,
  id: string | null,
  pageHigh: bigint | null,
): boolean {
  if (id === null) return true;
  const raw = item as { eTag?: unknown; updatedDateTime?: unknown };
  const version =
    typeof raw.eTag === 'string' ? raw.eTag : `updated:${String(raw.updatedDateTime)}`;
  const ticks = typeof raw.updatedDateTime === 'string' ? toTicks(raw.updatedDateTime) : null;
  // An unreadable timestamp is kept at the page's edge, so it stays within the overlap window.
  return pass.admit(`invalid:${id}`, version, ticks ?? pageHigh ?? 0n);
}
