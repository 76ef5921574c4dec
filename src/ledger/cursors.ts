// Paging cursors per source or target ("partner-center", "crm:dynamics"): where the next poll
// resumes.
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
    const row = (await db<CursorRow>(TABLE.cursors).where({ name }).first('value')) as
      Pick<CursorRow, 'value'> | undefined;
    return row?.value ?? null;
  });
}

export async function setCursor(db: Knex, name: string, value: string): Promise<void> {
  await ledgerOperation(`setCursor("${name}")`, async () => {
    const row: CursorRow = { name, value, updated_at: nowIso() };
    await db<CursorRow>(TABLE.cursors)
      .insert(row)
      .onConflict('name')
      .merge(['value', 'updated_at']);
  });
}

/** Forgets a cursor: the next run starts that stream from the beginning. */
export async function clearCursor(db: Knex, name: string): Promise<void> {
  await ledgerOperation(`clearCursor("${name}")`, async () => {
    await db(TABLE.cursors).where({ name }).delete();
  });
}

/**
 * A target's API budget as the worker last saw it, kept beside the cursors so that `status`
 * (another process) can show it.
 */
export interface ApiBudgetNote {
  used: number;
  max: number;
  limitShare: number;
  holdingBack: boolean;
  seenAt: string;
}

const budgetName = (target: string) => `api-budget:${target}`;

export async function setApiBudgetNote(
  db: Knex,
  target: string,
  note: ApiBudgetNote,
): Promise<void> {
  await setCursor(db, budgetName(target), JSON.stringify(note));
}

export async function getApiBudgetNote(db: Knex, target: string): Promise<ApiBudgetNote | null> {
  const value = await getCursor(db, budgetName(target));
  if (value === null) return null;
  try {
    return JSON.parse(value) as ApiBudgetNote;
  } catch {
    return null;
  }
}
