// The config file's schema (zod 4): source, targets, ledger, worker, log; with their defaults.
import { z } from 'zod';
import { DEFAULT_LEAD_KINDS, LEAD_KINDS } from '../core/referral.js';
import type { LeadKind } from '../core/referral.js';
import {
  booleanField,
  entraClientCredentialsSchema,
  entraUserSignInSchema,
  httpUrl,
  intField,
  nonEmptyString,
  staticAuthSchema,
} from './fields.js';
import { alertsConfigSchema } from './alerts.js';
import { clusterSchema } from './cluster.js';
import { apiLimitsSchema, targetsSchemaFor, type TargetKind } from './targets.js';
import { webhooksConfigSchema } from './webhooks.js';

const PARTNER_CENTER_URL = 'https://api.partner.microsoft.com';
const PARTNER_CENTER_SCOPE = 'https://api.partner.microsoft.com/.default';
const DEFAULT_SQLITE_FILENAME = './data/leadbridge.sqlite';
export const TOKEN_CACHE_FILENAME = 'partner-center-token-cache.json';

const leadKindSchema = z.enum(LEAD_KINDS as unknown as [LeadKind, ...LeadKind[]]);

const partnerCenterSchema = z.strictObject({
  baseUrl: httpUrl().default(PARTNER_CENTER_URL),
  /**
   * `user` (App+User, the only sign-in the referral pages document) first; clientCredentials is not
   * documented for referrals.
   */
  auth: z.discriminatedUnion('kind', [
    entraUserSignInSchema.extend({ scope: nonEmptyString().default(PARTNER_CENTER_SCOPE) }),
    staticAuthSchema,
    entraClientCredentialsSchema.extend({ scope: nonEmptyString().default(PARTNER_CENTER_SCOPE) }),
  ]),
  /** Which lead kinds are synced; co-sell opportunities are left out unless listed. */
  leadKinds: z
    .array(leadKindSchema)
    .min(1)
    .transform((kinds) => [...new Set(kinds)])
    .default([...DEFAULT_LEAD_KINDS]),
  /**
   * How far each poll reaches back before the last cursor (the API's filter semantics are not
   * settled).
   */
  overlapSeconds: intField(0, 86_400).default(300),
  /** Referrals per page (the API returns at most 100). */
  pageSize: intField(1, 100).default(100),
});

const sourceSchema = z.strictObject({
  partnerCenter: partnerCenterSchema,
});

/** How long audit entries, settled outbox rows and finished runs are kept (absent: 180 days). */
const retentionSchema = z.strictObject({
  days: intField(1).default(180),
});

const sqliteLedgerSchema = z.strictObject({
  client: z.literal('sqlite'),
  /** A file path (relative to the working directory) or ":memory:". */
  filename: nonEmptyString().default(DEFAULT_SQLITE_FILENAME),
  retention: retentionSchema.optional(),
});

const pgLedgerSchema = z.strictObject({
  client: z.literal('pg'),
  connection: z
    .string({
      error: (issue) => (issue.input === undefined ? 'required when client is pg' : undefined),
    })
    .trim()
    .min(1, 'required when client is pg'),
  /** The PostgreSQL schema holding leadbridge's tables (the connection's default when absent). */
  schema: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, "_")')
    .optional(),
  retention: retentionSchema.optional(),
});

// `client` may be left out, meaning the embedded SQLite ledger.
function withDefaultClient(value: unknown): unknown {
  if (value === undefined) return { client: 'sqlite' };
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !('client' in value)
  ) {
    return { client: 'sqlite', ...value };
  }
  return value;
}

const ledgerSchema = z.preprocess(
  withDefaultClient,
  z.discriminatedUnion('client', [sqliteLedgerSchema, pgLedgerSchema]),
);

const healthSchema = z.strictObject({
  /** Off by default: an operator opts in to the HTTP endpoint. */
  enabled: booleanField().default(false),
  /** Loopback by default; put a reverse proxy in front to expose it. */
  host: nonEmptyString().default('127.0.0.1'),
  port: intField(0, 65_535).default(9464),
  /** /healthz answers 503 when the last successful cycle is older than this. */
  maxAgeSeconds: intField(1).default(600),
});

const workerSchema = z.strictObject({
  intervalSeconds: intField(1).default(60),
  jitterSeconds: intField(0).default(5),
  /**
   * Referral pages per cycle (100 referrals each); more waiting means an immediate re-poll. Keeps
   * cycles and shutdowns short.
   */
  maxPagesPerCycle: intField(1).default(50),
  /** How long a SIGTERM / SIGINT waits for the cycle in flight before aborting it. */
  stopTimeoutSeconds: intField(1).default(30),
  /** How often referrals near their 14-day expiry are looked for (one query each time). */
  expiryScanMinutes: intField(1).default(60),
  /**
   * How often flagged co-sell deals are looked for in each CRM (one query each time); 0: every
   * cycle.
   */
  coSellScanSeconds: intField(0).default(60),
  health: healthSchema.prefault({}),
});

/**
 * Partner Center publishes no limit; the CRM targets carry their own `limits` (their kind's
 * defaults).
 */
function limitsSchemaFor(kinds: readonly TargetKind[]) {
  return z
    .looseObject({ partnerCenter: apiLimitsSchema({ concurrency: 32, requestsPerMinute: 0 }) })
    .superRefine(
      (limits, ctx) => {
        if (typeof limits !== 'object' || limits === null) return;
        for (const key of Object.keys(limits).filter((key) => key !== 'partnerCenter'))
          ctx.addIssue({ code: 'custom', path: [key], message: movedLimitMessage(kinds, key) });
      },
      { when: () => true },
    )
    .transform(({ partnerCenter }) => ({ partnerCenter }));
}

/** The old shape had one `limits.<kind>` for all targets of a kind; each target now has its own. */
function movedLimitMessage(kinds: readonly TargetKind[], key: string): string {
  if (!kinds.some((kind) => kind.kind === key)) return 'unknown key (allowed keys: partnerCenter)';
  return (
    `limits.${key} has moved: give each ${key} target its own limits ` +
    '(targets[i].limits: { concurrency, requestsPerMinute })'
  );
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

const logSchema = z.strictObject({
  level: z.enum(LOG_LEVELS).default('info'),
  /** auto: pretty on a terminal, JSON otherwise. */
  format: z.enum(LOG_FORMATS).default('auto'),
});

/** The config file's schema for the given CRM kinds (src/crm/modules.ts lists the bundled ones). */
export function configSchemaFor(kinds: readonly TargetKind[]) {
  return z.strictObject({
    source: sourceSchema,
    targets: targetsSchemaFor(kinds).default([]),
    ledger: ledgerSchema,
    worker: workerSchema.prefault({}),
    alerts: alertsConfigSchema.default({ enabled: false }),
    webhooks: webhooksConfigSchema.prefault({}),
    limits: limitsSchemaFor(kinds).prefault({}),
    log: logSchema.prefault({}),
    cluster: clusterSchema.prefault({}),
  });
}

export type LogConfig = z.output<typeof logSchema>;
export type LeadbridgeConfig = z.output<ReturnType<typeof configSchemaFor>>;
