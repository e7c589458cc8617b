import fs from 'node:fs';
import type { Config } from '../config/options';
import { SecretBox } from '../crypto/secret-box';
import { loadSecretKey } from '../crypto/secret-key';
import { MailTemplates } from '../mail/templates';
import type { Database } from '../storage/database';
import { OPERATOR, tenantForCreate } from '../admin/service/scope';
import { importUsers } from '../bulk/import';
import { adoptExtensions } from '../adopt/adopt';
import { activationCodeOf } from '../activation/welcome';

/**
 * `dialtone users import` and `dialtone adopt`, run against the database
 * directly. Welcome emails are queued in the database; the running daemon's
 * mail worker sends them at its next poll.
 */
export async function importUsersFromFile(config: Config, db: Database, tenantId: string, file: string) {
  await tenantForCreate(db.knex, OPERATOR, tenantId);
  const secrets = new SecretBox(loadSecretKey(config.secretKey, config.dataDir).key);
  const notices = { knex: db.knex, secrets, config, templates: new MailTemplates(config.mailTemplatesDir), queued: () => undefined, activationCode: activationCodeOf({ db, secrets }) };
  return importUsers({ knex: db.knex, secrets, changes: null, notices }, OPERATOR, tenantId, fs.readFileSync(file));
}

export async function adopt(db: Database, tenantId: string, dryRun: boolean) {
  await tenantForCreate(db.knex, OPERATOR, tenantId);
  return adoptExtensions(db.knex, null, OPERATOR, tenantId, dryRun);
}
