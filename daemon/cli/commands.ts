import type { ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load';
import { createTenant, getTenant, listTenants } from '../admin/service/tenants';
import { createToken } from '../admin/service/tokens';
import { listSites } from '../admin/service/sites';
import { MAX_PAGE } from '../admin/service/paging';
import { OPERATOR } from '../admin/service/scope';
import type { Site } from '../admin/store/rows';
import { migrate, openDatabase, type Database } from '../storage/database';
import { BulkValidationError } from '../bulk/import';
import { adopt, importUsersFromFile, welcomeAdministrator } from './accounts';
import { addImageFromFile } from './firmware';
import { listImages } from '../firmware/service';
import { type Change, ChangeFeed } from '../core/changes';
import { announceChanges } from '../ops/change-relay';

/** A mistake in how the command was called: answered with the command's usage and exit 64. */
export class UsageError extends Error {
  constructor(message: string, readonly command: Command | null = null) {
    super(message);
  }
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * One `dialtone` command, as data: its help text and options are read from
 * here, and so are the flag names that errors about its fields are told in.
 */
export interface Command {
  /** `tenant create`: the words that name it. */
  name: string;
  /** What follows the name in the usage line. */
  synopsis: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes (0 unless said). */
  positionals?: number;
  /** Field names of validation errors (`sipDomain`) as the flags that set them (`--domain`). */
  flags?: Record<string, string>;
  run(values: Values, positionals: string[]): Promise<void>;
}

export function out(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = openDatabase(loadConfig().dbUrl);
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * Runs a command that changes records, then tells the running daemons
 * sharing Redis, so that none serves a file or routes a call as it was before.
 */
async function announcing<T>(fn: (changes: ChangeFeed) => Promise<T>): Promise<T> {
  const feed = new ChangeFeed();
  const made: Change[] = [];
  feed.subscribe((c) => void made.push(c));
  const result = await fn(feed);
  const { redisUrl } = loadConfig();
  if (redisUrl) {
    await announceChanges(redisUrl, made).catch((err: unknown) => {
      process.stderr.write(`dialtone: warning: the running daemons were not told of these changes (Redis: ${(err as Error).message}); restart them to see them\n`);
    });
  }
  return result;
}

const str = (v: Values[string]) => (typeof v === 'string' ? v : undefined);

function required(command: string, values: Values, ...names: string[]): void {
  const missing = names.filter((n) => str(values[n]) === undefined);
  if (missing.length > 0) throw new UsageError(`${command} needs ${missing.map((n) => `--${n}`).join(', ')}`);
}

async function allSites(db: Database, tenantId: string): Promise<Site[]> {
  const scope = { tenantId, actor: 'cli' };
  const sites: Site[] = [];
  for (;;) {
    const page = await listSites(db.knex, scope, { limit: MAX_PAGE, offset: sites.length });
    sites.push(...page.items);
    if (page.items.length === 0 || sites.length >= page.total) return sites;
  }
}

export const COMMANDS: Command[] = [
  {
    name: 'migrate', synopsis: '', summary: 'bring the database schema up to date (serve does it too)', options: {},
    run: () => withDb(async (db) => out({ migrated: true, dialect: db.dialect })),
  },
  {
    name: 'tenant create',
    synopsis: '--name N --domain D --admin-first F --admin-last L --admin-email E [--admin-username U]',
    summary: 'create a tenant (customer account) and its primary administrator; prints both and an administrator token',
    options: {
      name: { type: 'string' }, domain: { type: 'string' }, 'admin-first': { type: 'string' }, 'admin-last': { type: 'string' },
      'admin-email': { type: 'string' }, 'admin-username': { type: 'string' },
    },
    flags: {
      name: '--name', sipDomain: '--domain', 'admin.firstName': '--admin-first', 'admin.lastName': '--admin-last',
      'admin.email': '--admin-email', 'admin.username': '--admin-username', admin: '--admin-first, --admin-last, --admin-email',
    },
    run: (v) => (required('tenant create', v, 'name', 'domain', 'admin-first', 'admin-last', 'admin-email'), withDb(async (db) => {
      const { tenant, admin } = await announcing((changes) => createTenant(db.knex, {
        name: str(v.name), sipDomain: str(v.domain),
        admin: { firstName: str(v['admin-first']), lastName: str(v['admin-last']), email: str(v['admin-email']), username: str(v['admin-username']) },
      }, changes, 'cli'));
      const { token } = await createToken(db.knex, { tenantId: tenant.id, userId: admin.id, label: `primary administrator ${admin.username}` });
      await welcomeAdministrator(loadConfig(), db, admin.id);
      out({ tenant, admin, token });
    })),
  },
  {
    name: 'tenant list', synopsis: '', summary: 'list every tenant with its id, name and SIP domain', options: {},
    run: () => withDb(async (db) => out((await listTenants(db.knex, OPERATOR)).map((t) => ({ id: t.id, name: t.name, sipDomain: t.sipDomain })))),
  },
  {
    name: 'site list', synopsis: '--tenant ID', summary: "list a tenant's sites with their ids", options: { tenant: { type: 'string' } },
    run: (v) => {
      required('site list', v, 'tenant');
      return withDb(async (db) => {
        await getTenant(db.knex, OPERATOR, str(v.tenant)!);
        out((await allSites(db, str(v.tenant)!)).map((s) => ({ id: s.id, name: s.name, timezone: s.timezone })));
      });
    },
  },
  {
    name: 'users import', synopsis: 'FILE.csv --tenant ID', positionals: 1,
    summary: 'create profiles (and extensions) from a bulk upload CSV, all or nothing; problems are listed as FILE:LINE: column: reason',
    options: { tenant: { type: 'string' } },
    run: (v, [file]) => {
      required('users import', v, 'tenant');
      return withDb(async (db) => out(await announcing((changes) => importUsersFromFile(loadConfig(), db, changes, str(v.tenant)!, file!)))).catch((err: unknown) => {
        if (err instanceof BulkValidationError) Object.assign(err, { file });
        throw err;
      });
    },
  },
  {
    name: 'adopt', synopsis: '--tenant ID [--dry-run]', summary: 'create profiles for extensions that have none; prints the clean-up report',
    options: { tenant: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    run: (v) => {
      required('adopt', v, 'tenant');
      return withDb(async (db) => out(await announcing((changes) => adopt(db, changes, str(v.tenant)!, v['dry-run'] === true))));
    },
  },
  {
    name: 'firmware add', synopsis: 'FILE --model M [--version V]', positionals: 1,
    summary: "store a firmware image for one model (the version is read from the file name when not given); roll it out with POST /api/v1/firmware/rollouts",
    options: { model: { type: 'string' }, version: { type: 'string' } },
    flags: { model: '--model', version: '--version', fileName: 'FILE', file: 'FILE' },
    run: (v, [file]) => {
      required('firmware add', v, 'model');
      return withDb(async (db) => out(await addImageFromFile(loadConfig(), db, file!, str(v.model)!, str(v.version))));
    },
  },
  {
    name: 'firmware list', synopsis: '[--model M]', summary: 'the firmware images stored, by model and newest first', options: { model: { type: 'string' } },
    run: (v) => withDb(async (db) => out(await listImages(db.knex, str(v.model)))),
  },
  {
    name: 'token create', synopsis: '(--operator | --tenant ID) [--label L]', summary: 'create an API token (shown once): an operator sees every tenant',
    options: { operator: { type: 'boolean' }, tenant: { type: 'string' }, label: { type: 'string' } },
    run: (v) => {
      if (!v.operator === !str(v.tenant)) throw new UsageError('token create needs exactly one of --operator or --tenant ID');
      return withDb(async (db) => {
        const tenantId = v.operator ? null : str(v.tenant)!;
        if (tenantId) await getTenant(db.knex, OPERATOR, tenantId);
        const created = await createToken(db.knex, { tenantId, label: str(v.label) ?? (tenantId ? 'tenant administrator' : 'operator') });
        out({ id: created.id, tenantId, token: created.token, scope: tenantId ? 'tenant' : 'operator' });
      });
    },
  },
];
