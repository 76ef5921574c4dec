// Ordered views of the referral store: a (key, id)-sorted index for keyset paging and a min-heap of
// expiry times.

/** One stored referral: the snapshot currently served plus the keys it is indexed under. */
export interface ReferralSlot {
  id: string;
  /** Replaced (never mutated) on every write, so snapshots handed out stay as they were. */
  referral: Record<string, unknown>;
  updatedKey: string;
  createdKey: string;
  /** The expiration key last queued for this slot, so repeated writes do not queue it twice. */
  queuedExpiry: string | null;
  /** Stored as given through the admin API (kept as is when served: no links are added). */
  raw: boolean;
}

export interface IndexEntry {
  key: string;
  slot: ReferralSlot;
}

function before(a: IndexEntry, key: string, id: string): boolean {
  return a.key < key || (a.key === key && a.slot.id < id);
}

/**
 * Entries sorted by (key, id). Writes usually carry the newest key, so inserting is mostly an
 * append; a lookup is a binary search. Large batches rebuild with one sort instead.
 */
export class SortedIndex {
  private entries: IndexEntry[] = [];

  get length(): number {
    return this.entries.length;
  }

  at(position: number): IndexEntry {
    return this.entries[position]!;
  }

  insert(key: string, slot: ReferralSlot): void {
    const last = this.entries[this.entries.length - 1];
    const entry = { key, slot };
    if (!last || before(last, key, slot.id)) this.entries.push(entry);
    else this.entries.splice(this.firstNotBefore(key, slot.id), 0, entry);
  }

  remove(key: string, slot: ReferralSlot): void {
    const position = this.firstNotBefore(key, slot.id);
    if (this.entries[position]?.slot !== slot)
      throw new Error(`index entry for referral ${slot.id} at ${key} is missing`);
    this.entries.splice(position, 1);
  }

  /** Replaces every entry at once: O(n log n), for seeding and mass expiry. */
  rebuild(entries: IndexEntry[]): void {
    const sorted = entries.every(
      (entry, i) => i === 0 || before(entries[i - 1]!, entry.key, entry.slot.id),
    );
    if (!sorted)
      entries.sort((a, b) =>
        before(a, b.key, b.slot.id) ? -1 : a.key === b.key && a.slot.id === b.slot.id ? 0 : 1,
      );
    this.entries = entries;
  }

  clear(): void {
    this.entries = [];
  }

  /** The first position whose entry is at or after (key, id). */
  firstNotBefore(key: string, id: string): number {
    return this.bisect((entry) => before(entry, key, id));
  }

  /** The first position whose key is at or above `key` (inclusive) or strictly above it. */
  firstWithKey(key: string, inclusive: boolean): number {
    return this.bisect((entry) => (inclusive ? entry.key < key : entry.key <= key));
  }

  /** The first position where `isBefore` stops holding (it must hold for a prefix only). */
  private bisect(isBefore: (entry: IndexEntry) => boolean): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isBefore(this.entries[mid]!)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/**
 * A binary min-heap of (expiration key, slot); stale entries are skipped by the caller when popped.
 */
export class ExpiryQueue {
  private heap: IndexEntry[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(key: string, slot: ReferralSlot): void {
    this.heap.push({ key, slot });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (this.heap[parent]!.key <= this.heap[i]!.key) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the earliest entry due at or before `key`, or null when none is due. */
  popDue(key: string): IndexEntry | null {
    const top = this.heap[0];
    if (!top || top.key > key) return null;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  clear(): void {
    this.heap = [];
  }

  private siftDown(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.heap[left]!.key < this.heap[smallest]!.key)
        smallest = left;
      if (right < this.heap.length && this.heap[right]!.key < this.heap[smallest]!.key)
        smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const held = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = held;
  }
}
