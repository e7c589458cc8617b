import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { flushMail, readOutbox } from '../helpers/mail';
import { planAdoption } from '../../daemon/adopt/plan';
import { DEFAULT_SETTINGS } from '../../daemon/admin/domain/extension';
import { newExtensionRows } from '../../daemon/admin/service/extensions';
import { toJsonColumn } from '../../daemon/storage/json';
import { adopt, importUsersFromFile } from '../../daemon/cli/accounts';
import { ChangeFeed } from '../../daemon/core/changes';

const ctx = { companyName: 'Acme Widgets', primaryAdminEmail: 'boss@acme.example', takenUsernames: new Set<string>(), existingEmails: new Set<string>() };

t.test('plan: names from caller ID, email from voicemail, and what to clean up', async (t) => {
  const plan = planAdoption([
    { id: 'a', number: '100', callerIdName: 'Ada Lovelace', voicemailEmail: 'ada@acme.example' },
    { id: 'b', number: '101', callerIdName: 'ACME WIDGETS', voicemailEmail: 'front@acme.example' },
    { id: 'c', number: '102', callerIdName: 'Ada Lovelace', voicemailEmail: 'ada@acme.example' },
    { id: 'd', number: '103', callerIdName: 'Sales Desk', voicemailEmail: 'front@acme.example' },
    { id: 'e', number: '104', callerIdName: null, voicemailEmail: null },
    { id: 'f', number: '105', callerIdName: 'Cher', voicemailEmail: 'a.very.long.address.indeed@acme.example' },
  ], ctx);
  t.equal(plan.length, 5, 'the same person on two extensions gets one profile');
  t.match(plan[0], { firstName: 'Ada', lastName: 'Lovelace', username: 'ada@acme.example', extensionNumbers: ['100', '102'], cleanUp: [] });
  t.match(plan[1]!.cleanUp, [/company name/]);
  t.match(plan[1]!.cleanUp.join(), /shares its email with extension 103/);
  t.match(plan[2]!.cleanUp.join(), /shares its email with extension 101/);
  t.not(plan[1]!.username, plan[2]!.username, 'usernames stay unique');
  t.match(plan[3], { firstName: 'Extension', lastName: '104', email: 'boss@acme.example' });
  t.match(plan[3]!.cleanUp.join(), /no caller ID name.*|no voicemail/);
  t.match(plan[4], { firstName: 'Cher', lastName: 'Cher' });
  t.ok(plan[4]!.username.length <= 30);
});

async function orphan(ta: TestApp, tenantId: string, number: string, callerIdName: string | null, email: string | null, unassigned = false) {
  const { knex } = ta.app.runtime.db;
  const settings = { ...DEFAULT_SETTINGS, callerId: { name: callerIdName, number: null }, voicemail: { enabled: true, email } };
  const admin = await knex('tenants').where('id', tenantId).first('primary_admin_user_id');
  const rows = newExtensionRows(ta.app.runtime.secrets, { tenantId, number, userId: admin.primary_admin_user_id, siteId: null, settings, pin: null, at: new Date().toISOString() });
  // As a PBX import leaves them: no profile.
  await knex('extensions').insert({ ...rows.extension, settings: toJsonColumn(settings), user_id: null, unassigned });
}

for (const kind of databaseKinds()) {
  t.test(`adopt on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const { tenant, token } = await makeTenant(ta, 'acme.example');
    await orphan(ta, tenant.id, '200', 'Grace Hopper', 'grace@acme.example');
    await orphan(ta, tenant.id, '201', 'acme.example', 'desk@acme.example');
    await orphan(ta, tenant.id, '299', null, null, true);

    const dry = await ta.call('POST', '/api/v1/extensions/adopt?dryRun=true', { token });
    t.equal(dry.status, 200);
    t.equal(dry.body.created.length, 2);
    t.same(dry.body.skippedUnassigned, ['299']);
    t.equal(dry.body.needsCleanUp, 1);
    t.equal((await ta.call('GET', '/api/v1/users', { token })).body.total, 1, 'a dry run creates nothing');

    const res = await ta.call('POST', '/api/v1/extensions/adopt', { token });
    t.equal(res.status, 200);
    const grace = res.body.created.find((c: { username: string }) => c.username === 'grace@acme.example');
    t.ok(grace.userId);
    const ext = (await ta.call('GET', '/api/v1/extensions?number=200', { token })).body.items[0];
    t.equal(ext.userId, grace.userId);
    t.equal((await ta.call('GET', '/api/v1/extensions?number=299', { token })).body.items[0].userId, null, 'unassigned stays unassigned');
    await flushMail(ta);
    t.same(readOutbox(ta.dataDir).map((m) => m.to), ['admin@acme.example'], 'invisible to users: only the administrator\'s own welcome');
    const again = await ta.call('POST', '/api/v1/extensions/adopt', { token });
    t.equal(again.body.created.length, 0, 'nothing left to adopt');

    t.test('the CLI commands run the same code', async (t) => {
      await orphan(ta, tenant.id, '202', 'Alan Turing', 'alan@acme.example');
      const report = await adopt(ta.app.runtime.db, new ChangeFeed(), tenant.id, false);
      t.equal(report.created.length, 1);
      const file = path.join(ta.dataDir, 'people.csv');
      fs.writeFileSync(file, 'First Name,Last Name,Email,Extension\nKatherine,Johnson,kj@acme.example,210\n');
      const imported = await importUsersFromFile(ta.app.runtime.config, ta.app.runtime.db, new ChangeFeed(), tenant.id, file);
      t.equal(imported.created, 1);
      await flushMail(ta);
      t.equal(readOutbox(ta.dataDir).filter((m) => m.to.includes('kj@acme.example')).length, 1, 'the daemon sends the welcome the CLI queued');
      await t.rejects(adopt(ta.app.runtime.db, new ChangeFeed(), 'no-such-tenant', true), { message: /tenant not found/ });
    });
  });
}
