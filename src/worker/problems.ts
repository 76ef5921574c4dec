// Named problems the worker knows of (a target down, a lapsed sign-in): each with its cause and
// since when.

/**
 * One open problem; /healthz fails once it is older than its threshold (maxAgeSeconds unless it
 * says).
 */
export interface HealthProblem {
  /** Stable name, e.g. "target:salesforce"; raising it again keeps the first `since`. */
  cause: string;
  /** What an operator reads: what failed and why. */
  reason: string;
  since: Date;
  thresholdSeconds?: number;
}

export class HealthProblems {
  private readonly open = new Map<string, HealthProblem>();

  /**
   * Records (or refreshes the reason of) a problem; its `since` stays the first time it was seen.
   */
  raise(cause: string, reason: string, at: Date = new Date(), thresholdSeconds?: number): void {
    const known = this.open.get(cause);
    this.open.set(cause, {
      cause,
      reason,
      since: known?.since ?? at,
      ...(thresholdSeconds !== undefined ? { thresholdSeconds } : {}),
    });
  }

  clear(cause: string): void {
    this.open.delete(cause);
  }

  /** Clears every problem whose cause starts with `prefix` except those named in `keep`. */
  clearOthers(prefix: string, keep: readonly string[]): void {
    for (const cause of this.open.keys())
      if (cause.startsWith(prefix) && !keep.includes(cause)) this.open.delete(cause);
  }

  list(): HealthProblem[] {
    return [...this.open.values()];
  }
}
