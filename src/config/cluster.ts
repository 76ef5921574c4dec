// The `cluster` section: many workers sharing tenants through the pg-boss job engine on the
// PostgreSQL ledger.
import { z } from 'zod';
import { booleanField, intField, nonEmptyString } from './fields.js';

const identifier = () =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,40}$/, 'expected an identifier (letters, digits, "_")');

export const clusterSchema = z.strictObject({
  /** Off by default: one process, one partner, the config's own source and targets. */
  enabled: booleanField().default(false),
  /** The schema pg-boss keeps its queues in (created on first start). */
  bossSchema: identifier().default('leadbridge_boss'),
  /** Tenant cycles one worker runs at once. */
  concurrency: intField(1, 64).default(4),
  /**
   * A job not completed this long after it started is failed by the engine (a dead worker's job).
   * Not the rerun bound: a killed worker's tenant gets a fresh job from the next scheduler round
   * (README, "How the work is shared"). Cycles stop reading at half of it and abort at 90 %.
   */
  jobExpireSeconds: intField(5, 3_600).default(60),
  /** How often the engine's supervisor looks for expired jobs. */
  maintenanceSeconds: intField(1, 600).default(10),
  /** How often an idle worker asks for a job. */
  pollSeconds: intField(1, 60).default(2),
  /** How often each worker writes its heartbeat; 3 missed beats and `status` counts it gone. */
  heartbeatSeconds: intField(1, 300).default(5),
  /**
   * Referral pages one tenant cycle reads before it requeues itself (so a backfill cannot starve
   * others).
   */
  maxPagesPerCycle: intField(1, 1_000).default(5),
  /**
   * Tenants kept open per worker (their ledger pools and CRM clients); the least recently used
   * close.
   */
  openTenants: intField(1, 1_000).default(4),
  /**
   * Tenants with a metric label of their own; the rest share tenant="other", so series stay
   * bounded.
   */
  metricTenants: intField(0, 10_000).default(50),
  /** This worker's name in `status` (default: host name and pid). */
  workerName: nonEmptyString().optional(),
});

export type ClusterConfig = z.output<typeof clusterSchema>;
