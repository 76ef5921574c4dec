// Operator commands read an existing ledger and never create one: only `sync` and `run` do.
import { stat } from 'node:fs/promises';
import knex from 'knex';
import { LeadbridgeError } from '../core/errors.js';
import type { LedgerConfig } from '../ledger/index.js';

/**
 * A SQLite ledger path is relative to the working directory, so an operator command run from
 * another folder
 * would otherwise create an empty ledger there and report "nothing synced yet". Refuse, and say
 * where we looked.
 */
export async function assertLedgerExists(ledger: LedgerConfig, cwd: string): Promise<void> {
  if (ledger.client === 'pg') return assertPgLedgerExists(ledger);
  if (ledger.filename === ':memory:') return;
  const info = await stat(ledger.filename).catch(() => null);
  if (info !== null) return;
  throw new LeadbridgeError(
    'LEDGER_ERROR',
    `no ledger at ${ledger.filename} (ledger.filename, relative paths resolve against the ` +
      `working directory ${cwd}); ` +
      'nothing was created. Run leadbridge from the folder where "sync --once" / "run" ran, ' +
      'pass the config that names the ledger ' +
      '(--config or LEADBRIDGE_CONFIG; an absolute ledger.filename avoids this), or run ' +
      '"leadbridge sync --once" first to create it',
  );
}

/**
 * On PostgreSQL, opening the ledger would create its schema and tables: look for the runs table
 * first. A server that
 * cannot be reached is left to the ledger's own open, which names the cause.
 */
async function assertPgLedgerExists(
  ledger: Extract<LedgerConfig, { client: 'pg' }>,
): Promise<void> {
  const probe = knex({
    client: 'pg',
    connection: ledger.connection,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 10_000,
  });
  let found: boolean;
  try {
    const result = await probe.raw<{ rows: Array<{ found: boolean }> }>(
      'select exists (select 1 from information_schema.tables where table_schema = coalesce(?, ' +
        "current_schema()) and table_name = 'lb_runs') as found",
      [ledger.schema ?? null],
    );
    found = result.rows[0]?.found === true;
  } catch {
    return;
  } finally {
    await probe.destroy();
  }
  if (found) return;
  const where = ledger.schema ? `schema "${ledger.schema}"` : "the connection's default schema";
  throw new LeadbridgeError(
    'LEDGER_ERROR',
    `no ledger in ${where} of the PostgreSQL database (ledger.connection, ledger.schema); ` +
      `nothing was created. ` +
      'Pass the config that names the ledger (--config or LEADBRIDGE_CONFIG), or run ' +
      '"leadbridge sync --once" first to create it',
  );
}
