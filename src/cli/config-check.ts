// `leadbridge config check`: validate the config and each enabled target's mapping file, and show
// the effective settings with secrets redacted.
import path from 'node:path';
import { describeConfig, type LeadbridgeConfig, type TargetConfig } from '../config/index.js';
import { ValidationError, type Issue } from '../core/errors.js';
import { targetKindIssue } from '../mapping/target-kind.js';
import type { CliContext, GlobalOptions } from './context.js';
import { loadCliConfig } from './setup.js';

/**
 * Throws the loader's ValidationError (every problem listed) when the config is invalid, and
 * MAPPING_INVALID (exit 2)
 * when a mapping file cannot be read or parsed. Checks against the CRM's metadata are `mappings
 * check`'s.
 */
export async function runConfigCheck(context: CliContext, options: GlobalOptions): Promise<void> {
  const config = await loadCliConfig(context, options);
  const issues = await checkMappingFiles(config, context.cwd);
  context.stdout.write(`# ${options.config} (defaults applied, secrets redacted)\n`);
  context.stdout.write(describeConfig(config));
  if (issues.length > 0) {
    throw new ValidationError(
      'MAPPING_INVALID',
      `config ${options.config}: the mapping files have ${issues.length} ` +
        `${issues.length === 1 ? 'problem' : 'problems'}`,
      issues,
    );
  }
  const enabled = config.targets.filter((target) => target.enabled).map((target) => target.name);
  if (enabled.length > 0)
    context.stdout.write(
      `# mappings of ${enabled.join(', ')} parsed; "leadbridge mappings check" compares them ` +
        `with the CRM\n`,
    );
  context.stdout.write('config OK\n');
}

/**
 * What can be checked without the CRM: each enabled target's mapping file can be read, parses
 * (fields, sources,
 * transforms, status map) and is for the target's CRM kind. Every problem, with file, line and
 * path.
 * (Kept clear of the CRM clients, so that config check stays quick to load.)
 */
async function checkMappingFiles(config: LeadbridgeConfig, cwd: string): Promise<Issue[]> {
  // Loaded here, not at the top: src/cli.ts imports this module for every command (--help
  // included).
  const { loadMapping } = await import('../mapping/index.js');
  const checks = config.targets.map(async (target, index): Promise<Issue[]> => {
    if (!target.enabled) return [];
    const file = target.mapping;
    try {
      const wrongKind = targetKindIssue(await loadMapping(file), target);
      return wrongKind ? [{ file: shown(file, cwd), ...wrongKind }] : [];
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return error.issues.map((issue) =>
        isUnreadable(issue)
          ? unreadable(target, index, shown(file, cwd), issue)
          : { ...issue, ...(issue.file ? { file: shown(issue.file, cwd) } : {}) },
      );
    }
  });
  return (await Promise.all(checks)).flat();
}

/** loadMapping's issue for a file it could not read (no line, no path). */
function isUnreadable(issue: Issue): boolean {
  return (
    issue.path === '' &&
    issue.line === undefined &&
    issue.message.startsWith('cannot read the file')
  );
}

/** Said where the admin fixes it: the target's `mapping` setting in the config. */
function unreadable(target: TargetConfig, index: number, file: string, issue: Issue): Issue {
  const reason = issue.message
    .replace(/^cannot read the file/, 'cannot be read')
    .replace('(ENOENT)', '(no such file)');
  return {
    path: `targets[${index}].mapping`,
    message: `target "${target.name}": the mapping file ${file} ${reason}`,
  };
}

/**
 * A file under the working directory as a relative path (what an admin typed), anything else as is.
 */
function shown(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
    ? relative
    : file;
}
