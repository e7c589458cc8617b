import type { Knex } from 'knex';

/**
 * User accounts beside the admin records: password hashes, single-use links,
 * sign-in sessions and rate-limit windows, the outgoing mail queue, the audit
 * log, SCIM tokens, and a nullable profile for extensions adopted from a PBX.
 * Every secret here is a hash or sealed, never the value a person types or clicks.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('password_hash', 255).nullable();
    t.string('password_set_at', 32).nullable();
    // Set when the welcome email is queued, so it goes out once per profile.
    t.string('welcomed_at', 32).nullable();
    // SCIM's DELETE hides a profile from SCIM without deleting it.
    t.string('scim_hidden_at', 32).nullable();
    t.string('external_id', 255).nullable();
  });
  // Profiles that already hold an extension or administrator rights were onboarded before welcome emails existed.
  await knex('users')
    .where('is_admin', true)
    .orWhereIn('id', knex('extensions').select('user_id').whereNotNull('user_id'))
    .update({ welcomed_at: knex.ref('created_at') });
  // An extension for no one in particular (a spare, a pool line): adoption must not invent a profile for it.
  await knex.schema.alterTable('extensions', (t) => {
    t.boolean('unassigned').notNullable().defaultTo(false);
  });
  await knex.schema.createTable('password_links', (t) => {
    t.string('id', 36).primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('user_id', 36).notNullable().references('users.id');
    t.string('purpose', 16).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('used_at', 32).nullable();
    t.index(['user_id']);
  });
  await knex.schema.createTable('sessions', (t) => {
    t.string('id', 36).primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('user_id', 36).notNullable().references('users.id');
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
  });
  await knex.schema.createTable('rate_limits', (t) => {
    t.string('bucket', 300).primary();
    t.integer('count').notNullable();
    t.string('window_start', 32).notNullable();
  });
  await knex.schema.createTable('mail_queue', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).nullable();
    t.string('recipient', 254).notNullable();
    t.string('subject', 255).notNullable();
    t.string('purpose', 32).notNullable();
    // The whole message sealed with the daemon key: it can hold a set-password link. Cleared once sent.
    t.text('message_sealed', 'mediumtext').nullable();
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('next_attempt_at', 32).notNullable();
    t.string('last_error', 500).nullable();
    t.string('created_at', 32).notNullable();
    t.string('sent_at', 32).nullable();
    t.index(['status', 'next_attempt_at']);
  });
  await knex.schema.createTable('audit_log', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).nullable();
    t.string('at', 32).notNullable();
    t.string('actor', 100).notNullable();
    t.string('kind', 32).notNullable();
    t.string('object_id', 36).notNullable();
    t.string('action', 32).notNullable();
    t.text('detail').nullable();
    t.index(['tenant_id', 'at']);
    t.index(['object_id']);
  });
  await knex.schema.createTable('scim_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('token_hash', 64).notNullable().unique();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('label', 100).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('revoked_at', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['scim_tokens', 'audit_log', 'mail_queue', 'rate_limits', 'sessions', 'password_links']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('extensions', (t) => {
    t.dropColumn('unassigned');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('password_hash');
    t.dropColumn('password_set_at');
    t.dropColumn('welcomed_at');
    t.dropColumn('scim_hidden_at');
    t.dropColumn('external_id');
  });
}
