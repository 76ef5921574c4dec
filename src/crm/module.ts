// The CRM plug-in boundary: what one CRM kind's module offers (src/crm/modules.ts lists them).
import type { z } from 'zod';
import type { ApiLimits, TargetKind } from '../config/targets.js';
import type { CrmAdapter, CrmAdapterOptions } from './adapter.js';

/**
 * Everything leadbridge knows of a CRM kind, kept in its folder (src/crm/<kind>/module.ts): nothing
 * outside that
 * folder names the kind. `Settings` is the output of `settingsSchema`; the config hands it back
 * validated.
 */
export interface CrmModule<Settings = unknown> extends TargetKind {
  /** The name a config's `kind` uses (and a mapping file's `target`). */
  readonly kind: string;
  /** The product's name, for people (help text, messages). */
  readonly title: string;
  /**
   * The target's `settings`, every problem reported at once (zod; the config loader adds file and
   * line).
   */
  readonly settingsSchema: z.ZodType<Settings>;
  readonly defaultLimits: ApiLimits;
  /** Absolute path of the bundled mapping (src/crm/<kind>/mapping.yaml). */
  readonly mappingFile: string;
  /**
   * The precision of the CRM's change stamp (modifiedon, SystemModstamp...): a change read re-reads
   * the cursor's own
   * stamp interval until it is complete (src/sync/crm-window.ts).
   */
  readonly changeStampPrecisionMs: number;
  /** Where the target's CRM is, for messages about reaching it (`mappings check`, previews). */
  endpoint(settings: Settings): string;
  /**
   * A link to one record in the CRM's own web UI (the console shows it); absent when the CRM has
   * no stable record URL.
   */
  recordLink?(settings: Settings, recordId: string, entity?: string): string;
  /**
   * The adapter for one target (it validates `options.settings` with settingsSchema again); its
   * code and client
   * library load on first use. `mappings check` reads the CRM's field definitions through its
   * describeEntity.
   */
  createAdapter(options: CrmAdapterOptions): Promise<CrmAdapter>;
}

/** The module of `kind` in `modules`; an unknown kind names the known ones. */
export function crmModuleOf(modules: readonly CrmModule[], kind: string): CrmModule {
  const found = modules.find((module) => module.kind === kind);
  if (!found)
    throw new Error(
      `unknown CRM kind "${kind}" (known: ${modules.map((m) => m.kind).join(', ') || 'none'})`,
    );
  return found;
}
