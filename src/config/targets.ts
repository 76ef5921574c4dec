// Config of the CRM targets: shared fields around settings that each kind's module validates.
import { z } from 'zod';
import { booleanField, intField, nonEmptyString } from './fields.js';

/** Requests in flight at once and started per minute (0: no per-minute cap). */
export interface ApiLimits {
  concurrency: number;
  requestsPerMinute: number;
}

/** A caps block whose defaults are the API's own (Partner Center's, or a CRM kind's). */
export function apiLimitsSchema(defaults: ApiLimits) {
  return z
    .strictObject({
      /** Requests in flight at once. */
      concurrency: intField(1, 1000).default(defaults.concurrency),
      /** Requests started per minute; 0 means no cap. */
      requestsPerMinute: intField(0).default(defaults.requestsPerMinute),
    })
    .prefault({});
}

/**
 * What the config needs to know of a CRM kind (src/crm/module.ts's CrmModule is one): the config
 * layer sits below
 * the CRM modules, so the list is handed to it (parseConfig's `kinds`).
 */
export interface TargetKind {
  readonly kind: string;
  /** The schema of the target's `settings`, owned by the kind's module. */
  readonly settingsSchema: z.ZodType;
  /** `limits` of a target that sets none, inside the CRM's documented limits. */
  readonly defaultLimits: ApiLimits;
  /** Absolute path of the bundled mapping file, used when a target names none. */
  readonly mappingFile: string;
  /**
   * Further bundled mappings (absolute paths), which a target names as
   * `mapping: bundled:<name>`.
   */
  readonly bundledMappings?: Readonly<Record<string, string>>;
  /** Settings with the file paths they hold made absolute with `resolve` (e.g. a key file). */
  resolveSettingsPaths?(settings: unknown, resolve: (file: string) => string): unknown;
}

const targetNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'expected letters, digits, "-", "_" or "." (starting with a letter or digit)',
  );

const TARGET_KEYS = ['name', 'kind', 'enabled', 'mapping', 'limits', 'settings'];

/** The fields every target has, around the settings its kind's module validates. */
function targetSchema(kind: TargetKind) {
  return z
    .looseObject({
      name: targetNameSchema,
      kind: z.literal(kind.kind),
      enabled: booleanField().default(true),
      /**
       * A field-mapping file (relative to the working directory); the kind's bundled mapping when
       * absent.
       */
      mapping: nonEmptyString().default(kind.mappingFile),
      limits: apiLimitsSchema(kind.defaultLimits),
      settings: kind.settingsSchema,
    })
    .superRefine(
      (target, ctx) => {
        if (typeof target !== 'object' || target === null) return;
        for (const key of Object.keys(target).filter((key) => !TARGET_KEYS.includes(key)))
          ctx.addIssue({ code: 'custom', path: [key], message: unknownTargetKey(kind, key) });
        const mapping = (target as { mapping?: unknown }).mapping;
        if (typeof mapping === 'string' && bundledMapping(kind, mapping) === null)
          ctx.addIssue({
            code: 'custom',
            path: ['mapping'],
            message: unknownBundled(kind, mapping),
          });
      },
      { when: () => true },
    )
    .transform(({ name, kind: k, enabled, mapping, limits, settings }): TargetConfig => ({
      name,
      kind: k,
      enabled,
      mapping: bundledMapping(kind, mapping) ?? mapping,
      limits,
      settings,
    }));
}

const BUNDLED = 'bundled:';

/** The file a `bundled:<name>` mapping names; the text itself when it is a path; null: unknown. */
function bundledMapping(kind: TargetKind, mapping: string): string | null {
  if (!mapping.startsWith(BUNDLED)) return mapping;
  return kind.bundledMappings?.[mapping.slice(BUNDLED.length)] ?? null;
}

function unknownBundled(kind: TargetKind, mapping: string): string {
  const known = Object.keys(kind.bundledMappings ?? {}).map((name) => BUNDLED + name);
  return (
    `${kind.kind} has no bundled mapping "${mapping}" (bundled: ${known.join(', ') || 'none'}; ` +
    `or give a mapping file's path)`
  );
}

/**
 * An unknown key of a target; a settings key written in the old flat shape says where it goes now.
 */
function unknownTargetKey(kind: TargetKind, key: string): string {
  if (objectKeys(kind.settingsSchema).includes(key))
    return (
      `unknown key: ${key} is a ${kind.kind} setting, write it under settings (settings.` +
      `${key})`
    );
  return `unknown key (allowed keys: ${TARGET_KEYS.join(', ')})`;
}

interface SchemaInternals {
  _zod?: { def?: { shape?: object; in?: SchemaInternals } };
}

/** The keys of an object schema, also behind a transform (a pipe's input). */
function objectKeys(schema: unknown): string[] {
  const def = (schema as SchemaInternals)._zod?.def;
  if (def?.shape) return Object.keys(def.shape);
  return def?.in ? objectKeys(def.in) : [];
}

/** The target list for the given CRM kinds; names must be unique. */
export function targetsSchemaFor(kinds: readonly TargetKind[]) {
  const [first, ...rest] = kinds.map(targetSchema);
  if (!first) throw new Error('no CRM kinds given to the config schema');
  return z.array(z.discriminatedUnion('kind', [first, ...rest])).superRefine(
    (targets, ctx) => {
      // Runs even when some targets are invalid, so a duplicate is reported together with
      // everything else.
      if (!Array.isArray(targets)) return;
      const firstIndexByName = new Map<string, number>();
      targets.forEach((target: unknown, index) => {
        const name = (target as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return;
        const seen = firstIndexByName.get(name);
        if (seen === undefined) firstIndexByName.set(name, index);
        else
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `duplicate target name "${name}" (also used by targets[${seen}])`,
          });
      });
    },
    { when: () => true },
  );
}

/**
 * A validated target; `settings` is what its kind's module's schema produced (only the module reads
 * it).
 */
export interface TargetConfig {
  name: string;
  kind: string;
  enabled: boolean;
  /**
   * Absolute once loaded (config/load.ts resolves it); the kind's bundled mapping when none was
   * given.
   */
  mapping: string;
  limits: ApiLimits;
  settings: unknown;
}
