import type { Knex } from 'knex';

/**
 * A timeline entry can stand for a run of identical fetches: how many, and
 * when the last one came. Existing entries are single events.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('device_events', (t) => {
    t.integer('count').notNullable().defaultTo(1);
    t.string('last_at', 32).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('device_events', (t) => {
    t.dropColumn('count');
    t.dropColumn('last_at');
  });
}
