// Ledger care: a consistent SQLite copy while the worker writes, and retention of the audit trail,
// settled outbox rows and runs.
import { rename, rm, stat } from 'node:fs/promises';
import knex, { type Knex } from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import { getCursor, setCursor } from './cursors.js';
import { ledgerOperation } from './dialect.js';
import { TABLE } from './migrations.js';

/** Where the last prune is remembered, so the worker prunes at most once a day across restarts. */
const PRUNED_AT_CURSOR = 'ledger:pruned-at';
const DAY_MS = 24 * 60 * 60 * 1000;
/** Retention when the config names none (ledger.retention.days). */
export const DEFAULT_RETENTION_DAYS = 180;
/** The last runs `status` lists are kept whatever their age. */
const RUNS_ALWAYS_KEPT = 50;

export interface BackupResult {
  file: string;
  bytes: number;
  integrity: string;
  rows: Record<string, number>;
}

/**
 * `VACUUM INTO` copies the database as one read transaction: in WAL mode the worker keeps writing
 * meanwhile and the
 * copy is the ledger as of the moment the copy began (sqlite.org/lang_vacuum.html, "VACUUM INTO").
 * It goes to a
 * temporary name first, so an interrupted backup never leaves a half file under the name asked for.
 */
export async function backupSqliteLedger(db: Knex, file: string): Promise<BackupResult> {
  if (await stat(file).catch(() => null))
    throw new LeadbridgeError('LEDGER_ERROR', `${file} already exists; give a new file name`);
  const partial = `${file}.partial-${process.pid}`;
  try {
    await db.raw('VACUUM INTO ?', [partial]);
    await rename(partial, file);
  } catch (error) {
    await rm(partial, { force: true });
    throw new LeadbridgeError(
      'LEDGER_ERROR',
      `could not write the backup ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const copy = knex({ client: 'sqlite3', connection: { filename: file }, useNullAsDefault: true });
  try {
    const checks = (await copy.raw('PRAGMA integrity_check')) as Array<Record<string, string>>;
    const rows: Record<string, number> = {};
    for (const table of [TABLE.links, TABLE.syncStates, TABLE.outbox, TABLE.audit, TABLE.runs]) {
      const [row] = await copy(table).count({ n: '*' });
      rows[table] = Number(row?.n ?? 0);
    }
    return {
      file,
      bytes: (await stat(file)).size,
      integrity: checks.map((row) => Object.values(row).join(' ')).join('; '),
      rows,
    };
  } finally {
    await copy.destroy();
  }
}

export interface PruneResult {
  cutoff: string;
  audit: number;
  outbox: number;
  runs: number;
  dryRun: boolean;
}

/**
 * Removes what is older than `days` and no longer needed: audit entries except each referral's
 * latest; outbox rows
 * that are settled (sent, superseded) except the latest per referral, target and action (its dedupe
 * key keeps a
 * repeat from being recorded again); finished runs except the last 50. Waiting work (pending,
 * sending, failed,
 * quarantined), links, sync states and cursors are never touched.
 */
export async function pruneLedger(
  db: Knex,
  options: { days: number; now: Date; dryRun: boolean },
): Promise<PruneResult> {
  const cutoff = new Date(options.now.getTime() - options.days * DAY_MS).toISOString();
  return ledgerOperation('pruneLedger', () =>
    db.transaction(async (trx) => {
      const audit = trx(TABLE.audit)
        .where('at', '<', cutoff)
        .whereNotIn('id', trx(TABLE.audit).max('id').groupBy('referral_id'));
      const outbox = trx(TABLE.outbox)
        .whereIn('state', ['sent', 'superseded'])
        .where('updated_at', '<', cutoff)
        .whereNotIn('id', trx(TABLE.outbox).max('id').groupBy('referral_id', 'target', 'action'));
      const runs = trx(TABLE.runs)
        .whereNot('status', 'running')
        .where('started_at', '<', cutoff)
        .whereNotIn(
          'seq',
          trx
            .select('seq')
            .from(
              trx(TABLE.runs)
                .select('seq')
                .orderBy('seq', 'desc')
                .limit(RUNS_ALWAYS_KEPT)
                .as('kept'),
            ),
        );
      const result = { cutoff, dryRun: options.dryRun, audit: 0, outbox: 0, runs: 0 };
      if (options.dryRun) {
        result.audit = await countOf(audit);
        result.outbox = await countOf(outbox);
        result.runs = await countOf(runs);
      } else {
        result.audit = await audit.delete();
        result.outbox = await outbox.delete();
        result.runs = await runs.delete();
      }
      return result;
    }),
  );
}

async function countOf(query: Knex.QueryBuilder): Promise<number> {
  const [row] = (await query.clone().count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/**
 * The worker's daily prune: runs when the last one is a day old (or never ran); null when not due.
 */
export async function pruneIfDue(
  db: Knex,
  options: { days: number; now: Date },
): Promise<PruneResult | null> {
  const last = await getCursor(db, PRUNED_AT_CURSOR);
  if (last !== null && options.now.getTime() - Date.parse(last) < DAY_MS) return null;
  const result = await pruneLedger(db, { ...options, dryRun: false });
  await setCursor(db, PRUNED_AT_CURSOR, options.now.toISOString());
  return result;
}
