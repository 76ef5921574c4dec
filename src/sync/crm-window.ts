// Where a CRM change read starts: the cursor's stamp interval is re-read until seen complete.
import { minusMs } from '../core/time.js';

/**
 * The target a read is for: its name, and its CRM's stamp precision (its module's
 * changeStampPrecisionMs).
 */
interface WindowTarget {
  name: string;
  changeStampPrecisionMs: number;
}

interface Settling {
  cursor: string;
  /** Local time the read that first ended on this cursor finished. */
  establishedAtMs: number;
  /**
   * A later read, started a full stamp second after that, re-read the cursor's second: nothing more
   * can land in it.
   */
  settled: boolean;
}

/**
 * CRMs stamp changes to the second, so an edit made in the cursor's own second after the read that
 * set the cursor
 * would be missed by `stamp > cursor`; that second is re-read. Once a read that started at least a
 * stamp second after
 * the cursor was established has re-read it, the second is complete (the stamp cannot be later than
 * that read's end,
 * and differences of the local clock equal differences of the CRM's): later reads start at the
 * cursor itself. Without
 * this, every idle poll re-reads the last second's records (a backfill puts hundreds there: extra
 * pages every cycle).
 * Kept in memory: after a restart the second is re-read once more, which is harmless.
 */
export class ChangeWindow {
  private readonly byTarget = new Map<string, Settling>();

  constructor(private readonly nowMs: () => number = () => Date.now()) {}

  /**
   * The `since` of the next read of `target`, and a token to hand to `finished` when that read
   * completes.
   */
  start(
    target: WindowTarget,
    cursor: string | null,
  ): { since: string | null; startedAtMs: number } {
    const startedAtMs = this.nowMs();
    if (cursor === null) return { since: null, startedAtMs };
    const known = this.byTarget.get(target.name);
    const since =
      known?.cursor === cursor && known.settled
        ? cursor
        : minusMs(cursor, target.changeStampPrecisionMs);
    return { since, startedAtMs };
  }

  /**
   * A read of `target` that started at `startedAtMs` (with the since `start` gave) completed;
   * `cursor` is where it ended.
   */
  finished(target: WindowTarget, cursor: string | null, startedAtMs: number): void {
    if (cursor === null) return;
    const known = this.byTarget.get(target.name);
    if (known?.cursor !== cursor) {
      this.byTarget.set(target.name, { cursor, establishedAtMs: this.nowMs(), settled: false });
      return;
    }
    if (startedAtMs >= known.establishedAtMs + target.changeStampPrecisionMs) known.settled = true;
  }
}
