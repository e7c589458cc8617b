import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../daemon/app';
import { loadConfig } from '../daemon/config/load';
import { createLogger } from '../daemon/core/log';
import { createTenant } from '../daemon/admin/service/tenants';
import { OPERATOR } from '../daemon/admin/service/scope';
import { importUsers } from '../daemon/bulk/import';
import type { AccountsComponent } from '../daemon/accounts/component';
import { mysqlDatabase } from './daemon';

/**
 * Bulk upload of 10,000 people with extensions, each welcomed by email, on
 * SQLite and (with DIALTONE_TEST_MYSQL_URL) MariaDB.
 *   npx ts-node-transpile-only bench/bulk-import.ts [rows]
 */
const ROWS = Number(process.argv[2] ?? 10_000);

function csv(rows: number): Buffer {
  const lines = ['First Name,Last Name,Email,Username,Extension,Department'];
  for (let i = 0; i < rows; i++) lines.push(`Person${i},"Surname, ${i}",person${i}@bench.example,p${i},${10000 + i},Dept ${i % 20}`);
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

async function run(label: string, dbUrl: string, dataDir: string): Promise<void> {
  const config = loadConfig({ DIALTONE_DATA_DIR: dataDir, DIALTONE_DB_URL: dbUrl, DIALTONE_SECRET_KEY: '0'.repeat(63) + '1', DIALTONE_LOG_LEVEL: 'silent' });
  const app = await buildApp(config, { log: createLogger('silent') });
  try {
    const { tenant } = await createTenant(app.runtime.db.knex, { name: 'Bench', sipDomain: `bench-${label}.example`, admin: { firstName: 'B', lastName: 'A', email: 'admin@bench.example', username: `admin-${label}` } });
    const accounts = app.components.find((c) => c.name === 'accounts') as AccountsComponent;
    const file = csv(ROWS);
    const started = process.hrtime.bigint();
    const result = await importUsers({ knex: app.runtime.db.knex, secrets: app.runtime.secrets, changes: app.runtime.changes, notices: accounts.notices }, OPERATOR, tenant.id, file);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    await accounts.idle();
    const settled = Number(process.hrtime.bigint() - started) / 1e6;
    const queued = await app.runtime.db.knex('mail_queue').count({ n: '*' }).first();
    process.stdout.write(`${label}: ${result.created} profiles, ${result.extensions} extensions, ${Number(queued?.n)} welcome emails queued, ${(file.length / 1024).toFixed(0)} KiB, in ${(ms / 1000).toFixed(2)} s (${Math.round(result.created / (ms / 1000))} rows/s); audit entries and change listeners settled at ${(settled / 1000).toFixed(2)} s\n`);
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-bench-'));
  try {
    await run('sqlite', `sqlite://${path.join(dir, 'bench.sqlite')}`, dir);
    const mysql = process.env.DIALTONE_TEST_MYSQL_URL;
    if (mysql) {
      const db = await mysqlDatabase(mysql);
      try {
        await run('mariadb', db.url, dir);
      } finally {
        await db.drop();
      }
    } else {
      process.stdout.write('mariadb: skipped (set DIALTONE_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/)\n');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
