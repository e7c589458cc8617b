import type { Knex } from 'knex';

/**
 * What dialtone last wrote into Asterisk for each extension, so a renamed
 * endpoint or mailbox leaves no stale row behind and a PIN changed from the
 * phone is recognised (only its hash is kept here).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pbx_asterisk_state', (t) => {
    t.string('extension_id', 36).primary().references('extensions.id');
    t.string('endpoint_id', 64).notNullable();
    t.string('vm_context', 80).nullable();
    t.string('vm_mailbox', 80).nullable();
    t.string('pin_hash', 64).nullable();
    t.string('synced_at', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('pbx_asterisk_state');
}
