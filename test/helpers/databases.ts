import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knex from 'knex';
import type { Test } from 'tap';
import { type Database, openDatabase } from '../../daemon/storage/database';

/**
 * The databases every storage test runs on: SQLite always, and MariaDB/MySQL
 * too when DIALTONE_TEST_MYSQL_URL names a server (CI sets it). Each call
 * makes a fresh, empty database and drops it when the test ends.
 */
export interface TestDatabase {
  name: 'sqlite' | 'mysql';
  url: string;
  dispose(): Promise<void>;
}

export const MYSQL_URL = process.env.DIALTONE_TEST_MYSQL_URL ?? '';

export function databaseKinds(): ('sqlite' | 'mysql')[] {
  return MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

export async function freshDatabase(kind: 'sqlite' | 'mysql'): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-test-'));
    return { name: 'sqlite', url: `sqlite://${path.join(dir, 'test.sqlite')}`, dispose: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  }
  const base = new URL(MYSQL_URL);
  const dbName = `dialtone_t_${crypto.randomBytes(6).toString('hex')}`;
  const admin = knex({ client: 'mysql2', connection: { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) } });
  await admin.raw(`create database \`${dbName}\` character set utf8mb4 collate utf8mb4_unicode_ci`);
  await admin.destroy();
  const url = new URL(MYSQL_URL);
  url.pathname = `/${dbName}`;
  return {
    name: 'mysql',
    url: url.toString(),
    dispose: async () => {
      const k = knex({ client: 'mysql2', connection: { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) } });
      await k.raw(`drop database if exists \`${dbName}\``);
      await k.destroy();
    },
  };
}

/** A fresh database of that kind, opened, and closed and dropped when the test ends. */
export async function openTestDatabase(t: Test, kind: 'sqlite' | 'mysql'): Promise<Database> {
  const db = await freshDatabase(kind);
  const database = openDatabase(db.url);
  t.teardown(async () => {
    await database.close();
    await db.dispose();
  });
  return database;
}
