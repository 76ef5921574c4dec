// A tenant's YAML file: a leadbridge config without ledger, log or cluster, whose secrets are
// references only.
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Pair } from 'yaml';
import {
  parseConfig,
  type EnvMap,
  type LeadbridgeConfig,
  type TargetKind,
} from '../config/index.js';
import { isSecretKey } from '../config/describe.js';
import { ValidationError, type Issue } from '../core/errors.js';

/**
 * A tenant id: its ledger schema and queue key are built from it, so it stays a short plain
 * identifier.
 */
const TENANT_ID = /^[a-z][a-z0-9_]{0,39}$/;
/** The sections a worker's own config owns: one ledger, one log, one cluster for every tenant. */
const WORKER_SECTIONS = ['ledger', 'log', 'cluster'] as const;
/**
 * A whole value that is one environment reference (no default: a default would be a plain secret).
 */
const ENV_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

export interface TenantFile {
  id: string;
  config: LeadbridgeConfig;
}

export function tenantIdProblem(id: string): string | null {
  return TENANT_ID.test(id)
    ? null
    : `tenant id "${id}" must be 1-40 lower-case letters, digits or "_", starting with a letter`;
}

/**
 * Validates a tenant file as `config check` validates a config, listing every problem at once: the
 * config
 * schema's, the sections a tenant may not have, secrets written in plain text, a shared token
 * cache.
 */
export function parseTenantFile(
  text: string,
  options: {
    id: string;
    file: string;
    env: EnvMap;
    cwd: string;
    /** The CRM kinds a target may have (src/crm/modules.ts). */
    kinds: readonly TargetKind[];
  },
): TenantFile {
  const issues: Issue[] = [];
  const idProblem = tenantIdProblem(options.id);
  if (idProblem) issues.push({ path: 'id', message: idProblem, file: options.file });
  issues.push(...rawIssues(text, options.file));
  let config: LeadbridgeConfig | null = null;
  try {
    config = parseConfig(text, options);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    issues.push(...error.issues);
  }
  if (config?.source.partnerCenter.auth.kind === 'user' && !hasTokenCacheFile(text))
    issues.push({
      path: 'source.partnerCenter.auth.tokenCache.file',
      message: 'required in a tenant file: each tenant signs in on its own, into its own cache',
      file: options.file,
    });
  if (issues.length > 0 || config === null) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const byLine = (issue: Issue) => issue.line ?? 0;
    throw new ValidationError(
      'CONFIG_INVALID',
      `invalid tenant file ${options.file} (${count})`,
      [...issues].sort((a, b) => byLine(a) - byLine(b)),
    );
  }
  return { id: options.id, config };
}

/**
 * Problems seen in the YAML itself, before interpolation: worker sections, and secrets not
 * referenced.
 */
function rawIssues(text: string, file: string): Issue[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0 || !isMap(document.contents)) return [];
  const lineOf = (pair: Pair) => {
    const start = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
    return start === undefined ? {} : { line: lineCounter.linePos(start).line };
  };
  const issues: Issue[] = [];
  for (const pair of document.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if ((WORKER_SECTIONS as readonly string[]).includes(key))
      issues.push({
        path: key,
        message: `a tenant file has no ${key} section: the worker's own config gives it`,
        file,
        ...lineOf(pair),
      });
  }
  const walk = (node: unknown, at: string): void => {
    if (!isMap(node)) {
      const items = (node as { items?: unknown[] } | null)?.items;
      if (Array.isArray(items)) items.forEach((item, i) => walk(item, `${at}[${i}]`));
      return;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const path = at ? `${at}.${key}` : key;
      if (isSecretKey(key) && isScalar(pair.value) && !ENV_REFERENCE.test(String(pair.value.value)))
        issues.push({
          path,
          message:
            'a tenant\'s secret is stored as a reference, never as text: write "${VARIABLE}" ' +
            "(set on every worker), or use the field's file form (e.g. privateKeyFile)",
          file,
          ...lineOf(pair),
        });
      else walk(pair.value, path);
    }
  };
  walk(document.contents, '');
  return issues;
}

function hasTokenCacheFile(text: string): boolean {
  const value = parseDocument(text).getIn([
    'source',
    'partnerCenter',
    'auth',
    'tokenCache',
    'file',
  ]);
  return typeof value === 'string' && value.trim() !== '';
}
