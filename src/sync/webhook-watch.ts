// Notices silent webhooks: polls keep finding changes no callback announced, for too long.
//
// A poll may see a change a moment before its callback arrives, so a change counts as unannounced
// only while no callback names it; the webhooks are silent when the oldest such change is older
// than the silence time and no callback at all arrived since it was seen. One episode is reported
// once; a callback ends it.

const ID_IN_URI = /\/referrals\/([^/?#]+)\/?(?:[?#].*)?$/;

export interface SilenceReport {
  /** When the oldest unannounced change was seen (names the episode). */
  since: string;
  /** How many changes polls found that no callback announced. */
  unannounced: number;
  lastCallbackAt: string | null;
}

export class WebhookWatch {
  /** Referral ids a callback announced that no poll has seen yet, with when. */
  private readonly announced = new Map<string, number>();
  /** Referral ids polls saw changed with no callback, with when they were first seen. */
  private readonly unannounced = new Map<string, number>();
  private lastCallbackAt: number | null = null;
  private reportedSince: number | null = null;

  constructor(
    private readonly silenceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A verified callback: its referral (from ResourceUri) counts as announced. */
  callback(resourceUri: string): void {
    const at = this.now();
    this.lastCallbackAt = at;
    this.reportedSince = null;
    const id = ID_IN_URI.exec(resourceUri)?.[1];
    if (!id) {
      this.unannounced.clear();
      return;
    }
    const referralId = decodeURIComponent(id);
    if (!this.unannounced.has(referralId)) this.announced.set(referralId, at);
    // A callback arrived: the webhooks work, and what polls found before it is no evidence of
    // silence.
    this.unannounced.clear();
    this.prune(at);
  }

  /** The referral ids a poll found changed. */
  polled(referralIds: Iterable<string>): void {
    const at = this.now();
    for (const id of referralIds) {
      if (this.announced.delete(id)) continue;
      if (!this.unannounced.has(id)) this.unannounced.set(id, at);
    }
    this.prune(at);
  }

  /**
   * A new silence episode, once; null while the webhooks work or the episode was reported already.
   */
  check(): SilenceReport | null {
    const now = this.now();
    let oldest: number | null = null;
    for (const at of this.unannounced.values()) if (oldest === null || at < oldest) oldest = at;
    if (oldest === null || now - oldest < this.silenceMs) return null;
    if (this.lastCallbackAt !== null && this.lastCallbackAt >= oldest) return null;
    if (this.reportedSince === oldest) return null;
    this.reportedSince = oldest;
    return {
      since: new Date(oldest).toISOString(),
      unannounced: this.unannounced.size,
      lastCallbackAt:
        this.lastCallbackAt === null ? null : new Date(this.lastCallbackAt).toISOString(),
    };
  }

  /**
   * Announcements no poll confirmed within twice the silence time are forgotten (bounded memory).
   */
  private prune(now: number): void {
    for (const [id, at] of this.announced)
      if (now - at > 2 * this.silenceMs) this.announced.delete(id);
    if (this.unannounced.size > 10_000) {
      const keep = [...this.unannounced.entries()].slice(-10_000);
      this.unannounced.clear();
      for (const [id, at] of keep) this.unannounced.set(id, at);
    }
  }
}
