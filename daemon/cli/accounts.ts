import type { Config } from '../config/options';
import type { ChangeFeed } from '../core/changes';
import { SecretBox } from '../crypto/secret-box';
import { loadSecretKey } from '../crypto/secret-key';
import { MailTemplates } from '../mail/templates';
import type { Database } from '../storage/database';
import { OPERATOR, tenantForCreate } from '../admin/service/scope';
import { importUsers } from '../bulk/import';
import { adoptExtensions } from '../adopt/adopt';
import { activationCodeOf } from '../activation/welcome';
import { type NoticeDeps, sendWelcome } from '../accounts/notices';
import { readInputFile } from './input-file';

/**
 * `dialtone users import` and `dialtone adopt`, run against the database
 * directly. Welcome emails are queued in the database; the running daemon's
 * mail worker sends them at its next poll.
 */
function noticesFor(config: Config, db: Database): NoticeDeps {
  const secrets = new SecretBox(loadSecretKey(config.secretKey, config.dataDir).key);
  return { knex: db.knex, secrets, config, templates: new MailTemplates(config.mailTemplatesDir), queued: () => undefined, activationCode: activationCodeOf({ db, secrets }) };
}

/** The primary administrator of a tenant made on the command line is welcomed like one made through the API. */
export async function welcomeAdministrator(config: Config, db: Database, adminId: string): Promise<void> {
  await sendWelcome(noticesFor(config, db), adminId, null, 'cli');
}

export async function importUsersFromFile(config: Config, db: Database, changes: ChangeFeed, tenantId: string, file: string) {
  await tenantForCreate(db.knex, OPERATOR, tenantId);
  const bytes = readInputFile(file);
  const notices = noticesFor(config, db);
  return importUsers({ knex: db.knex, secrets: notices.secrets, changes, notices }, OPERATOR, tenantId, bytes);
}

export async function adopt(db: Database, changes: ChangeFeed, tenantId: string, dryRun: boolean) {
  await tenantForCreate(db.knex, OPERATOR, tenantId);
  return adoptExtensions(db.knex, changes, OPERATOR, tenantId, dryRun);
}
