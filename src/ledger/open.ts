// Opens the ledger (SQLite file or PostgreSQL schema), applies the in-code migrations and hands
// back the knex handle.
import { mkdir, open as openFile, stat } from 'node:fs/promises';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { sleep } from '../core/retry.js';
import type { LedgerClient } from './dialect.js';
import { TABLE, migrationSource, setTenantDefault } from './migrations.js';

export type LedgerConfig =
  | {
      client: 'sqlite';
      filename: string;
      /** How long a statement waits for another connection's write lock (default 5000 ms). */
      busyTimeoutMs?: number;
    }
  | {
      client: 'pg';
      connection: string;
      /**
       * Created when missing and used as the search path, so several ledgers can share one
       * database.
       */
      schema?: string;
      poolMax?: number;
      /** A cluster tenant's ledger: its rows are stamped with this tenant (needs `schema`). */
      tenant?: string;
    };

export interface Ledger {
  readonly db: Knex;
  readonly client: LedgerClient;
  close(): Promise<void>;
  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
}

const SQLITE_HEADER = 'SQLite format 3\u0000';
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/**
 * Stamped in the SQLite header (PRAGMA user_version) so a ledger file can be told apart from other
 * SQLite files.
 */
const LEDGER_USER_VERSION = 1;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface OpenLedgerOptions {
  /** Receives knex's own warnings (pool errors are also thrown, so the default drops them). */
  logger?: Logger;
}

export async function openLedger(
  config: LedgerConfig,
  options: OpenLedgerOptions = {},
): Promise<Ledger> {
  const log = knexLog(options.logger ?? silentLogger);
  const db =
    config.client === 'sqlite' ? await openSqlite(config, log) : await openPostgres(config, log);
  return {
    db,
    client: config.client,
    close: () => db.destroy(),
    transaction: <T>(fn: (trx: Knex.Transaction) => Promise<T>) => db.transaction(fn),
  };
}

/**
 * knex prints driver errors with their stack (e.g. pg-protocol's "database does not exist"); the
 * thrown error
 * carries the same cause to the operator, so warn and error keep the first line and the full text
 * goes to debug.
 */
function knexLog(logger: Logger): Knex.Config['log'] {
  const firstLine = (message: unknown) =>
    String(message instanceof Error ? message.message : message).split('\n')[0];
  const report = (level: 'warn' | 'error') => (message: unknown) => {
    logger[level](`ledger: ${firstLine(message)}`);
    const full = message instanceof Error ? (message.stack ?? message.message) : String(message);
    if (full !== firstLine(message)) logger.debug(`ledger: ${full}`);
  };
  return {
    warn: report('warn'),
    error: report('error'),
    deprecate: (method: string, alternative: string) =>
      logger.warn(`ledger: knex ${method} is deprecated, use ${alternative}`),
    debug: (message: unknown) => logger.debug(`ledger: ${String(message)}`),
  };
}

async function openSqlite(
  config: Extract<LedgerConfig, { client: 'sqlite' }>,
  log: Knex.Config['log'],
): Promise<Knex> {
  const inMemory = config.filename === ':memory:';
  const filename = inMemory ? config.filename : path.resolve(config.filename);
  if (!inMemory) {
    await ensureDirectory(filename);
    await assertSqliteFile(filename);
  }
  const busyTimeoutMs = config.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = knex({
    client: 'sqlite3',
    connection: { filename },
    log,
    useNullAsDefault: true,
    // One connection: SQLite has one writer anyway, and an in-memory database lives as long as its
    // connection.
    pool: {
      min: 1,
      max: 1,
      idleTimeoutMillis: Number.MAX_SAFE_INTEGER,
      afterCreate: sqlitePragmas(busyTimeoutMs),
    },
  });
  try {
    await db.raw('select count(*) as tables from sqlite_master');
    await migrateWithLockRetry(db);
    return db;
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw sqliteOpenError(filename, error);
  }
}

/**
 * Per-connection settings: wait on a busy file, write-ahead log (readers never block the writer),
 * enforce foreign keys.
 */
function sqlitePragmas(busyTimeoutMs: number) {
  return (
    connection: { exec(sql: string, done: (error: Error | null) => void): void },
    done: (error: Error | null, connection: unknown) => void,
  ) => {
    const pragmas =
      `PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}; PRAGMA ` +
      `journal_mode = WAL; PRAGMA foreign_keys = ON;`;
    connection.exec(pragmas, (error) => done(error, connection));
  };
}

