// The cluster chaos run's stopwatch: a killed worker's running tenant cycles, and how long until
// another worker process starts each one again (read from the cluster's cycles table).
import type { Knex } from 'knex';

interface Waiting {
  tenant: string;
  killedAt: number;
}

export class RerunWatch {
  private readonly waiting: Waiting[] = [];
  private readonly seconds: number[] = [];
  private count = 0;
  private readonly timer: NodeJS.Timeout;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Knex,
    private readonly schema: string,
  ) {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch(() => undefined);
    }, 200);
  }

  /** Tenants whose cycle runs on the worker with this pid now (its id is host:pid:suffix). */
  async runningOn(pid: number): Promise<string[]> {
    const rows = (await this.db.raw(
      `select tenant from ??.leadbridge_tenant_cycles
        where last_worker like ?
          and (last_finished_at is null or last_finished_at < last_started_at)`,
      [this.schema, `%:${pid}:%`],
    )) as { rows: Array<{ tenant: string }> };
    return rows.rows.map((row) => row.tenant);
  }

  killed(tenants: string[], at: Date): void {
    this.count += tenants.length;
    for (const tenant of tenants) this.waiting.push({ tenant, killedAt: at.getTime() });
  }

  interrupted(): number {
    return this.count;
  }

  /** Waits up to `timeoutMs` for every interrupted cycle to have run again. */
  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.waiting.length > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** Waits for the last poll; cycles not rerun by then count as never rerun. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    await this.poll();
  }

  figures(): { max: number | null; mean: number | null; notRerun: number } {
    const n = this.seconds.length;
    return {
      max: n ? Math.max(...this.seconds) : null,
      mean: n ? this.seconds.reduce((a, b) => a + b, 0) / n : null,
      notRerun: this.waiting.length,
    };
  }

  private async poll(): Promise<void> {
    if (this.waiting.length === 0) return;
    const rows = (await this.db.raw(
      `select tenant, last_started_at from ??.leadbridge_tenant_cycles where tenant = any(?)`,
      [this.schema, this.waiting.map((w) => w.tenant)],
    )) as { rows: Array<{ tenant: string; last_started_at: string | null }> };
    const started = new Map(
      rows.rows.map((row) => [row.tenant, Date.parse(row.last_started_at ?? '')]),
    );
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      const at = started.get(w.tenant) ?? Number.NaN;
      if (at > w.killedAt) {
        this.seconds.push((at - w.killedAt) / 1000);
        this.waiting.splice(i, 1);
      }
    }
  }
}
