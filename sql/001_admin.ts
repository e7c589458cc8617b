import type { Knex } from 'knex';

/**
 * Tenants, sites, profiles, extensions, API tokens. Ids are UUID strings and
 * times ISO-8601 strings so SQLite and MariaDB store and sort them alike;
 * structured settings are JSON in text columns (see daemon/storage/json.ts).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.string('id', 36).primary();
    t.string('name', 100).notNullable();
    t.string('sip_domain', 253).notNullable().unique();
    t.string('primary_admin_user_id', 36).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
  });
  await knex.schema.createTable('sites', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('name', 100).notNullable();
    t.text('address').notNullable();
    t.string('timezone', 64).notNullable();
    t.string('language', 16).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['tenant_id', 'name']);
  });
  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('first_name', 100).notNullable();
    t.string('last_name', 100).notNullable();
    t.string('email', 254).notNullable();
    t.string('username', 30).notNullable();
    // Lower-cased username: the unique index that makes usernames unique across tenants regardless of case.
    t.string('username_key', 64).notNullable().unique();
    t.string('kind', 16).notNullable().defaultTo('person');
    t.string('job_title', 100).nullable();
    t.string('department', 100).nullable();
    t.text('address').nullable();
    t.string('personal_phone', 32).nullable();
    t.string('language', 16).nullable();
    t.string('site_id', 36).nullable().references('sites.id');
    t.string('status', 16).notNullable().defaultTo('active');
    t.boolean('is_admin').notNullable().defaultTo(false);
    t.string('disabled_at', 32).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['tenant_id', 'status']);
    t.index(['tenant_id', 'email']);
  });
  await knex.schema.createTable('extensions', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('number', 10).notNullable();
    t.string('user_id', 36).nullable().references('users.id');
    t.string('site_id', 36).nullable().references('sites.id');
    t.text('settings').notNullable();
    t.text('voicemail_pin_sealed').nullable();
    t.string('sip_username', 64).notNullable();
    t.text('sip_password_sealed').notNullable();
    t.string('sip_rotated_at', 32).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.unique(['tenant_id', 'number']);
    t.unique(['tenant_id', 'sip_username']);
    t.index(['user_id']);
  });
  // Which profile held which extension, and why it changed hands: the seeds keep history when a profile is disabled.
  await knex.schema.createTable('extension_assignments', (t) => {
    t.string('id', 36).primary();
    t.string('extension_id', 36).notNullable().references('extensions.id');
    t.string('user_id', 36).nullable();
    t.string('previous_user_id', 36).nullable();
    t.string('reason', 32).notNullable();
    t.string('at', 32).notNullable();
    t.index(['extension_id', 'at']);
  });
  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 36).primary();
    t.string('token_hash', 64).notNullable().unique();
    // Null: an operator token, which sees every tenant.
    t.string('tenant_id', 36).nullable().references('tenants.id');
    t.string('user_id', 36).nullable().references('users.id');
    t.string('label', 100).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('last_used_at', 32).nullable();
    t.string('revoked_at', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['api_tokens', 'extension_assignments', 'extensions', 'users', 'sites', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
