import type { Knex } from 'knex';

/**
 * A profile may keep itself out of its tenant's corporate directory; ATAs
 * with several ports carry one extension per port. Port 1 stays
 * devices.extension_id; ports 2 and up are rows here, and an extension is on
 * at most one port of one device, as it has at most one phone.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.boolean('in_directory').notNullable().defaultTo(true);
  });
  await knex.schema.createTable('device_ports', (t) => {
    t.string('device_id', 36).notNullable().references('devices.id');
    t.integer('port').notNullable();
    t.string('extension_id', 36).notNullable().unique().references('extensions.id');
    t.primary(['device_id', 'port']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('device_ports');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('in_directory');
  });
}