async function ensureDirectory(filename: string): Promise<void> {
  try {
    await mkdir(path.dirname(filename), { recursive: true });
  } catch (error) {
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `cannot create the directory of ledger file ${filename}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Refuses, before SQLite touches it, a file that is not a SQLite database, so that it is never
 * overwritten.
 */
async function assertSqliteFile(filename: string): Promise<void> {
  const info = await stat(filename).catch(() => null);
  if (info === null) return; // SQLite creates it
  if (!info.isFile())
    throw new LeadbridgeError('LEDGER_ERROR', `ledger file ${filename} is not a regular file`);
  if (info.size === 0) return; // an empty file is an empty database to SQLite
  const file = await openFile(filename, 'r');
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const { bytesRead } = await file.read(header, 0, header.length, 0);
    if (bytesRead < header.length || header.toString('latin1') !== SQLITE_HEADER) {
      throw new LeadbridgeError(
        'LEDGER_ERROR',
        `ledger file ${filename} is not a SQLite database (its header is not "SQLite format ` +
          `3"); it was left untouched — move it away or point ledger.filename elsewhere`,
      );
    }
  } finally {
    await file.close();
  }
}

function sqliteOpenError(filename: string, error: unknown): LeadbridgeError {
  if (error instanceof LeadbridgeError) return error;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (
    code === 'SQLITE_BUSY' ||
    code === 'SQLITE_LOCKED' ||
    /MigrationLocked|already locked/.test(message)
  ) {
    return new LeadbridgeError(
      'LEDGER_ERROR',
      `ledger file ${filename} is locked by another process (${code || 'migration lock'}); ` +
        `stop it or wait, then retry`,
      {
        cause: error,
        retryable: true,
        providerCode: code || undefined,
      },
    );
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new LeadbridgeError(
      'LEDGER_ERROR',
      `ledger file ${filename} is not a SQLite database or is corrupt (${code}); it was left ` +
        `untouched`,
      {
        cause: error,
        providerCode: code,
      },
    );
  }
  return new LeadbridgeError('LEDGER_ERROR', `cannot open ledger file ${filename}: ${message}`, {
    cause: error,
    providerCode: code || undefined,
  });
}

/**
 * Processes opening the same new file together serialise on SQLite's write lock: the transaction
 * writes first
 * (waiting up to busy_timeout), so it reads the migration list only once no one else is migrating.
 * A lock row left by a process that died mid-migration is waited on briefly, then reported.
 */
async function migrateWithLockRetry(db: Knex): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await db.transaction(async (trx) => {
        await trx.raw(`PRAGMA user_version = ${LEDGER_USER_VERSION}`);
        await trx.migrate.latest({ migrationSource, tableName: TABLE.migrations });
      });
      return;
    } catch (error) {
      if ((error as Error).name !== 'MigrationLocked' || attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

async function openPostgres(
  config: Extract<LedgerConfig, { client: 'pg' }>,
  log: Knex.Config['log'],
): Promise<Knex> {
  const { schema } = config;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `ledger schema "${schema}" is not a plain PostgreSQL identifier (letters, digits, _)`,
    );
  }
  const db = knex({
    client: 'pg',
    connection: config.connection,
    log,
    ...(schema ? { searchPath: [schema] } : {}),
    pool: { min: 0, max: config.poolMax ?? 10 },
  });
  try {
    await migratePostgres(db, schema, config.tenant);
    return db;
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const message = error instanceof Error ? error.message : String(error);
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `cannot open the PostgreSQL ledger at ${describeConnection(config.connection)}` +
        `${schema ? ` (schema ${schema})` : ''}: ${message}`,
      {
        cause: error,
        retryable: true,
      },
    );
  }
}

/**
 * Workers starting together serialise on an advisory lock, so the schema and migrations are created
 * exactly once.
 */
async function migratePostgres(
  db: Knex,
  schema: string | undefined,
  tenant: string | undefined,
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [
      `leadbridge-ledger:${schema ?? 'public'}`,
    ]);
    if (schema) await trx.raw('create schema if not exists ??', [schema]);
    await trx.migrate.latest({
      migrationSource,
      tableName: TABLE.migrations,
      ...(schema ? { schemaName: schema } : {}),
    });
    if (schema && tenant) await setTenantDefault(trx, schema, tenant);
  });
}

/** The connection string without its password, for error messages. */
function describeConnection(connection: string): string {
  try {
    const url = new URL(connection);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'the configured PostgreSQL connection';
  }
}
