// The tenants a worker keeps open (ledger pool, CRM clients), least recently used closed first.
import type { Runtime } from '../sync/cycle.js';
import type { TenantRow } from './store.js';

interface Open {
  runtime: Promise<Runtime>;
  /** The tenant file's version: a changed file reopens the tenant. */
  updatedAt: string;
  /** Cycles running on it now: a runtime in use is never closed under them. */
  users: number;
  /** Dropped while in use: closed when its last cycle ends. */
  closeWhenIdle: boolean;
}

/** A runtime lent to one cycle; `release` hands it back. */
export interface Lease {
  runtime: Runtime;
  release(): void;
}

export class TenantRuntimes {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly openTenant: (tenant: TenantRow) => Promise<Runtime>,
    private readonly capacity: number,
  ) {}

  /**
   * The tenant's runtime for one cycle. Keeps at most `capacity` runtimes open, but only idle ones
   * are closed to make room: closing one a cycle still runs on would leave that cycle waiting on a
   * destroyed pool until its abort (a tenant slot lost for most of the job's lease).
   */
  async lease(tenant: TenantRow): Promise<Lease> {
    let entry = this.open.get(tenant.id);
    if (entry && entry.updatedAt !== tenant.updatedAt) {
      this.drop(tenant.id);
      entry = undefined;
    }
    if (entry) {
      this.open.delete(tenant.id);
      this.open.set(tenant.id, entry); // most recently used last
    } else {
      const opened: Open = {
        runtime: this.openTenant(tenant),
        updatedAt: tenant.updatedAt,
        users: 0,
        closeWhenIdle: false,
      };
      opened.runtime.catch(() => {
        if (this.open.get(tenant.id) === opened) this.open.delete(tenant.id);
      });
      this.open.set(tenant.id, opened);
      entry = opened;
    }
    entry.users++;
    this.evictIdle();
    const held = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users === 0 && held.closeWhenIdle) close(held);
      else this.evictIdle();
    };
    try {
      return { runtime: await held.runtime, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * Closes a tenant (after a failed cycle, so its next one starts from a fresh config and clients);
   * one still in use closes when its last cycle ends.
   */
  drop(id: string): void {
    const found = this.open.get(id);
    if (!found) return;
    this.open.delete(id);
    if (found.users > 0) found.closeWhenIdle = true;
    else close(found);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((o) => o.runtime.then((runtime) => runtime.close())));
  }

  /** Closes idle runtimes, least recently used first, while more than `capacity` are open. */
  private evictIdle(): void {
    for (const [id, entry] of this.open) {
      if (this.open.size <= this.capacity) return;
      if (entry.users === 0) {
        this.open.delete(id);
        close(entry);
      }
    }
  }
}

function close(entry: Open): void {
  void entry.runtime.then((runtime) => runtime.close()).catch(() => undefined);
}
