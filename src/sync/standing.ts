// What the ledger says about a referral id an operator named: never read, read and skipped (and
// why), or tracked.
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError } from '../core/errors.js';
import {
  auditTrail,
  getLinks,
  getSyncStates,
  type AuditEntry,
  type Link,
  type Ledger,
  type SyncStateRow,
} from '../ledger/index.js';

/**
 * Per target: nothing recorded, read and deliberately not synced (with the reason), or in the
 * sync's care.
 */
export type TargetStanding =
  { kind: 'none' } | { kind: 'skipped'; reason: string } | { kind: 'tracked' };

/**
 * Why a referral that was read has no record on a target, from its link (skipped referrals keep a
 * link with
 * their lead kind and status and no CRM record, so this costs no extra rows) and the current
 * config.
 */
export function targetStanding(
  config: LeadbridgeConfig,
  link: Link | undefined,
  state: SyncStateRow | undefined,
): TargetStanding {
  if (state || link?.crmRecordId) return { kind: 'tracked' };
  if (!link) return { kind: 'none' };
  const kinds: readonly string[] = config.source.partnerCenter.leadKinds;
  if (link.leadKind !== null && !kinds.includes(link.leadKind)) {
    return {
      kind: 'skipped',
      reason: `skipped: lead kind ${link.leadKind} is not synced (source.partnerCenter.leadKinds)`,
    };
  }
  if (link.referralStatus === 'Closed') {
    return {
      kind: 'skipped',
      reason:
        'skipped: the referral was already archived (Closed) when first read; archived ' +
        'referrals are not created in the CRM',
    };
  }
  if (link.leadKind !== null) {
    // The config changed since: the kind is synced now, but this version was recorded as skipped.
    return {
      kind: 'skipped',
      reason:
        `skipped when read (lead kind ${link.leadKind} was not synced then); "leadbridge ` +
        `resync" or its next change brings it over`,
    };
  }
  return { kind: 'tracked' };
}

/**
 * Validation failures are recorded in the audit trail only (no target): a referral we read but
 * could not use.
 */
export function invalidReason(audit: readonly AuditEntry[]): string | null {
  const last = [...audit].reverse().find((entry) => entry.action === 'invalid');
  if (!last) return null;
  const issues = Array.isArray(last.detail?.issues)
    ? (last.detail.issues as string[]).join('; ')
    : 'see the audit trail';
  return (
    `invalid: it failed validation when read (${issues}); skipped until it changes in ` +
    `Partner Center`
  );
}

export function unknownReferral(referralId: string): LeadbridgeError {
  return new LeadbridgeError(
    'NOT_FOUND',
    `unknown referral ${referralId}: the ledger has no record of it (never read from Partner ` +
      `Center; check the id, or that a sync has run since it arrived)`,
  );
}

/**
 * For `retry <ids>`: every named id that cannot be retried on the chosen targets, with why
 * (unknown, skipped,
 * invalid). Looks ids up in batches, so a long list costs a few queries.
 */
export async function unretryable(
  ledger: Ledger,
  config: LeadbridgeConfig,
  targets: readonly string[],
  referralIds: readonly string[],
): Promise<string[]> {
  const standings = new Map<string, TargetStanding[]>(referralIds.map((id) => [id, []]));
  for (const target of targets) {
    const [links, states] = await Promise.all([
      getLinks(ledger.db, target, [...referralIds]),
      getSyncStates(ledger.db, target, [...referralIds]),
    ]);
    for (const id of referralIds)
      standings.get(id)?.push(targetStanding(config, links.get(id), states.get(id)));
  }
  const problems: string[] = [];
  for (const [id, perTarget] of standings) {
    if (perTarget.some((s) => s.kind === 'tracked')) continue;
    const skipped = perTarget.find(
      (s): s is Extract<TargetStanding, { kind: 'skipped' }> => s.kind === 'skipped',
    );
    if (skipped) {
      problems.push(`${id}: ${skipped.reason}`);
      continue;
    }
    const invalid = invalidReason(await auditTrail(ledger.db, id, { limit: 20 }));
    problems.push(
      invalid ? `${id}: ${invalid}` : `unknown referral ${id} (never read from Partner Center)`,
    );
  }
  return problems;
}
