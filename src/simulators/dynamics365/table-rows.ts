// The rows of one simulated table, with its case-insensitive alternate-key index.
import type { TableSpec } from './schema.js';
import type { Row } from './values.js';

/**
 * The rows of one table and, when it has one, its alternate-key index (case-insensitive, as SQL
 * collation is).
 */
export class TableRows {
  readonly rows = new Map<string, Row>();
  private readonly byKey = new Map<string, string>();

  constructor(readonly spec: TableSpec) {}

  findByKey(value: string): Row | undefined {
    const id = this.byKey.get(value.toLowerCase());
    return id === undefined ? undefined : this.rows.get(id);
  }

  /** Stores (or, with undefined, removes) the row under `id`, keeping the key index in step. */
  set(id: string, row: Row | undefined): void {
    const keyColumn = this.spec.alternateKey;
    const previous = this.rows.get(id);
    if (keyColumn && typeof previous?.[keyColumn] === 'string')
      this.byKey.delete((previous[keyColumn] as string).toLowerCase());
    if (row === undefined) {
      this.rows.delete(id);
      return;
    }
    this.rows.set(id, row);
    if (keyColumn && typeof row[keyColumn] === 'string')
      this.byKey.set((row[keyColumn] as string).toLowerCase(), id);
  }

  clear(): void {
    this.rows.clear();
    this.byKey.clear();
  }
}
