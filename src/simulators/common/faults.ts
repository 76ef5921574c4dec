// Fault injection for the simulators: latency, throttling, server errors and dropped connections.
import { z } from 'zod';
import { createRandom, type Random } from './random.js';

const faultRuleSchema = z.object({
  /**
   * `status`: answer `status` (4xx or 5xx) with the simulator's error envelope (`errorCode`,
   * `message`).
   */
  kind: z.enum(['429', '5xx', 'drop', 'latency', 'status']),
  /** Probability per matching request (0..1); with `count`, the first `count` matches fail. */
  rate: z.number().min(0).max(1).default(1),
  /** Apply to this many matching requests, then stop. */
  count: z.number().int().positive().optional(),
  /**
   * Let this many matching requests through first (only those no earlier rule faulted count), then
   * apply:
   * a test can stop a backfill at a known point without racing it.
   */
  after: z.number().int().min(0).optional(),
  /** HTTP status for 5xx faults (500, 502, 503, 504). */
  status: z.number().int().min(500).max(599).default(503),
  retryAfterSeconds: z.number().min(0).default(1),
  /** For `status` faults: any refusal the vendor documents (401, 403, 404, 409...). */
  refuseStatus: z.number().int().min(400).max(599).default(400),
  errorCode: z.string().min(1).default('BadRequest'),
  message: z.string().min(1).default('The request was refused.'),
  latencyMs: z.number().int().min(0).default(0),
  /** Only requests whose method matches (GET, POST, PATCH...). */
  method: z.string().optional(),
  /** Only requests whose path contains this substring. */
  pathContains: z.string().optional(),
});

const faultConfigSchema = z.object({
  /** Latency added to every (non-admin) request. */
  latencyMs: z.number().int().min(0).default(0),
  seed: z.number().int().default(1),
  rules: z.array(faultRuleSchema).default([]),
});

type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export type FaultDecision =
  | { kind: 'none' }
  | { kind: '429'; retryAfterSeconds: number }
  | { kind: '5xx'; status: number; retryAfterSeconds: number }
  | { kind: 'drop' }
  | { kind: 'status'; status: number; errorCode: string; message: string };

interface ActiveRule {
  rule: FaultRule;
  remaining: number | undefined;
  /** Matching requests let through so far under `after`. */
  passed: number;
}

export class FaultInjector {
  private config: FaultConfig = faultConfigSchema.parse({});
  private rules: ActiveRule[] = [];
  private random: Random = createRandom(1);
  injected = 0;

  configure(input: unknown): FaultConfig {
    this.config = faultConfigSchema.parse(input);
    this.rules = this.config.rules.map((rule) => ({ rule, remaining: rule.count, passed: 0 }));
    this.random = createRandom(this.config.seed);
    return this.config;
  }

  clear(): void {
    this.configure({});
  }

  get current(): FaultConfig {
    return this.config;
  }

  /** Total latency for this request: the global latency plus matching latency rules. */
  latencyFor(method: string, path: string): number {
    let ms = this.config.latencyMs;
    for (const active of this.rules) {
      if (active.rule.kind === 'latency' && this.matches(active, method, path))
        ms += active.rule.latencyMs;
    }
    return ms;
  }

  decide(method: string, path: string): FaultDecision {
    for (const active of this.rules) {
      if (active.rule.kind === 'latency' || !this.matches(active, method, path)) continue;
      if (active.passed < (active.rule.after ?? 0)) {
        active.passed++;
        continue;
      }
      if (!this.random.chance(active.rule.rate)) continue;
      if (active.remaining !== undefined) active.remaining--;
      this.injected++;
      const { rule } = active;
      if (rule.kind === '429') return { kind: '429', retryAfterSeconds: rule.retryAfterSeconds };
      if (rule.kind === '5xx')
        return { kind: '5xx', status: rule.status, retryAfterSeconds: rule.retryAfterSeconds };
      if (rule.kind === 'status')
        return {
          kind: 'status',
          status: rule.refuseStatus,
          errorCode: rule.errorCode,
          message: rule.message,
        };
      return { kind: 'drop' };
    }
    return { kind: 'none' };
  }

  private matches(active: ActiveRule, method: string, path: string): boolean {
    if (active.remaining !== undefined && active.remaining <= 0) return false;
    const { rule } = active;
    if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
    if (rule.pathContains && !path.includes(rule.pathContains)) return false;
    return true;
  }
}
