import type { Knex } from 'knex';

/**
 * Phones and ATAs, what happened to each (the timeline that answers "why is
 * this phone not provisioned"), and operator overrides of their settings.
 * A device without a tenant is pending: a MAC that asked for its files
 * before anyone entered it on an extension.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('devices', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).nullable().references('tenants.id');
    t.string('mac', 12).notNullable().unique();
    t.string('vendor', 32).nullable();
    t.string('model', 64).nullable();
    // One phone per extension: the seeds' rule, and what resync looks a device up by.
    t.string('extension_id', 36).nullable().unique().references('extensions.id');
    t.text('overrides').notNullable();
    t.string('activation_username', 64).notNullable().unique();
    t.text('activation_password_sealed').notNullable();
    t.string('prov_username', 64).notNullable().unique();
    t.text('prov_password_sealed').notNullable();
    // Set when a configuration carrying the provisioning credentials was served: from then on HTTP fetches need them.
    t.string('credentials_sent_at', 32).nullable();
    t.string('last_seen_at', 32).nullable();
    t.string('last_source', 64).nullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['tenant_id']);
  });
  await knex.schema.createTable('device_events', (t) => {
    t.string('id', 36).primary();
    t.string('device_id', 36).notNullable().references('devices.id');
    t.string('at', 32).notNullable();
    t.string('kind', 16).notNullable();
    t.string('transport', 16).nullable();
    t.string('file', 255).nullable();
    t.string('source', 64).nullable();
    t.string('user_agent', 255).nullable();
    t.string('result', 32).notNullable();
    t.string('detail', 255).nullable();
    t.index(['device_id', 'at']);
  });
  await knex.schema.createTable('provisioning_overrides', (t) => {
    t.string('id', 36).primary();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    // 'tenant' (scope_id is the tenant id) or 'site'.
    t.string('scope', 16).notNullable();
    t.string('scope_id', 36).notNullable();
    t.text('settings').notNullable();
    t.string('updated_at', 32).notNullable();
    t.unique(['scope', 'scope_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['provisioning_overrides', 'device_events', 'devices']) await knex.schema.dropTableIfExists(table);
}
