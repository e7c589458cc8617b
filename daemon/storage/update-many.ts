import type { Knex } from 'knex';

export interface RowUpdate {
  id: string;
  /** One value per column, in the order the columns are named. */
  values: Knex.Value[];
}

// Bindings per statement stay far below SQLite's and MySQL's limits.
const CHUNK = 100;

/**
 * Sets columns of many rows of `table`, each row to its own values, with one
 * `UPDATE … SET c = CASE id WHEN … THEN … END` per hundred rows: through the
 * query builder a statement costs far more than the database's work for one
 * row, so a statement per row is what made batched writes slow.
 */
export async function updateMany(knex: Knex, table: string, columns: string[], rows: RowUpdate[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    const bindings: Knex.RawBinding[] = [table];
    const sets = columns.map((column, c) => {
      bindings.push(column, 'id');
      for (const r of part) bindings.push(r.id, r.values[c] ?? null);
      return `?? = CASE ?? ${part.map(() => 'WHEN ? THEN ?').join(' ')} END`;
    });
    bindings.push('id', ...part.map((r) => r.id));
    await knex.raw(`UPDATE ?? SET ${sets.join(', ')} WHERE ?? IN (${part.map(() => '?').join(', ')})`, bindings);
  }
}
