// The simulator's in-memory referrals: copy-on-write snapshots, sorted indexes for keyset paging,
// and the 14-day expiry.
import type { SimClock } from '../common/clock.js';
import { createRandom, type Random } from '../common/random.js';
import { addDays, addTicks, canonicalInstant, formatInstant } from './instant.js';
import { deepMerge, isPlainObject } from './json.js';
import { REFERRAL_SPEC, conformObject } from './schema.js';
import { EXPIRY_DAYS, eTagFrom, generateReferral, generateSeededReferrals } from './seed.js';
import type { Referral } from './payload.js';
import { ExpiryQueue, SortedIndex, type IndexEntry, type ReferralSlot } from './sorted-index.js';

export type { ReferralSlot } from './sorted-index.js';

export interface ReferralStoreOptions {
  clock: SimClock;
  /**
   * Seed of the first seed() call made without one (later calls count up), and of the eTag
   * generator.
   */
  seed?: number;
}

/**
 * A store operation that cannot be done; `reason` picks the HTTP status an admin route answers
 * with.
 */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    readonly reason: 'NotFound' | 'Conflict' | 'BadRequest',
    message: string,
  ) {
    super(message);
  }
}

type WriteListener = (referral: Record<string, unknown>, created: boolean) => void;
export type IndexedField = 'createdDateTime' | 'updatedDateTime';

/**
 * One write a partner made through the API (PATCH or PUT), as the service applied it: for audits of
 * a run.
 */
export interface PartnerWrite {
  referralId: string;
  /** status/substatus before and after the write (equal when the write moved nothing). */
  from: string;
  to: string;
  at: string;
}

/** Batches larger than this rebuild an index with one sort instead of moving entries one by one. */
const BULK_THRESHOLD = 512;

/**
 * Referrals by id. Every write replaces a referral's snapshot instead of mutating it, so any
 * object handed out stays as it was: read it, never mutate it (use update()). Snapshots carry no
 * `links`; those are rendered per request from the base URL the client used.
 */
export class ReferralStore {
  private readonly slots = new Map<string, ReferralSlot>();
  private readonly updatedIndex = new SortedIndex();
  private readonly createdIndex = new SortedIndex();
  private readonly expiries = new ExpiryQueue();
  private readonly random: Random;
  private readonly clock: SimClock;
  private readonly firstSeed: number;
  private nextSeed: number;
  private lastStamp = '';
  private changes = 0;
  /** Every partner write applied since the start (or the last reset), oldest first. */
  readonly partnerWrites: PartnerWrite[] = [];
  /** Told of every single write (not bulk seeding or bulk expiry): the webhook hub listens here. */
  private readonly writeListeners = new Set<WriteListener>();

