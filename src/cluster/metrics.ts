// Per-tenant metrics of a cluster worker, with a bounded tenant label (the first N tenants seen,
// then "other").
import { Counter, Histogram, Registry } from 'prom-client';

const OTHER = 'other';

export class ClusterMetrics {
  readonly registry = new Registry();
  private readonly labelled = new Set<string>();
  private readonly cycles: Counter<'tenant' | 'result'>;
  private readonly duration: Histogram<'tenant'>;

  constructor(private readonly maxTenants: number) {
    this.cycles = new Counter({
      name: 'leadbridge_tenant_cycles_total',
      help: 'Tenant cycles this worker ran, by tenant and result (ok, failed)',
      labelNames: ['tenant', 'result'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'leadbridge_tenant_cycle_duration_seconds',
      help: 'How long one tenant cycle took on this worker',
      labelNames: ['tenant'],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [this.registry],
    });
  }

  /** The label a tenant gets: its id while fewer than maxTenants have one, else "other". */
  tenantLabel(tenant: string): string {
    if (this.labelled.has(tenant)) return tenant;
    if (this.labelled.size >= this.maxTenants) return OTHER;
    this.labelled.add(tenant);
    return tenant;
  }

  recordCycle(tenant: string, ok: boolean, durationMs: number): void {
    const label = this.tenantLabel(tenant);
    this.cycles.inc({ tenant: label, result: ok ? 'ok' : 'failed' });
    this.duration.observe({ tenant: label }, durationMs / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
