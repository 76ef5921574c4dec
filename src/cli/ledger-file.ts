// Operator commands read an existing ledger and never create one: only `sync` and `run` do.
import { stat } from 'node:fs/promises';
import { LeadbridgeError } from '../core/errors.js';
import type { LedgerConfig } from '../ledger/index.js';

/**
 * A SQLite ledger path is relative to the working directory, so an operator command run from another folder
 * would otherwise create an empty ledger there and report "nothing synced yet". Refuse, and say where we looked.
 */
export async function assertLedgerExists(ledger: LedgerConfig, cwd: string): Promise<void> {
  if (ledger.client !== 'sqlite' || ledger.filename === ':memory:') return;
  const info = await stat(ledger.filename).catch(() => null);
  if (info !== null) return;
  throw new LeadbridgeError(
    'LEDGER_ERROR',
    `no ledger at ${ledger.filename} (ledger.filename, relative paths resolve against the working directory ${cwd}); ` +
      'nothing was created. Run leadbridge from the folder where "sync --once" / "run" ran, pass the config that names the ledger ' +
      '(--config or LEADBRIDGE_CONFIG; an absolute ledger.filename avoids this), or run "leadbridge sync --once" first to create it',
  );
}