  constructor(options: ReferralStoreOptions) {
    this.clock = options.clock;
    this.firstSeed = options.seed ?? 1;
    this.nextSeed = this.firstSeed;
    this.random = createRandom(this.firstSeed ^ 0x5eed);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Bumped by every write; cached counts are valid while it stays the same. */
  get version(): number {
    return this.changes;
  }

  /** Adds `count` deterministic incoming referrals (the same seed gives the same referrals). */
  seed(count: number, seed?: number): Referral[] {
    if (!Number.isInteger(count) || count < 0)
      throw new StoreError('BadRequest', `count must be a non-negative integer (got ${count})`);
    const used = seed ?? this.nextSeed;
    if (!Number.isInteger(used))
      throw new StoreError('BadRequest', `seed must be an integer (got ${used})`);
    const referrals = generateSeededReferrals(count, used, this.clock.nowMs());
    const clash = referrals.find((referral) => this.slots.has(referral.id as string));
    if (clash) {
      throw new StoreError(
        'Conflict',
        `seed ${used} was already used in this store (referral ${String(clash.id)} exists): ` +
          `reset the store or pick another seed`,
      );
    }
    this.nextSeed = Math.max(this.nextSeed, used + 1);
    if (referrals.length > BULK_THRESHOLD) this.insertMany(referrals);
    else for (const referral of referrals) this.put(referral);
    return referrals as Referral[];
  }

  /**
   * Creates a referral as Microsoft or a customer would. By default the input is deep-merged onto a
   * generated referral (so `{}` gives a complete one) and validated; with `raw` it is stored as
   * given,
   * even malformed, only adding id, eTag and updatedDateTime when absent.
   */
  create(input: Record<string, unknown>, options: { raw?: boolean } = {}): Referral {
    if (!isPlainObject(input))
      throw new StoreError('BadRequest', 'a referral must be a JSON object');
    const given = structuredClone(input);
    const referral = options.raw ? this.rawReferral(given) : this.generatedReferral(given);
    const id = String(referral.id);
    if (this.slots.has(id)) throw new StoreError('Conflict', `referral ${id} already exists`);
    this.put(referral, { raw: options.raw === true });
    return referral as Referral;
  }

  get(id: string): Referral | undefined {
    return this.slots.get(id)?.referral as Referral | undefined;
  }

  /** Every referral, in updatedDateTime order. */
  all(): Referral[] {
    const result: Referral[] = [];
    for (let i = 0; i < this.updatedIndex.length; i++)
      result.push(this.updatedIndex.at(i).slot.referral as Referral);
    return result;
  }

  /**
   * Deep-merges `changes` as another actor would (customer or vendor edits): no life-cycle check,
   * so tests can set any state. Rolls eTag and updatedDateTime unless `changes` sets them.
   */
  update(id: string, changes: Record<string, unknown>): Referral {
    const slot = this.slots.get(id);
    if (!slot) throw new StoreError('NotFound', `referral ${id} was not found`);
    if (!isPlainObject(changes))
      throw new StoreError('BadRequest', 'the changes must be a JSON object');
    if (changes.id !== undefined && changes.id !== slot.id)
      throw new StoreError('BadRequest', `the id of referral ${id} cannot change`);
    const merged = deepMerge(slot.referral, structuredClone(changes)) as Record<string, unknown>;
    if (
      changes.createdDateTime !== undefined &&
      changes.expirationDateTime === undefined &&
      slot.referral.expirationDateTime
    ) {
      const created = canonicalInstant(merged.createdDateTime);
      if (created) merged.expirationDateTime = addDays(created, EXPIRY_DAYS);
    }
    if (changes.updatedDateTime === undefined) merged.updatedDateTime = this.nextStamp();
    if (changes.eTag === undefined) merged.eTag = this.nextETag();
    this.put(merged, { raw: slot.raw });
    return merged as Referral;
  }

  clear(): void {
    this.slots.clear();
    this.updatedIndex.clear();
    this.createdIndex.clear();
    this.expiries.clear();
    this.nextSeed = this.firstSeed;
    this.lastStamp = '';
    this.partnerWrites.length = 0;
    this.changes++;
  }

  slot(id: string): ReferralSlot | undefined {
    return this.slots.get(id);
  }

  index(field: IndexedField): SortedIndex {
    return field === 'updatedDateTime' ? this.updatedIndex : this.createdIndex;
  }

  /** Calls `listener` after every single write with the stored referral and whether it was new. */
  onWrite(listener: WriteListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /** A trusted write: stores the snapshot as is and re-indexes it. */
  put(referral: Record<string, unknown>, options: { raw?: boolean } = {}): void {
    const id = String(referral.id);
    const created = !this.slots.has(id);
    const updatedKey = canonicalInstant(referral.updatedDateTime) ?? '';
    const createdKey = canonicalInstant(referral.createdDateTime) ?? '';
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {
        id,
        referral,
        updatedKey,
        createdKey,
        queuedExpiry: null,
        raw: options.raw === true,
      };
      this.slots.set(id, slot);
      this.updatedIndex.insert(updatedKey, slot);
      this.createdIndex.insert(createdKey, slot);
    } else {
      moveEntry(this.updatedIndex, slot, slot.updatedKey, updatedKey);
      moveEntry(this.createdIndex, slot, slot.createdKey, createdKey);
      Object.assign(slot, { referral, updatedKey, createdKey, raw: options.raw === true });
    }
    this.queueExpiry(slot);
    this.changes++;
    for (const listener of this.writeListeners) listener(referral, created);
  }

  /** A strictly increasing updatedDateTime: now, or one 100-ns tick after the previous write. */
  nextStamp(): string {
    const candidate = formatInstant(this.clock.nowMs(), this.random.int(0, 9_999));
    this.lastStamp = candidate > this.lastStamp ? candidate : addTicks(this.lastStamp, 1);
    return this.lastStamp;
  }

  /** A new GUID from the store's generator (ids of created referrals). */
  newId(): string {
    return this.random.guid();
  }

  nextETag(): string {
    return eTagFrom(this.random);
  }

  /**
   * Closes every incoming New referral whose expirationDateTime has passed on the simulator clock:
   * Closed/Expired, updatedDateTime = its expirationDateTime, a new eTag. Returns how many expired.
   */
  expireDue(): number {
    const due = this.collectDue(formatInstant(this.clock.nowMs()));
    if (due.length === 0) return 0;
    const bulk = due.length > BULK_THRESHOLD;
    for (const { key, slot } of due) {
      const stamp = key > slot.updatedKey ? key : addTicks(slot.updatedKey, 1);
      if (stamp > this.lastStamp) this.lastStamp = stamp;
      const expired = {
        ...slot.referral,
        status: 'Closed',
        substatus: 'Expired',
        updatedDateTime: stamp,
        eTag: this.nextETag(),
      };
      if (!bulk) this.put(expired, { raw: slot.raw });
      else Object.assign(slot, { referral: expired, updatedKey: stamp });
    }
    if (bulk) {
      this.updatedIndex.rebuild(
        [...this.slots.values()].map((slot) => ({ key: slot.updatedKey, slot })),
      );
      this.changes++;
    }
    return due.length;
  }

  private collectDue(nowKey: string): IndexEntry[] {
    const due: IndexEntry[] = [];
    for (let entry = this.expiries.popDue(nowKey); entry; entry = this.expiries.popDue(nowKey)) {
      const { key, slot } = entry;
      if (slot.queuedExpiry === key) slot.queuedExpiry = null;
      // Stale entries: the referral was answered, re-dated or removed since it was queued.
      if (this.slots.get(slot.id) === slot && expiryKeyOf(slot.referral) === key) due.push(entry);
    }
    return due;
  }

  private queueExpiry(slot: ReferralSlot): void {
    const key = expiryKeyOf(slot.referral);
    if (key === null || key === slot.queuedExpiry) return;
    this.expiries.push(key, slot);
    slot.queuedExpiry = key;
  }

  /** Seeding: one sort per index instead of one insertion per referral. */
  private insertMany(referrals: Record<string, unknown>[]): void {
    for (const referral of referrals) {
      const slot: ReferralSlot = {
        id: String(referral.id),
        referral,
        updatedKey: canonicalInstant(referral.updatedDateTime) ?? '',
        createdKey: canonicalInstant(referral.createdDateTime) ?? '',
        queuedExpiry: null,
        raw: false,
      };
      this.slots.set(slot.id, slot);
      this.queueExpiry(slot);
    }
    const slots = [...this.slots.values()];
    this.updatedIndex.rebuild(slots.map((slot) => ({ key: slot.updatedKey, slot })));
    this.createdIndex.rebuild(slots.map((slot) => ({ key: slot.createdKey, slot })));
    this.changes++;
  }

  private rawReferral(given: Record<string, unknown>): Record<string, unknown> {
    const referral = { ...given };
    if (referral.id === undefined || referral.id === null) referral.id = this.random.guid();
    if (referral.eTag === undefined) referral.eTag = this.nextETag();
    if (referral.updatedDateTime === undefined) referral.updatedDateTime = this.nextStamp();
    return referral;
  }

  private generatedReferral(given: Record<string, unknown>): Record<string, unknown> {
    const stamp = this.nextStamp();
    const merged = deepMerge(
      generateReferral(this.random, stamp, stamp, this.clock.nowMs()),
      given,
    ) as Record<string, unknown>;
    const created = canonicalInstant(merged.createdDateTime);
    if (given.createdDateTime !== undefined && given.expirationDateTime === undefined && created) {
      merged.expirationDateTime = addDays(created, EXPIRY_DAYS);
    }
    merged.updatedDateTime = stamp;
    const problems: string[] = [];
    const referral = conformObject(merged, REFERRAL_SPEC, '', problems);
    if (problems.length > 0)
      throw new StoreError('BadRequest', `invalid referral: ${problems.join('; ')}`);
    delete referral.links;
    return referral;
  }
}

/** The expiration key when the referral is still waiting for the partner's answer, else null. */
function expiryKeyOf(referral: Record<string, unknown>): string | null {
  if (referral.status !== 'New' || referral.direction !== 'Incoming') return null;
  return canonicalInstant(referral.expirationDateTime);
}

function moveEntry(index: SortedIndex, slot: ReferralSlot, from: string, to: string): void {
  if (from === to) return;
  index.remove(from, slot);
  index.insert(to, slot);
}

/** The referral as served: its snapshot plus `links` for the base URL the client used. */
export function presentReferral(slot: ReferralSlot, baseUrl: string): Record<string, unknown> {
  if (slot.raw || slot.referral.links !== undefined) return slot.referral;
  const collection = `${baseUrl}/v1.0/engagements/referrals`;
  const engagementId =
    typeof slot.referral.engagementId === 'string' ? slot.referral.engagementId : '';
  const related = `engagementId eq '${engagementId.replace(/'/g, "''")}'`;
  return {
    ...slot.referral,
    links: {
      self: { uri: `${collection}/${encodeURIComponent(slot.id)}`, method: 'GET', headers: [] },
      relatedReferrals: {
        uri: `${collection}?$filter=${encodeURIComponent(related)}`,
        method: 'GET',
        headers: [],
      },
    },
  };
}
