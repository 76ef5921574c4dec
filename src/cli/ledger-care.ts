// `leadbridge ledger backup <file>` and `leadbridge ledger prune [--dry-run]`: copies and retention
// of the ledger.
import path from 'node:path';
import type { LeadbridgeConfig } from '../config/index.js';
import { LeadbridgeError } from '../core/errors.js';
import {
  DEFAULT_RETENTION_DAYS,
  backupSqliteLedger,
  pruneLedger,
  type PruneResult,
} from '../ledger/index.js';
import { ledgerConfigFor } from './ledger-config.js';
import { withLedger } from './compose.js';

/**
 * SQLite: a consistent copy while the worker runs (VACUUM INTO), checked and counted. PostgreSQL:
 * leadbridge does
 * not copy a server's database itself; it says how to with pg_dump and exits 1, since no file was
 * written.
 */
export async function runLedgerBackup(
  config: LeadbridgeConfig,
  cwd: string,
  file: string,
): Promise<string> {
  const target = path.resolve(cwd, file);
  const ledger = ledgerConfigFor(config);
  if (ledger.client === 'pg') {
    const schema = ledger.schema ? ` --schema=${ledger.schema}` : '';
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      "the ledger is in PostgreSQL: nothing was written. Back it up with the server's own tool, " +
        `e.g. pg_dump --format=custom${schema} --file=${JSON.stringify(target)} "$DATABASE_URL" ` +
        '(a consistent snapshot while the worker runs; restore with pg_restore)',
    );
  }
  if (ledger.filename === ':memory:')
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      'the ledger is in memory (":memory:"): no file to copy',
    );
  const result = await withLedger(config, cwd, (opened) => backupSqliteLedger(opened.db, target));
  if (result.integrity !== 'ok')
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `the backup ${result.file} fails PRAGMA integrity_check: ${result.integrity}`,
    );
  const rows = Object.entries(result.rows)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
  return (
    `backup written: ${result.file} ` +
    `(${result.bytes} bytes, integrity_check ok; rows: ${rows})\n`
  );
}

export async function runLedgerPrune(
  config: LeadbridgeConfig,
  cwd: string,
  options: { dryRun: boolean; now: Date },
): Promise<string> {
  const days = config.ledger.retention?.days ?? DEFAULT_RETENTION_DAYS;
  const result = await withLedger(config, cwd, (ledger) =>
    pruneLedger(ledger.db, { days, now: options.now, dryRun: options.dryRun }),
  );
  return formatPrune(result, days);
}

function formatPrune(result: PruneResult, days: number): string {
  const verb = result.dryRun ? 'would remove' : 'removed';
  return (
    `retention ${days} days (before ${result.cutoff}): ${verb} ${result.audit} audit entries, ` +
    `${result.outbox} settled outbox rows, ${result.runs} finished runs` +
    `${result.dryRun ? ' (dry run: nothing removed)' : ''}\n`
  );
}
