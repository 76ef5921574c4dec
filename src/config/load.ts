// Loads the config: YAML with lines, ${ENV} interpolation, zod, every problem at once.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { LeadbridgeError, ValidationError } from '../core/errors.js';
import type { Issue } from '../core/errors.js';
import { interpolateEnv } from './interpolate.js';
import type { ConfigPath, EnvMap } from './interpolate.js';
import { configErrorMessage, formatPath, sortIssues, toIssues } from './issues.js';
import type { LineLocator } from './issues.js';
import { configSchemaFor, TOKEN_CACHE_FILENAME } from './schema.js';
import type { LeadbridgeConfig } from './schema.js';
import type { TargetKind } from './targets.js';

/** Used when neither --config nor LEADBRIDGE_CONFIG names a file. */
export const DEFAULT_CONFIG_FILE = 'config/leadbridge.yaml';

export interface ParseConfigOptions {
  /** Values for ${VAR} placeholders (the CLI passes process.env). */
  env: EnvMap;
  /** The file name shown in issues (`config/leadbridge.yaml:12`). */
  file?: string;
  /**
   * Relative paths in the config (ledger filename, mapping files, key files) resolve against this.
   */
  cwd: string;
  /** The CRM kinds a target may have, each validating its own settings (src/crm/modules.ts). */
  kinds: readonly TargetKind[];
}

/**
 * Parses and validates config text; throws ValidationError('CONFIG_INVALID') listing every problem.
 */
export function parseConfig(text: string, options: ParseConfigOptions): LeadbridgeConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = lineLocator(document, lineCounter);
  const withFile = (issue: Issue): Issue =>
    options.file ? { ...issue, file: options.file } : issue;

  const syntaxIssues = document.errors.map((error) =>
    withFile({
      path: '',
      message: `YAML: ${error.message}`,
      line: lineCounter.linePos(error.pos[0]).line,
    }),
  );
  if (syntaxIssues.length > 0) throw invalid(options.file, syntaxIssues);

  // An empty file is an empty mapping, so the schema can say which sections are required.
  const { value, missing } = interpolateEnv(document.toJS() ?? {}, options.env);
  const interpolationIssues = missing.map(({ path: at, variable }) =>
    withFile({
      path: formatPath(at),
      message:
        `environment variable ${variable} is not set (use \${${variable}:-default} to ` +
        `give a default)`,
      ...lineField(locate(at)),
    }),
  );

  const result = configSchemaFor(options.kinds).safeParse(value, { error: configErrorMessage });
  // A value emptied by a missing variable also fails its schema; the missing variable is the real
  // cause.
  const interpolated = new Set(interpolationIssues.map((issue) => issue.path));
  const schemaIssues = result.success
    ? []
    : toIssues(result.error.issues, locate, options.file).filter(
        (issue) => !interpolated.has(issue.path),
      );
  const issues = sortIssues([...interpolationIssues, ...schemaIssues]);
  if (issues.length > 0 || !result.success) throw invalid(options.file, issues);
  return resolvePaths(result.data, options.cwd, options.kinds);
}

/**
 * Reads `file` (relative to cwd) and parses it; a missing or unreadable file is a CONFIG_INVALID
 * error.
 */
export async function loadConfig(options: Required<ParseConfigOptions>): Promise<LeadbridgeConfig> {
  const absolute = path.resolve(options.cwd, options.file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file'
        : (error as Error).message;
    throw new LeadbridgeError(
      'CONFIG_INVALID',
      `cannot read config file ${options.file}: ${reason}`,
      { cause: error },
    );
  }
  return parseConfig(text, options);
}

function invalid(file: string | undefined, issues: Issue[]): ValidationError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new ValidationError(
    'CONFIG_INVALID',
    `invalid config${file ? ` ${file}` : ''} (${count})`,
    issues,
  );
}

function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

/** Walks the YAML nodes along a path; the line of the deepest key or item found. */
function lineLocator(document: Document, lineCounter: LineCounter): LineLocator {
  return (at: ConfigPath) => {
    let node: unknown = document.contents;
    let offset = rangeStart(node);
    for (const segment of at) {
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (!pair) break;
        offset = rangeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        break;
      }
    }
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

/**
 * Makes relative file paths absolute against cwd, once, so every later consumer agrees on them: the
 * ledger file,
 * mapping files, the token cache and CA files, and whatever a CRM kind's settings name (its
 * resolveSettingsPaths).
 */
function resolvePaths(
  config: LeadbridgeConfig,
  cwd: string,
  kinds: readonly TargetKind[],
): LeadbridgeConfig {
  const resolve = (file: string) => path.resolve(cwd, file);
  const ledger =
    config.ledger.client === 'sqlite' && config.ledger.filename !== ':memory:'
      ? { ...config.ledger, filename: resolve(config.ledger.filename) }
      : config.ledger;
  const targets = config.targets.map((target) => {
    const kind = kinds.find((candidate) => candidate.kind === target.kind);
    const settings = kind?.resolveSettingsPaths?.(target.settings, resolve) ?? target.settings;
    return { ...target, mapping: resolve(target.mapping), settings };
  });
  const issuers = config.webhooks.trustedIssuersFile;
  return {
    ...config,
    ledger,
    targets,
    source: { partnerCenter: withTokenCacheFile(config, resolve) },
    webhooks: { ...config.webhooks, ...(issuers ? { trustedIssuersFile: resolve(issuers) } : {}) },
  };
}

/** The token cache file, absolute: as configured, or beside the SQLite ledger, or under ./data/. */
function withTokenCacheFile(
  config: LeadbridgeConfig,
  resolve: (file: string) => string,
): LeadbridgeConfig['source']['partnerCenter'] {
  const pc = config.source.partnerCenter;
  if (pc.auth.kind !== 'user') return pc;
  const ledger = config.ledger;
  const beside =
    ledger.client === 'sqlite' && ledger.filename !== ':memory:'
      ? path.dirname(resolve(ledger.filename))
      : resolve('./data');
  const file = pc.auth.tokenCache.file
    ? resolve(pc.auth.tokenCache.file)
    : path.join(beside, TOKEN_CACHE_FILENAME);
  return {
    ...pc,
    auth: {
      ...pc.auth,
      tokenCache: { ...pc.auth.tokenCache, file },
      ...(pc.auth.authorityCaFile ? { authorityCaFile: resolve(pc.auth.authorityCaFile) } : {}),
    },
  };
}
