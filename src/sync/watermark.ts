// Tracks how far the referral stream is safely recorded for one target, so the cursor never passes
// unwritten work.

export class WatermarkTracker {
  private readonly watermarks: Array<string | null> = [];
  private readonly unrecorded = new Map<number, number>();

  /** Registers page `index` (0-based, in stream order) with its highest updatedDateTime. */
  addPage(index: number, watermark: string | null): void {
    this.watermarks[index] = watermark;
  }

  /** Notes that `count` items of page `index` still wait for a CRM write. */
  hold(index: number, count = 1): void {
    this.unrecorded.set(index, (this.unrecorded.get(index) ?? 0) + count);
  }

  /**
   * Notes that one item of page `index` is now recorded in the ledger (written, failed or
   * quarantined).
   */
  release(index: number): void {
    const left = (this.unrecorded.get(index) ?? 0) - 1;
    if (left <= 0) this.unrecorded.delete(index);
    else this.unrecorded.set(index, left);
  }

  /**
   * The highest watermark such that every page up to it is fully recorded (null: nothing safe yet).
   */
  safeWatermark(): string | null {
    const firstHeld =
      this.unrecorded.size === 0 ? this.watermarks.length : Math.min(...this.unrecorded.keys());
    for (let i = firstHeld - 1; i >= 0; i--) {
      const mark = this.watermarks[i];
      if (mark) return mark;
    }
    return null;
  }
}
