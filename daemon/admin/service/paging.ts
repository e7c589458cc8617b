import type { Knex } from 'knex';

export interface PageQuery {
  limit?: number;
  offset?: number;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export const MAX_PAGE = 500;

/** Counts and fetches one page of an already-filtered query, in a stable order. */
export async function paginate<T>(q: Knex.QueryBuilder, page: PageQuery, orderColumn: string, map: (row: any) => T): Promise<Page<T>> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), MAX_PAGE);
  const offset = Math.max(page.offset ?? 0, 0);
  const countRow = (await q.clone().clearSelect().clearOrder().count({ n: '*' }).first()) as { n: number | string } | undefined;
  const rows = await q.clone().orderBy(orderColumn).orderBy('id').limit(limit).offset(offset);
  return { items: rows.map(map), total: Number(countRow?.n ?? 0), limit, offset };
}
