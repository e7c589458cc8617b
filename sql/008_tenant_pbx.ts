import type { Knex } from 'knex';

/**
 * A tenant's own PBX. A tenant without a row uses DIALTONE_PBX_URI, so
 * changing that option moves every such tenant at once; removing the row
 * returns the tenant to it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenant_pbx', (t) => {
    t.string('tenant_id', 36).primary().references('tenants.id');
    t.string('uri', 300).notNullable();
    t.string('kind', 16).notNullable();
    t.string('updated_at', 32).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('tenant_pbx');
}
