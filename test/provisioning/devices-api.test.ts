import t from 'tap';
import { makeTenant, startTestApp } from '../helpers/app';
import { databaseKinds } from '../helpers/databases';
import { activateDevice, activationIdentities, deviceByMac, deviceForExtension } from '../../daemon/provisioning';
import type { Mac } from '../../daemon/provisioning/mac';
import { digestAnswer } from './clients';
import { provisionedExtension } from './fixtures';

for (const kind of databaseKinds()) {
  t.test(`devices API on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const f = await provisionedExtension(ta);
    const other = await makeTenant(ta, 'other.pbx.example.com');

    const created = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '00-15-65-4A-A9-37', model: 't46s', extensionId: f.extension.id } });
    t.equal(created.status, 201);
    t.match(created.body, { mac: '0015654aa937', vendor: 'yealink', model: 'T46S', extensionId: f.extension.id, status: 'assigned', provisioned: false });
    t.notOk(JSON.stringify(created.body).match(/password|Sealed/i), 'no credential in the answer');
    const id = created.body.id;

    t.equal((await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S' } })).status, 409, 'same MAC twice');
    t.equal((await ta.call('POST', '/api/v1/devices', { token: other.token, body: { mac: '0015.654a.a937', model: 'T46S' } })).status, 409, 'a MAC belongs to one tenant');
    const second = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa938', model: 'T46S', extensionId: f.extension.id } });
    t.equal(second.status, 409, 'one phone per extension');
    t.equal(second.body.details[0].field, 'extensionId');
    t.match(second.body.details[0].reason, `already has a phone: device ${created.body.id} (00:15:65:4a:a9:37, T46S). Send "replace": true`, 'the answer names the phone in the way');
    t.equal((await ta.call('GET', `/api/v1/devices/${created.body.id}`, { token: f.token })).body.extensionId, f.extension.id, 'which keeps its extension');
    t.equal((await ta.call('GET', '/api/v1/devices?mac=0015654aa938', { token: f.token })).body.total, 0, 'and nothing was stored');
    t.equal((await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa938', model: 'T46S', extensionId: f.extension.id, replace: 'yes' } })).status, 400, 'replace is a boolean');

    const bad = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: 'not-a-mac', model: 'Nokia 3310', extensionId: 'nope', colour: 'red' } });
    t.equal(bad.status, 400);
    t.same(bad.body.details.map((d: { field: string }) => d.field).sort(), ['colour', 'extensionId', 'mac', 'model']);
    const foreignExt = await ta.call('POST', '/api/v1/devices', { token: other.token, body: { mac: '001565000001', model: 'T46S', extensionId: f.extension.id } });
    t.equal(foreignExt.status, 400, "another tenant's extension is not one of ours");

    t.equal((await ta.call('GET', `/api/v1/devices/${id}`, { token: f.token })).body.id, id);
    t.equal((await ta.call('GET', `/api/v1/devices/${id}`, { token: other.token })).status, 404, "another tenant's device is not found");
    const byMac = await ta.call('GET', '/api/v1/devices?mac=00:15:65:4a:a9:37', { token: f.token });
    t.same(byMac.body.items.map((d: { id: string }) => d.id), [id]);
    t.same((await ta.call('GET', '/api/v1/devices?mac=00:15:65:4a:a9:37', { token: other.token })).body.items, []);
    t.equal((await ta.call('GET', '/api/v1/devices?mac=zz', { token: f.token })).status, 400);

    const patched = await ta.call('PATCH', `/api/v1/devices/${id}`, { token: f.token, body: { model: 'T54W', overrides: { codecs: ['PCMA'], timezone: 'Europe/Paris' } } });
    t.equal(patched.status, 200);
    t.match(patched.body, { model: 'T54W', overrides: { codecs: ['PCMA'], timezone: 'Europe/Paris' } });
    const badPatch = await ta.call('PATCH', `/api/v1/devices/${id}`, { token: f.token, body: { mac: '001565000002', overrides: { codecs: ['MP3'], timezone: 'Mars/Olympus', keys: [{ index: 0, type: 'macro', value: 'rm -rf' }] } } });
    t.equal(badPatch.status, 400);
    t.ok(badPatch.body.details.length >= 5, 'every problem is named');

    const preview = await ta.call('GET', `/api/v1/devices/${id}/config`, { token: f.token });
    t.equal(preview.status, 200);
    t.equal(preview.body.mode, 'full');
    const perDevice = preview.body.files.find((x: { name: string }) => x.name === '0015654aa937.cfg');
    t.match(perDevice.body, `account.1.user_name = ${f.creds.username}`);
    t.match(perDevice.body, 'account.1.password = ********');
    t.notOk(preview.raw.includes(f.creds.password), 'the preview never shows the SIP password');
    t.match(perDevice.body, 'local_time.time_zone = +1\nlocal_time.summer_time = 1\nlocal_time.dst_time_type = 1\nlocal_time.start_time = 3/5/7/2', 'the device override applies, with its DST rule');

    const ev = await ta.call('GET', `/api/v1/devices/${id}/events`, { token: f.token });
    t.match(ev.body.items.at(-1), { kind: 'assigned', transport: 'api', result: 'assigned' });

    t.equal((await deviceForExtension(ta.app.runtime.db.knex, f.extension.id))?.id, id, 'found by extension, for resync');
    const freed = await ta.call('PATCH', `/api/v1/devices/${id}`, { token: f.token, body: { extensionId: null } });
    t.equal(freed.body.status, 'unassigned');
    t.equal(await deviceForExtension(ta.app.runtime.db.knex, f.extension.id), null);
  });

  t.test(`a pending device is claimed by entering its MAC (${kind})`, async (t) => {
    const ta = await startTestApp(t, kind);
    const f = await provisionedExtension(ta);
    const fetched = await ta.call('GET', '/prov/Grandstream/cfg000b828aa872.xml', { headers: { 'user-agent': 'Grandstream Model HW GXP2135 SW 1.0.7.97 DevId 000b828aa872' } });
    t.equal(fetched.status, 200);
    t.notOk(fetched.raw.includes(f.creds.password), 'an unknown MAC gets no extension secret');
    t.match(fetched.raw, '<P3>Activate</P3>');
    const user = /<P35>([^<]+)<\/P35>/.exec(fetched.raw)![1]!;
    const password = /<P34>([^<]+)<\/P34>/.exec(fetched.raw)![1]!;

    const pending = await ta.call('GET', '/api/v1/devices?status=pending', { token: ta.operatorToken });
    t.equal(pending.body.items.length, 1);
    t.match(pending.body.items[0], { mac: '000b828aa872', vendor: 'grandstream', model: 'GXP2135', status: 'pending', tenantId: null, provisioned: false });
    t.same((await ta.call('GET', '/api/v1/devices?status=pending', { token: f.token })).body.items, [], 'tenants do not see unclaimed phones');

    const lookup = activationIdentities(ta.app.runtime.db.knex, ta.app.runtime.secrets, ta.app.runtime.config.activationDomain);
    const identity = await lookup(ta.app.runtime.config.activationDomain, user);
    t.match(identity, { kind: 'activation', tenantId: null, extensionId: null, deviceId: pending.body.items[0].id, username: user, password, realm: ta.app.runtime.config.activationDomain });
    t.equal(await lookup('acme.pbx.example.com', user), null, 'activation credentials are valid only in the activation domain');
    t.equal(await lookup(ta.app.runtime.config.activationDomain, f.creds.username), null, 'an extension is never an activation identity');

    const claimed = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '00:0B:82:8A:A8:72', model: 'GXP2135', extensionId: f.extension.id } });
    t.equal(claimed.status, 201);
    t.equal(claimed.body.id, pending.body.items[0].id, 'the pending record is claimed, not duplicated');
    t.equal(claimed.body.status, 'assigned');
    t.equal(await lookup(ta.app.runtime.config.activationDomain, user), null, 'activation credentials stop once the phone has an extension');
    const events = await ta.call('GET', `/api/v1/devices/${claimed.body.id}/events`, { token: f.token });
    const timeline = events.body.items.map((e: { kind: string; result: string }) => `${e.kind}:${e.result}`);
    t.same(timeline.slice(0, 2), ['assigned:assigned', 'fetch:activation']);
    // The record's creation and the version reported by the same fetch may fall in one millisecond: their order is not the test's.
    t.same(timeline.slice(2).sort(), ['created:pending', 'firmware:reported'], 'the version its User-Agent reported is in the timeline too');
  });
}

t.test('replace: true moves an extension to another phone, on entry and on change, and says so in both timelines', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const first = (await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa901', model: 'T46S', extensionId: f.extension.id } })).body;
  const second = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa902', model: 'T46S', extensionId: f.extension.id, replace: true } });
  t.equal(second.status, 201);
  t.match(second.body, { extensionId: f.extension.id, status: 'assigned' });
  t.match((await ta.call('GET', `/api/v1/devices/${first.id}`, { token: f.token })).body, { extensionId: null, status: 'unassigned' });
  const events = (await ta.call('GET', `/api/v1/devices/${first.id}/events`, { token: f.token })).body.items;
  t.match(events[0], { kind: 'assigned', result: 'unassigned', detail: `replaced by device ${second.body.id} entered on its extension` });

  const moved = await ta.call('PATCH', `/api/v1/devices/${first.id}`, { token: f.token, body: { extensionId: f.extension.id } });
  t.equal(moved.status, 409, 'PATCH asks for the same choice');
  t.match(moved.body.details[0].reason, `device ${second.body.id}`);
  const back = await ta.call('PATCH', `/api/v1/devices/${first.id}`, { token: f.token, body: { extensionId: f.extension.id, replace: true } });
  t.equal(back.status, 200);
  t.equal((await ta.call('GET', `/api/v1/devices/${second.body.id}`, { token: f.token })).body.status, 'unassigned');
  t.equal((await ta.call('PATCH', `/api/v1/devices/${first.id}`, { token: f.token, body: { extensionId: f.extension.id } })).status, 200, 'a phone is never in its own way');
});

t.test('activating a pending phone with a code moves it onto the extension', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const deps = { knex: ta.app.runtime.db.knex, changes: ta.app.runtime.changes, secrets: ta.app.runtime.secrets };
  const old = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa900', model: 'T46S', extensionId: f.extension.id } });
  await ta.call('GET', '/prov/0015654aa937.cfg');
  const pending = (await ta.call('GET', '/api/v1/devices?mac=0015654aa937', { token: ta.operatorToken })).body.items[0];
  t.equal(pending.status, 'pending');
  const activated = await activateDevice(deps, pending.id, f.extension.id, `device:${pending.id}`);
  t.match(activated, { status: 'assigned', extensionId: f.extension.id, tenantId: f.tenant.id });
  t.equal((await ta.call('GET', `/api/v1/devices/${old.body.id}`, { token: f.token })).body.status, 'unassigned', 'the previous phone is freed');
  const oldEvents = (await ta.call('GET', `/api/v1/devices/${old.body.id}/events`, { token: f.token })).body.items;
  t.match(oldEvents[0], { kind: 'assigned', transport: 'sip', result: 'unassigned', detail: `replaced by device ${pending.id} activated with the extension's code` });
  await (ta.app.components.find((c) => c.name === 'accounts') as unknown as { idle(): Promise<void> }).idle();
  const mails = await deps.knex('mail_queue').where('purpose', 'phone_replaced');
  t.equal(mails.length, 1, 'the administrator is emailed');
  t.equal(mails[0].recipient, f.admin.email);
  t.match(mails[0].subject, `Extension ${f.extension.number} moved to another phone`);
  const first = await ta.call('GET', '/prov/0015654aa937.cfg');
  t.equal(first.status, 200, 'the first fetch after activation needs no credentials');
  t.match(first.raw, `account.1.password = ${f.creds.password}`, 'the activated phone gets its extension at the next fetch');
  const device = (await deviceByMac(deps.knex, '0015654aa937' as Mac))!;
  const prov = deps.secrets.open(device.provPasswordSealed);
  t.match(first.raw, `static.auto_provision.server.password = ${prov}`, 'and its new provisioning credentials');
  const basic = `Basic ${Buffer.from(`${device.provUsername}:${prov}`).toString('base64')}`;
  const refused = await ta.call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: basic } });
  t.equal(refused.status, 401, 'then credentials are needed, and basic is refused without TLS');
  const answer = digestAnswer(refused.headers['www-authenticate'], device.provUsername, prov, '/prov/0015654aa937.cfg');
  t.equal((await ta.call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: answer } })).status, 200, 'digest with them works');
});

t.test('credentials taken by whoever fetched a MAC first open nothing once it is on an extension', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const scan = await ta.call('GET', '/prov/0015654aa937.cfg');
  const stolen = /static\.auto_provision\.server\.password = (\S+)/.exec(scan.raw)![1]!;
  t.equal((await ta.call('GET', '/prov/0015654aa937.cfg')).status, 200, 'a pending phone is never locked out of its activation file');
  await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S', extensionId: f.extension.id } });
  const phone = await ta.call('GET', '/prov/0015654aa937.cfg');
  t.match(phone.raw, f.creds.password, 'the phone gets its extension at its next fetch');
  const challenge = await ta.call('GET', '/prov/0015654aa937.cfg');
  t.equal(challenge.status, 401);
  const replay = digestAnswer(challenge.headers['www-authenticate'], 'prov0015654aa937', stolen, '/prov/0015654aa937.cfg');
  const attempt = await ta.call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: replay } });
  t.equal(attempt.status, 401, 'the credentials from the activation file were replaced at assignment');
  t.notMatch(attempt.raw, f.creds.password);
});
