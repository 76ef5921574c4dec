// Partner Center timestamps at full precision and the overlap window that dedupes incremental
// polls.

const ISO_PARTS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})$/;
const TICKS_PER_MS = 10_000n;

/**
 * 100-ns ticks since the epoch, or null when the text is not an ISO-8601 date-time.
 * A bigint because 7 fractional digits exceed what a double (or a Date) can hold.
 */
export function toTicks(iso: string): bigint | null {
  const match = ISO_PARTS.exec(iso);
  if (!match) return null;
  const [, wholeSeconds, fraction = '', zone] = match;
  const epochMs = Date.parse(`${wholeSeconds}${zone}`);
  if (Number.isNaN(epochMs)) return null;
  return BigInt(epochMs) * TICKS_PER_MS + BigInt(fraction.padEnd(7, '0'));
}

/**
 * The `$filter` literal for a lower bound: floored to the millisecond, so the window only ever
 * widens.
 */
export function filterLiteral(ticks: bigint): string {
  const floored = ticks >= 0n ? ticks / TICKS_PER_MS : (ticks - TICKS_PER_MS + 1n) / TICKS_PER_MS;
  return new Date(Number(floored)).toISOString();
}

export function msToTicks(ms: number): bigint {
  return BigInt(Math.round(ms)) * TICKS_PER_MS;
}

interface DeliveredVersion {
  eTag: string;
  updated: bigint;
}

/** The versions a completed pass delivered near its end, and the highest timestamp it saw. */
interface CompletedPass {
  versions: Map<string, DeliveredVersion>;
  high: bigint | null;
}

/**
 * Remembers which referral versions (id + eTag) were delivered, for as long as an overlapping
 * query can return them again. Memory follows the overlap window, never the total.
 */
export class OverlapDeduper {
  private lastCompleted: CompletedPass | null = null;

  constructor(private readonly overlapTicks: bigint) {}

  /**
   * Starts one listing pass from the caller's watermark (null: a full listing, nothing is skipped).
   */
  beginPass(since: bigint | null): DedupePass {
    const trusted = since === null ? null : this.trustedPass(since);
    return new DedupePass(this.overlapTicks, trusted, (completed) => {
      this.lastCompleted = completed;
    });
  }

  /**
   * The previous pass's versions may be skipped only when the caller's watermark covers that whole
   * pass: otherwise the caller did not record all of it, and skipping could lose a referral.
   */
  private trustedPass(since: bigint): CompletedPass | null {
    const previous = this.lastCompleted;
    if (!previous || previous.high === null || since < previous.high) return null;
    const floor = since - this.overlapTicks;
    for (const [id, version] of previous.versions)
      if (version.updated < floor) previous.versions.delete(id);
    return previous;
  }
}

/**
 * The dedupe state of one pass: what it delivered itself, plus the trusted versions of the pass
 * before.
 */
export class DedupePass {
  private readonly delivered = new Map<string, DeliveredVersion>();
  private high: bigint | null;

  constructor(
    private readonly overlapTicks: bigint,
    private readonly previous: CompletedPass | null,
    private readonly onComplete: (completed: CompletedPass) => void,
  ) {
    this.high = previous?.high ?? null;
  }

  /** Notes a timestamp seen on the page (valid referral or not), for the window's upper edge. */
  observe(updated: bigint): void {
    if (this.high === null || updated > this.high) this.high = updated;
  }

  /** True (and remembered) when this version was not delivered before; false for a repeat. */
  admit(id: string, eTag: string, updated: bigint): boolean {
    this.observe(updated);
    if (this.delivered.get(id)?.eTag === eTag || this.previous?.versions.get(id)?.eTag === eTag)
      return false;
    this.delivered.set(id, { eTag, updated });
    return true;
  }

  /**
   * Forgets versions older than the window below the highest timestamp seen (call once per page).
   */
  prune(): void {
    if (this.high === null) return;
    const floor = this.high - this.overlapTicks;
    for (const [id, version] of this.delivered)
      if (version.updated < floor) this.delivered.delete(id);
  }

  /** Versions remembered by this pass (its own deliveries within the window). */
  get size(): number {
    return this.delivered.size;
  }

  /**
   * Only a pass that ran to its last page becomes the reference for the next one; it carries over
   * the still-relevant versions of the pass before, so a quiet pass forgets nothing.
   */
  complete(): void {
    const versions = new Map(this.previous?.versions ?? []);
    for (const [id, version] of this.delivered) versions.set(id, version);
    const floor = this.high === null ? null : this.high - this.overlapTicks;
    if (floor !== null)
      for (const [id, version] of versions) if (version.updated < floor) versions.delete(id);
    this.onComplete({ versions, high: this.high });
  }
}
