// The sync engine's view of its collaborators: the lead source, the targets and the cycle
// statistics.
import type { CrmAdapter } from '../crm/adapter.js';
import type { LeadKind, Referral } from '../core/referral.js';
import type { CompiledMapping } from '../mapping/index.js';
import type {
  AcceptFields,
  CloseFields,
  ReferralRef,
  WonFields,
} from '../source/partner-center/actions.js';
import type { InvalidReferral } from '../source/partner-center/parse.js';

/**
 * A referral with the lead kind and hot flag the inbound path derived from it (sync/lead-kind.ts).
 */
export interface ReferralWithKind {
  referral: Referral;
  leadKind: LeadKind;
  hot: boolean;
}

/**
 * One page of changed referrals; the engine owns this port, and the Partner Center client's pages
 * fit it.
 */
interface ReferralPage {
  /** Valid referral versions not delivered before; their lead kind is derived by the engine. */
  referrals: Referral[];
  /** Items the source refused; their page-mates still flow. */
  invalid: InvalidReferral[];
  /**
   * Highest updatedDateTime on the page over every readable item, so a malformed referral never
   * pins the watermark.
   */
  highWatermark: string | null;
}

/** What the engine needs from the lead source (the Partner Center client offers exactly this). */
export interface ReferralSource {
  listChanged(
    since: string | null,
    options?: { signal?: AbortSignal },
  ): AsyncGenerator<ReferralPage>;
  get(id: string, options?: { signal?: AbortSignal }): Promise<Referral>;
  setExternalReference(
    ref: { id: string; eTag: string },
    externalReferenceId: string,
    options?: { signal?: AbortSignal },
  ): Promise<Referral>;
  readonly callCount: number;
}

/** One configured CRM target: where referrals go and how they are mapped. */
export interface SyncTarget {
  name: string;
  adapter: CrmAdapter;
  mapping: CompiledMapping;
  /** Lead kinds synced to this target. */
  leadKinds: readonly LeadKind[];
  /** Create CRM records for referrals that are already archived (Closed) when first seen. */
  syncClosed: boolean;
  /** The precision of the CRM's change stamp (its module's changeStampPrecisionMs). */
  changeStampPrecisionMs: number;
}

/**
 * A target that failed as a whole this cycle (the CRM down, its session expired): which, where and
 * why.
 */
export interface TargetFailure {
  target: string;
  /** What the target was doing: writing referrals, or reading its outcomes. */
  stage: 'writing referrals' | 'reading outcomes';
  code: string;
  message: string;
}

/** Per-target counts of one cycle. */
export interface TargetCounts {
  created: number;
  updated: number;
  unchanged: number;
  skippedKind: number;
  skippedClosed: number;
  /** Changes not written because the CRM lead was converted / qualified (see decide.ts). */
  skippedConverted: number;
  failed: number;
  quarantined: number;
}

export type TargetCountKey = keyof TargetCounts;

/** One cycle's counts: the totals over every target, and each target's own. */
export interface InboundStats extends TargetCounts {
  byTarget: Record<string, TargetCounts>;
  pages: number;
  referralsSeen: number;
  invalid: number;
  retried: number;
  externalReferencesWritten: number;
  targetsDown: number;
  /** The targets counted in targetsDown, with the cause. */
  failedTargets: TargetFailure[];
  /** The cycle stopped at its page limit while the stream had more: poll again at once. */
  more: boolean;
}

export function emptyTargetCounts(): TargetCounts {
  return {
    created: 0,
    updated: 0,
    unchanged: 0,
    skippedKind: 0,
    skippedClosed: 0,
    skippedConverted: 0,
    failed: 0,
    quarantined: 0,
  };
}

/** Counts one decision for a target, in its own counters and in the cycle's totals. */
export function countFor(stats: InboundStats, target: string, key: TargetCountKey): void {
  stats[key]++;
  (stats.byTarget[target] ??= emptyTargetCounts())[key]++;
}

export function emptyInboundStats(): InboundStats {
  return {
    byTarget: {},
    pages: 0,
    referralsSeen: 0,
    invalid: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    skippedKind: 0,
    skippedClosed: 0,
    skippedConverted: 0,
    failed: 0,
    quarantined: 0,
    retried: 0,
    externalReferencesWritten: 0,
    targetsDown: 0,
    failedTargets: [],
    more: false,
  };
}

/** The cursor name of one target's inbound position in the referral stream. */
export function inboundCursorName(target: string): string {
  return `partner-center:${target}`;
}

/**
 * The life-cycle writes the outbound engine needs on top of ReferralSource (the Partner Center
 * client has them).
 */
export interface OutcomeWriter {
  accept(
    ref: ReferralRef,
    fields: AcceptFields,
    options?: { signal?: AbortSignal },
  ): Promise<Referral>;
  decline(
    ref: ReferralRef,
    fields: CloseFields,
    options?: { signal?: AbortSignal },
  ): Promise<Referral>;
  markWon(
    ref: ReferralRef,
    fields?: WonFields,
    options?: { signal?: AbortSignal },
  ): Promise<Referral>;
  markLost(
    ref: ReferralRef,
    fields: CloseFields,
    options?: { signal?: AbortSignal },
  ): Promise<Referral>;
}

/** What one outbound cycle did (collect, drain, or both added up). */
export interface OutboundStats {
  /** CRM records read from the change stream. */
  recordsRead: number;
  /** Records with no link in the ledger (not written by leadbridge): ignored. */
  unlinked: number;
  /** Linked records whose state reads as an outcome (accepted, declined, won, lost). */
  outcomesRead: number;
  /**
   * Outcomes the referral already shows, or that no legal transition leads to (Closed referrals).
   */
  nothingToSend: number;
  /** Outbox rows newly recorded (an outcome already recorded is not counted again). */
  enqueued: number;
  sent: number;
  superseded: number;
  quarantined: number;
  failed: number;
  /** 412 answers (the referral or the CRM record changed between the read and the write). */
  conflicts: number;
  /** CRM leads marked for referrals that expired unanswered. */
  expiredReflected: number;
  /** Targets whose change stream failed this cycle (their cursor is held). */
  targetsDown: number;
  /** The targets counted in targetsDown, with the cause. */
  failedTargets: TargetFailure[];
}

export function emptyOutboundStats(): OutboundStats {
  return {
    recordsRead: 0,
    unlinked: 0,
    outcomesRead: 0,
    nothingToSend: 0,
    enqueued: 0,
    sent: 0,
    superseded: 0,
    quarantined: 0,
    failed: 0,
    conflicts: 0,
    expiredReflected: 0,
    targetsDown: 0,
    failedTargets: [],
  };
}

/** The cursor name of one target's outbound position in the CRM change stream. */
export function outboundCursorName(target: string): string {
  return `crm:${target}`;
}
