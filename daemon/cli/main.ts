#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load';
import { DomainError } from '../core/errors';
import { createLogger } from '../core/log';
import { createTenant } from '../admin/service/tenants';
import { createToken } from '../admin/service/tokens';
import { ListenError } from '../ops/listeners';
import { runDaemon } from '../ops/daemon';
import { migrate, openDatabase } from '../storage/database';
import { adopt, importUsersFromFile, welcomeAdministrator } from './accounts';

const USAGE = `usage: dialtone <command> [options]

  serve                         run the daemon (what npm start runs)
  migrate                       bring the database schema up to date
  tenant create --name N --domain D --admin-first F --admin-last L --admin-email E [--admin-username U]
                                create a tenant and its primary administrator; prints the tenant and an administrator token
  users import FILE.csv --tenant ID
                                create profiles (and extensions) from a bulk upload CSV; all or nothing
  adopt --tenant ID [--dry-run] create profiles for extensions that have none; prints the clean-up report
  token create --operator [--label L]
  token create --tenant ID [--label L]
                                create an API token (shown once)

Settings come from DIALTONE_* environment variables or the JSON file named by DIALTONE_CONFIG (see README.md).`;

function out(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

async function withDb<T>(fn: (db: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
  const db = openDatabase(loadConfig().dbUrl);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function serve(): Promise<void> {
  const config = loadConfig();
  await runDaemon(config, createLogger(config.logLevel));
}

async function main(argv: string[]): Promise<void> {
  const [command, sub] = argv;
  const rest = argv.slice(command === 'tenant' || command === 'token' || command === 'users' ? 2 : 1);
  switch (command) {
    case 'serve':
      return serve();
    case 'migrate':
      return withDb(async (db) => out({ migrated: true, dialect: db.dialect }));
    case 'tenant': {
      if (sub !== 'create') break;
      const { values } = parseArgs({
        args: rest, strict: true,
        options: {
          name: { type: 'string' }, domain: { type: 'string' }, 'admin-first': { type: 'string' }, 'admin-last': { type: 'string' },
          'admin-email': { type: 'string' }, 'admin-username': { type: 'string' },
        },
      });
      return withDb(async (db) => {
        const { tenant, admin } = await createTenant(db.knex, {
          name: values.name, sipDomain: values.domain,
          admin: { firstName: values['admin-first'], lastName: values['admin-last'], email: values['admin-email'], username: values['admin-username'] },
        });
        const { token } = await createToken(db.knex, { tenantId: tenant.id, userId: admin.id, label: `primary administrator ${admin.username}` });
        await welcomeAdministrator(loadConfig(), db, admin.id);
        out({ tenant, admin, token });
      });
    }
    case 'users': {
      if (sub !== 'import') break;
      const { values, positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: { tenant: { type: 'string' } } });
      if (positionals.length !== 1 || !values.tenant) throw new UsageError('users import needs FILE.csv and --tenant ID');
      return withDb(async (db) => out(await importUsersFromFile(loadConfig(), db, values.tenant!, positionals[0]!)));
    }
    case 'adopt': {
      const { values } = parseArgs({ args: rest, strict: true, options: { tenant: { type: 'string' }, 'dry-run': { type: 'boolean' } } });
      if (!values.tenant) throw new UsageError('adopt needs --tenant ID');
      return withDb(async (db) => out(await adopt(db, values.tenant!, values['dry-run'] ?? false)));
    }
    case 'token': {
      if (sub !== 'create') break;
      const { values } = parseArgs({ args: rest, strict: true, options: { operator: { type: 'boolean' }, tenant: { type: 'string' }, label: { type: 'string' } } });
      if (!values.operator === !values.tenant) throw new UsageError('token create needs exactly one of --operator or --tenant ID');
      return withDb(async (db) => {
        const tenantId = values.operator ? null : values.tenant!;
        const created = await createToken(db.knex, { tenantId, label: values.label ?? (tenantId ? 'tenant administrator' : 'operator') });
        out({ id: created.id, tenantId, token: created.token, scope: tenantId ? 'tenant' : 'operator' });
      });
    }
  }
  throw new UsageError(command ? `unknown command: ${argv.slice(0, 2).join(' ')}` : 'no command given');
}

class UsageError extends Error {}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`dialtone: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`dialtone: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(64);
  }
  if (err instanceof ListenError) {
    process.stderr.write(`dialtone: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof DomainError) {
    process.stderr.write(`dialtone: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`dialtone: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

