// The job engine (pg-boss 10): one queue of tenant cycles, at most one waiting job per tenant, plus
// the tenant lock.
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import type { ClusterConfig } from '../config/index.js';
import type { Logger } from '../core/log.js';

/** The queue of "run one bounded cycle for tenant X" jobs. */
export const CYCLE_QUEUE = 'leadbridge-tenant-cycle';
/**
 * The first key of every tenant lock (pg_locks.classid), so `status` and the scheduler can find
 * them.
 */
export const LOCK_CLASS = 0x4c42;

/**
 * The part of node-postgres' Client used here (the package ships no types; knex's pool cannot pin a
 * session).
 */
interface SessionClient {
  connect(): Promise<void>;
  query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (error: Error) => void): void;
}
const pg = createRequire(import.meta.url)('pg') as {
  Client: new (options: { connectionString: string; keepAlive: boolean }) => SessionClient;
};

export interface CycleJob {
  tenant: string;
}

/**
 * pg-boss with the queue leadbridge needs. Policy `short`: at most one *waiting* job per tenant
 * (its
 * singletonKey), so a scheduler on every worker can send freely. One *running* cycle per tenant is
 * the tenant
 * lock's job (below): a pg-boss `singleton`/`stately` queue makes fetch fail outright while a
 * tenant's next
 * job waits behind its running one, which would stall the whole queue.
 */
export async function startEngine(
  connection: string,
  config: ClusterConfig,
  logger: Logger,
): Promise<PgBoss> {
  // Workers starting together on a new schema can deadlock in pg-boss's own set-up (its queue
  // table and the queue's partition): PostgreSQL picks one to fail, which simply tries again.
  for (let attempt = 1; ; attempt++) {
    const boss = new PgBoss({
      connectionString: connection,
      schema: config.bossSchema,
      max: 3,
      supervise: true,
      schedule: false,
      maintenanceIntervalSeconds: config.maintenanceSeconds,
    });
    boss.on('error', (error) => logger.warn('job engine error', { error: error.message }));
    try {
      await boss.start();
      await boss.createQueue(CYCLE_QUEUE, {
        name: CYCLE_QUEUE,
        policy: 'short',
        // A job whose worker died is failed at expiry, not retried: the scheduler sends the
        // tenant a fresh one.
        retryLimit: 0,
        expireInSeconds: config.jobExpireSeconds,
        retentionMinutes: 60,
      });
      return boss;
    } catch (error) {
      await boss.stop({ graceful: false, wait: true, timeout: 1_000 }).catch(() => undefined);
      if ((error as { code?: unknown }).code !== DEADLOCK || attempt >= 5) throw error;
      logger.info('job engine set-up met another worker’s; trying again', { attempt });
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400 * attempt));
    }
  }
}

/** PostgreSQL's SQLSTATE for "deadlock detected". */
const DEADLOCK = '40P01';

/**
 * Queues a cycle for a tenant after `delaySeconds`; null when one is already waiting (nothing to
 * do).
 */
export function sendCycle(
  boss: PgBoss,
  tenant: string,
  delaySeconds: number,
): Promise<string | null> {
  const data: CycleJob = { tenant };
  return boss.send(CYCLE_QUEUE, data, {
    singletonKey: tenant,
    ...(delaySeconds > 0 ? { startAfter: Math.ceil(delaySeconds) } : {}),
  });
}

/**
 * A tenant lock: a PostgreSQL session advisory lock on a connection of its own. The server drops it
 * the
 * moment the connection goes (a killed process), or within about a minute for a lost machine (the
 * session's TCP keepalives), so another worker can take the tenant over.
 */
export class TenantLock {
  private constructor(private readonly client: SessionClient) {}

  /** The lock, or null when another worker holds it (that tenant's cycle is running). */
  static async tryTake(connection: string, tenant: string): Promise<TenantLock | null> {
    const client = new pg.Client({ connectionString: connection, keepAlive: true });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(
        'set tcp_keepalives_idle = 30; set tcp_keepalives_interval = 10; set ' +
          'tcp_keepalives_count = 3',
      );
      const { rows } = await client.query<{ taken: boolean }>(
        'select pg_try_advisory_lock($1, hashtext($2)) as taken',
        [LOCK_CLASS, tenant],
      );
      if (rows[0]?.taken === true) return new TenantLock(client);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    await client.end().catch(() => undefined);
    return null;
  }

  async release(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
