// The simulator's clock: real time plus an offset that the admin API can move forward (to test
// expiry).

export class SimClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('the clock only moves forward');
    this.offsetMs += ms;
  }

  reset(): void {
    this.offsetMs = 0;
  }

  get offset(): number {
    return this.offsetMs;
  }
}

/** ISO-8601 with 7 fractional digits, as Partner Center writes timestamps. */
export function isoWith7Digits(date: Date, extraTicks = 0): string {
  const base = date.toISOString(); // 2024-01-01T00:00:00.123Z
  const ticks = String(extraTicks % 10_000).padStart(4, '0');
  return `${base.slice(0, 23)}${ticks}Z`;
}
