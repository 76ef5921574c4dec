// Paging cursors per source or target ("partner-center", "crm:dynamics"): where the next poll resumes.
import type { Knex } from 'knex';
import { ledgerOperation, nowIso } from './dialect.js';
import { TABLE } from './migrations.js';

interface CursorRow {
  name: string;
  value: string;
  updated_at: string;
}

export async function getCursor(db: Knex, name: string): Promise<string | null> {
  return ledgerOperation(`getCursor("${name}")`, async () => {
    const row = (await db<CursorRow>(TABLE.cursors).where({ name }).first('value')) as Pick<CursorRow, 'value'> | undefined;
    return row?.value ?? null;
  });
}

export async function setCursor(db: Knex, name: string, value: string): Promise<void> {
  await ledgerOperation(`setCursor("${name}")`, async () => {
    const row: CursorRow = { name, value, updated_at: nowIso() };
    await db<CursorRow>(TABLE.cursors).insert(row).onConflict('name').merge(['value', 'updated_at']);
  });
}

/** Forgets a cursor: the next run starts that stream from the beginning. */
export async function clearCursor(db: Knex, name: string): Promise<void> {
  await ledgerOperation(`clearCursor("${name}")`, async () => {
    await db(TABLE.cursors).where({ name }).delete();
  });
}
