import type { Knex } from 'knex';

/**
 * Device activation codes: one live code per extension, found by its hash
 * when a phone keys it in, kept sealed so the welcome email and the
 * administrator's device report can show it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('activation_codes', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('extension_id', 36).notNullable().references('extensions.id');
    t.string('code_hash', 64).notNullable().unique();
    t.text('code_sealed').notNullable();
    t.string('created_at', 32).notNullable();
    t.string('expires_at', 32).notNullable();
    t.string('used_at', 32).nullable();
    t.string('revoked_at', 32).nullable();
    t.string('device_id', 36).nullable();
    t.index(['extension_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('activation_codes');
}
