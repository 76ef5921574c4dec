// What both `mappings` commands share: the targets chosen, their mapping files, an adapter per
// target.
import path from 'node:path';
import type { LeadbridgeConfig, TargetConfig } from '../config/index.js';
import { LeadbridgeError, ValidationError, type Issue } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry.js';
import type { CrmAdapter } from '../crm/adapter.js';
import { loadMapping, type CompiledMapping } from '../mapping/index.js';
import { targetKindIssue } from '../mapping/target-kind.js';
import { createCrmAdapter, endpointOf } from './compose.js';
/**
 * An admin command waits for an answer, not for a long backoff: one quick retry, then the error.
 */
const COMMAND_RETRY_POLICY: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  maxAttempts: 2,
  maxDelayMs: 1_000,
  maxRetryAfterMs: 5_000,
};

export interface MappingsCommandOptions {
  config: LeadbridgeConfig;
  logger: Logger;
  /** Relative mapping paths resolve against this; files under it are shown relative to it. */
  cwd: string;
  out: NodeJS.WritableStream;
  /** Only this target (enabled or not); every enabled target otherwise. */
  target?: string;
  signal?: AbortSignal;
}

// ------------------------------------------------------------------ targets, mappings, adapters

/** The named target (enabled or not), or every enabled one; an unknown name is a config problem. */
export function enabledOrNamedTargets(
  config: LeadbridgeConfig,
  name: string | undefined,
): TargetConfig[] {
  const configured = config.targets.map((target) => target.name);
  if (name !== undefined) {
    const target = config.targets.find((candidate) => candidate.name === name);
    if (!target)
      throw new LeadbridgeError(
        'CONFIG_INVALID',
        `there is no target "${name}" in the config (targets: ${configured.join(', ') || 'none'})`,
      );
    return [target];
  }
  const enabled = config.targets.filter((target) => target.enabled);
  if (enabled.length === 0)
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      'the config has no enabled targets (add one under targets:, or name one with --target)',
    );
  return enabled;
}

/**
 * A file under the working directory as a relative path (what an admin typed), anything else as is.
 */
export function shown(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : file;
}

/**
 * Loads and parses the target's mapping; every problem (with file:line) in a MAPPING_INVALID error.
 */
export async function mappingOf(target: TargetConfig, cwd: string): Promise<CompiledMapping> {
  const file = target.mapping;
  let mapping: CompiledMapping;
  try {
    mapping = await loadMapping(file);
  } catch (error) {
    if (error instanceof ValidationError)
      throw new ValidationError(
        'MAPPING_INVALID',
        `mapping ${shown(file, cwd)} is invalid`,
        withShownFiles(error.issues, cwd),
      );
    throw error;
  }
  const wrongKind = targetKindIssue(mapping, target);
  if (wrongKind)
    throw new ValidationError('MAPPING_INVALID', `mapping ${shown(file, cwd)} is for another CRM`, [
      { file: shown(file, cwd), ...wrongKind },
    ]);
  return mapping;
}

export function withShownFiles(issues: Issue[], cwd: string): Issue[] {
  return issues.map((issue) => (issue.file ? { ...issue, file: shown(issue.file, cwd) } : issue));
}

export async function withAdapter<T>(
  target: TargetConfig,
  logger: Logger,
  use: (adapter: CrmAdapter) => Promise<T>,
): Promise<T> {
  const adapter = await createCrmAdapter(target, {
    logger: logger.child({ target: target.name }),
    retryPolicy: COMMAND_RETRY_POLICY,
  });
  try {
    return await use(adapter);
  } finally {
    await adapter.close?.();
  }
}

/** A CRM call that failed as a whole, said with the target and the URL it tried. */
export function unreachable(target: TargetConfig, what: string, error: unknown): LeadbridgeError {
  const cause =
    error instanceof LeadbridgeError
      ? error
      : new LeadbridgeError('INTERNAL', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  return new LeadbridgeError(
    cause.code,
    `target "${target.name}": cannot ${what} from ${endpointOf(target)}: ${cause.message}`,
    {
      status: cause.status,
      api: cause.api,
      cause,
    },
  );
}
