import t from 'tap';
import { updateMany } from '../../daemon/storage/update-many';
import { databaseKinds, openTestDatabase } from '../helpers/databases';

for (const kind of databaseKinds()) {
  t.test(`${kind}: each row gets its own values, other rows none`, async (t) => {
    const { knex } = await openTestDatabase(t, kind);
    await knex.schema.createTable('things', (tb) => {
      tb.string('id', 36).primary();
      tb.string('label', 64).nullable();
      tb.integer('n').notNullable().defaultTo(0);
    });
    const ids = Array.from({ length: 250 }, (_, i) => `id-${i}`);
    await knex.batchInsert('things', ids.map((id) => ({ id, label: 'before', n: 0 })), 100);
    const hostile = ["it's", '"; drop table things; --', '?', '??', '\\', 'CASE WHEN 1 THEN 2 END', '\u0000x', 'ünïcødé'];
    const updates = ids.slice(0, 230).map((id, i) => ({ id, values: [hostile[i] ?? `label ${i}`, i] }));
    updates.push({ id: 'not-there', values: ['ghost', 1] });
    await updateMany(knex, 'things', ['label', 'n'], updates);
    const rows = new Map((await knex('things').select()).map((r: { id: string; label: string; n: number }) => [r.id, r]));
    t.equal(rows.size, 250, 'no row added, none lost');
    for (let i = 0; i < hostile.length; i++) t.same(rows.get(`id-${i}`), { id: `id-${i}`, label: hostile[i], n: i }, `value ${JSON.stringify(hostile[i])} stored as given`);
    t.same(rows.get('id-229'), { id: 'id-229', label: 'label 229', n: 229 }, 'past the first hundred rows too');
    t.same(rows.get('id-230'), { id: 'id-230', label: 'before', n: 0 }, 'rows not named are left alone');
    await updateMany(knex, 'things', ['label'], []);
    t.equal((await knex('things').where('label', 'before')).length, 20, 'nothing to update is nothing done');
  });
}
