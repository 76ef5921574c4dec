// The tenants a worker keeps open (ledger pool, CRM clients), least recently used closed first.
import type { Runtime } from '../sync/cycle.js';
import type { TenantRow } from './store.js';

interface Open {
  runtime: Promise<Runtime>;
  /** The tenant file's version: a changed file reopens the tenant. */
  updatedAt: string;
}

export class TenantRuntimes {
  private readonly open = new Map<string, Open>();

  constructor(
    private readonly openTenant: (tenant: TenantRow) => Promise<Runtime>,
    private readonly capacity: number,
  ) {}

  async get(tenant: TenantRow): Promise<Runtime> {
    const found = this.open.get(tenant.id);
    if (found && found.updatedAt === tenant.updatedAt) {
      this.open.delete(tenant.id);
      this.open.set(tenant.id, found); // most recently used last
      return found.runtime;
    }
    if (found) this.drop(tenant.id);
    const runtime = this.openTenant(tenant);
    this.open.set(tenant.id, { runtime, updatedAt: tenant.updatedAt });
    runtime.catch(() => this.open.delete(tenant.id));
    while (this.open.size > this.capacity) {
      const oldest = this.open.keys().next().value as string;
      this.drop(oldest);
    }
    return runtime;
  }

  /**
   * Closes a tenant (after a failed cycle, so its next one starts from a fresh config and clients).
   */
  drop(id: string): void {
    const found = this.open.get(id);
    this.open.delete(id);
    void found?.runtime.then((runtime) => runtime.close()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((o) => o.runtime.then((runtime) => runtime.close())));
  }
}
