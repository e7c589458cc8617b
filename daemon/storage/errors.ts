import { ConflictError } from '../core/errors';

/**
 * SQLite and MariaDB report a duplicate key differently; this is the one
 * place that knows both, so callers only ever see ConflictError.
 * `fieldsByIndex` maps a unique index name to the API field it protects.
 */
export function translateUnique(err: unknown, fieldsByIndex: Record<string, { field: string; reason: string }>): never {
  const e = err as { code?: string; errno?: number; message?: string; sqlMessage?: string };
  const isSqlite = e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  const isMysql = e.code === 'ER_DUP_ENTRY' || e.errno === 1062;
  if (!isSqlite && !isMysql) throw err;
  const text = `${e.sqlMessage ?? ''} ${e.message ?? ''}`;
  for (const [index, problem] of Object.entries(fieldsByIndex)) {
    if (matchesIndex(text, index)) throw new ConflictError(problem.field, problem.reason);
  }
  throw new ConflictError('id', 'already exists');
}

/**
 * MariaDB names the index (`for key 'users.users_username_key_unique'`),
 * SQLite the columns (`UNIQUE constraint failed: users.username_key`), so an
 * index is declared by `table.col1+col2` and matched either way.
 */
function matchesIndex(text: string, index: string): boolean {
  const [table, cols] = index.split('.') as [string, string];
  const columns = cols.split('+');
  const mysqlName = `${table}_${columns.join('_')}_unique`;
  if (text.includes(mysqlName)) return true;
  const sqliteList = columns.map((c) => `${table}.${c}`).join(', ');
  return text.includes(`UNIQUE constraint failed: ${sqliteList}`);
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number };
  return e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'ER_DUP_ENTRY' || e.errno === 1062;
}
