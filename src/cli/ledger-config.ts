// The ledger settings of a validated config (config/load.ts made the SQLite path absolute).
import type { LeadbridgeConfig } from '../config/index.js';
import type { LedgerConfig } from '../ledger/index.js';

export function ledgerConfigFor(config: LeadbridgeConfig): LedgerConfig {
  const ledger = config.ledger;
  if (ledger.client === 'pg')
    return {
      client: 'pg',
      connection: ledger.connection,
      ...(ledger.schema ? { schema: ledger.schema } : {}),
    };
  return {
    client: 'sqlite',
    filename: ledger.filename,
  };
}

/** Where the ledger lives, for people (no connection string: it may hold a password). */
export function describeLedger(config: LedgerConfig): string {
  return config.client === 'sqlite'
    ? `sqlite ${config.filename}`
    : `postgresql${config.schema ? ` (schema ${config.schema})` : ''}`;
}
