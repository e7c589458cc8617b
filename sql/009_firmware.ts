import type { Knex } from 'knex';

/**
 * Firmware images (the file is on disk under its SHA-256; the row says what
 * it is), rollouts of an image to a tenant, a site or a list of devices, and
 * the version each device last reported in its User-Agent.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('firmware_images', (t) => {
    t.string('id', 36).primary();
    t.string('vendor', 32).notNullable();
    t.string('model', 64).notNullable();
    t.string('version', 64).notNullable();
    t.string('file_name', 128).notNullable();
    t.string('sha256', 64).notNullable();
    t.bigInteger('size').notNullable();
    t.string('created_at', 32).notNullable();
    t.unique(['model', 'version']);
  });
  await knex.schema.createTable('firmware_rollouts', (t) => {
    t.string('id', 36).primary();
    t.string('image_id', 36).notNullable().references('firmware_images.id');
    t.string('model', 64).notNullable();
    t.string('tenant_id', 36).notNullable().references('tenants.id');
    t.string('site_id', 36).nullable();
    t.integer('percent').nullable();
    t.text('device_ids').nullable();
    t.string('status', 16).notNullable();
    t.string('created_at', 32).notNullable();
    t.string('updated_at', 32).notNullable();
    t.index(['tenant_id', 'model', 'status']);
  });
  await knex.schema.alterTable('devices', (t) => {
    t.string('firmware_version', 64).nullable();
    t.string('firmware_reported_at', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('devices', (t) => {
    t.dropColumn('firmware_version');
    t.dropColumn('firmware_reported_at');
  });
  await knex.schema.dropTableIfExists('firmware_rollouts');
  await knex.schema.dropTableIfExists('firmware_images');
}
