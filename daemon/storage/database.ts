import fs from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import { migrationSource } from '../../sql';
import { SqliteWriter } from './sqlite-writer';

export type Dialect = 'sqlite' | 'mysql';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  /** Batches written beside the event loop, on a SQLite file's own writer thread; null where writes do not hold the loop (MariaDB) or cannot be shared (`:memory:`). */
  offLoop: SqliteWriter | null;
  close(): Promise<void>;
}

export function dialectOf(url: string): Dialect {
  return url.startsWith('sqlite:') ? 'sqlite' : 'mysql';
}

/** `sqlite:///abs/file`, `sqlite://rel/file` and `sqlite::memory:` name a SQLite file. */
function sqliteFile(url: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/, '');
  if (rest === ':memory:') return rest;
  return path.resolve(decodeURIComponent(rest));
}

/** The mysql2 connection settings a `mysql://` or `mariadb://` URL names. */
export function mysqlConnection(url: string): { host: string; port: number; user: string; password: string; database: string; charset: string } {
  const u = new URL(url.replace(/^mariadb:/, 'mysql:'));
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    charset: 'utf8mb4',
  };
}

export function openDatabase(url: string): Database {
  const dialect = dialectOf(url);
  let instance: Knex;
  let offLoop: SqliteWriter | null = null;
  if (dialect === 'sqlite') {
    const filename = sqliteFile(url);
    if (filename !== ':memory:') offLoop = new SqliteWriter(filename);
    if (filename !== ':memory:') fs.mkdirSync(path.dirname(filename), { recursive: true });
    instance = knex({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        // WAL lets HTTP readers proceed while a write is in flight; foreign keys are off by default in SQLite.
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    });
  } else {
    instance = knex({
      client: 'mysql2',
      // Timestamps are stored as ISO strings; keep the driver from reinterpreting anything.
      connection: { ...mysqlConnection(url), dateStrings: true, supportBigNumbers: true },
      pool: { min: 0, max: 10 },
    });
  }
  return {
    knex: instance, dialect, offLoop,
    async close() {
      await offLoop?.close();
      await instance.destroy();
    },
  };
}

export async function migrate(db: Database): Promise<string[]> {
  const [, applied] = (await db.knex.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
