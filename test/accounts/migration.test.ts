import t from 'tap';
import { databaseKinds, freshDatabase } from '../helpers/databases';
import { openDatabase } from '../../daemon/storage/database';
import { migrationSource } from '../../sql';

for (const kind of databaseKinds()) {
  t.test(`on ${kind}, profiles onboarded before welcome emails are not welcomed again`, async (t) => {
    const fresh = await freshDatabase(kind);
    const db = openDatabase(fresh.url);
    t.teardown(async () => {
      await db.close();
      await fresh.dispose();
    });
    const k = db.knex;
    await k.migrate.up({ migrationSource, name: '001_admin' } as never);
    const at = '2020-01-01T00:00:00.000Z';
    await k('tenants').insert({ id: 't', name: 'T', sip_domain: 't.example', primary_admin_user_id: 'admin', created_at: at, updated_at: at });
    for (const [id, isAdmin] of [['admin', true], ['holder', false], ['newcomer', false]] as const) {
      await k('users').insert({ id, tenant_id: 't', first_name: 'F', last_name: 'L', email: `${id}@x.example`, username: id, username_key: id, is_admin: isAdmin, created_at: at, updated_at: at });
    }
    await k('extensions').insert({ id: 'e', tenant_id: 't', number: '100', user_id: 'holder', settings: '{}', sip_username: 'u', sip_password_sealed: 'x', sip_rotated_at: at, created_at: at, updated_at: at });
    await k.migrate.latest({ migrationSource });
    const rows = await k('users').select('id', 'welcomed_at').orderBy('id');
    t.same(rows.map((r: { id: string; welcomed_at: string | null }) => [r.id, r.welcomed_at]), [['admin', at], ['holder', at], ['newcomer', null]]);
  });
}
