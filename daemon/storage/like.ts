import type { Knex } from 'knex';

/** A case-insensitive "contains" filter in which % and _ typed by a user match only themselves. */
export function whereContains(q: Knex.QueryBuilder, column: string, needle: string): Knex.QueryBuilder {
  const escaped = needle.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`);
  return q.whereRaw(`lower(??) like ? escape '!'`, [column, `%${escaped}%`]);
}
