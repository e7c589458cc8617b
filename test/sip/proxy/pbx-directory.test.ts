import t from 'tap';
import { databaseKinds } from '../../helpers/databases';
import { makeTenant, startTestApp } from '../../helpers/app';
import { ChangeFeed } from '../../../daemon/core/changes';
import { PbxDirectory, type Resolver } from '../../../daemon/sip/proxy/pbx';

const systemLookups: string[] = [];
// The system's resolver, counted, so the test sees when a name is looked up (localhost resolves from /etc/hosts here).
const counted: Resolver = async (host) => {
  systemLookups.push(host);
  const dns = await import('node:dns');
  return (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
};

for (const kind of databaseKinds()) {
  t.test(`a tenant's PBX on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind, { env: { DIALTONE_PBX_URI: 'sip:127.0.0.1:5070;transport=udp' } });
    const acme = await makeTenant(ta, 'acme.sip.test');
    const beta = await makeTenant(ta, 'beta.sip.test');
    const op = ta.operatorToken;
    const pbxUrl = (id: string) => `/api/v1/tenants/${id}/pbx`;

    t.test('the API: operator only, validated, DELETE returns to the default', async (t) => {
      t.same((await ta.call('GET', pbxUrl(acme.tenant.id), { token: op })).body,
        { tenantId: acme.tenant.id, uri: 'sip:127.0.0.1:5070;transport=udp', kind: 'other', source: 'default' });

      const put = await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body: { uri: 'SIP:LocalHost:5080;transport=TCP', kind: 'asterisk' } });
      t.equal(put.status, 200);
      t.same(put.body, { tenantId: acme.tenant.id, uri: 'sip:localhost:5080;transport=tcp', kind: 'asterisk', source: 'tenant' });
      t.same((await ta.call('GET', pbxUrl(acme.tenant.id), { token: op })).body, put.body);
      t.equal((await ta.call('GET', pbxUrl(beta.tenant.id), { token: op })).body.source, 'default', 'another tenant keeps the default');

      for (const token of [acme.token, beta.token]) {
        for (const [method, body] of [['GET', undefined], ['PUT', { uri: 'sip:10.9.9.9' }], ['DELETE', undefined]] as const) {
          const res = await ta.call(method, pbxUrl(acme.tenant.id), { token, body });
          t.equal(res.status, 403, `${method} with an administrator token is refused`);
          t.equal(res.body.error, 'forbidden');
        }
      }
      t.equal((await ta.call('GET', pbxUrl(acme.tenant.id))).status, 401, 'no token');
      t.equal((await ta.call('GET', pbxUrl(acme.tenant.id), { token: op })).body.uri, 'sip:localhost:5080;transport=tcp', 'refused writes changed nothing');
      t.equal((await ta.call('PUT', pbxUrl('no-such-tenant'), { token: op, body: { uri: 'sip:pbx.example.com' } })).status, 404);
      t.equal((await ta.call('GET', pbxUrl('no-such-tenant'), { token: op })).status, 404);

      const bad = await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body: { uri: 'sip:bob@pbx.example.com;lr', kind: 'yate', extra: 1 } });
      t.equal(bad.status, 400);
      t.same(bad.body.details.map((d: { field: string }) => d.field).sort(), ['extra', 'kind', 'uri']);
      t.match(bad.body.details.find((d: { field: string }) => d.field === 'uri').reason, /without a user part/);
      for (const body of [{}, { uri: '' }, { uri: 42 }, { uri: 'sips:pbx;transport=udp' }, { uri: 'sip:pbx.example.com:99999' }, [], 'sip:pbx']) {
        const res = await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body });
        t.equal(res.status, 400, JSON.stringify(body));
        t.ok(res.body.details.some((d: { field: string }) => d.field === 'uri' || d.field === 'body'), `names the field: ${JSON.stringify(res.body.details)}`);
      }
      t.equal((await ta.call('GET', pbxUrl(acme.tenant.id), { token: op })).body.uri, 'sip:localhost:5080;transport=tcp', 'refused input changed nothing');

      const del = await ta.call('DELETE', pbxUrl(acme.tenant.id), { token: op });
      t.equal(del.status, 200);
      t.same(del.body, { tenantId: acme.tenant.id, uri: 'sip:127.0.0.1:5070;transport=udp', kind: 'other', source: 'default' });
      t.equal((await ta.call('DELETE', pbxUrl(acme.tenant.id), { token: op })).status, 200, 'deleting again is harmless');
    });

    t.test('the directory follows the API through the change feed', async (t) => {
      const rt = ta.app.runtime;
      const directory = new PbxDirectory({ knex: rt.db.knex, changes: rt.changes, defaultUri: rt.config.pbxUri, log: rt.log, resolver: counted, refreshMs: 0 });
      await directory.start();
      t.teardown(() => directory.stop());

      t.match(await directory.pbxFor(acme.tenant.id), { uri: 'sip:127.0.0.1:5070;transport=udp', host: '127.0.0.1', port: 5070, transport: 'udp', kind: 'other', source: 'default', addresses: ['127.0.0.1'] });
      t.equal(await directory.pbxFor('no-such-tenant'), null, 'an unknown tenant has no PBX');
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 })?.sort(), [acme.tenant.id, beta.tenant.id].sort(), 'the default PBX speaks for every tenant');
      t.same(directory.isFromPbx({ transport: 'udp', address: '::ffff:127.0.0.1', port: 5070 })?.length, 2, 'an IPv4-mapped source is the same address');
      t.equal(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5071 }), null, 'over UDP, another port of the same host is not the PBX');
      t.equal(directory.isFromPbx({ transport: 'udp', address: '127.0.0.2', port: 5070 }), null, 'another address is not the PBX');
      t.equal(directory.isFromPbx({ transport: 'tcp', address: '127.0.0.1', port: 40123 }), null, 'a PBX on UDP does not speak over TCP (a phone on its host would pass for it)');

      const put = await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body: { uri: 'sip:localhost:5090', kind: 'freeswitch' } });
      t.equal(put.status, 200);
      const own = await directory.pbxFor(acme.tenant.id);
      t.match(own, { host: 'localhost', port: 5090, transport: 'udp', kind: 'freeswitch', source: 'tenant' });
      t.ok(own!.addresses.includes('127.0.0.1'), `localhost resolved: ${own!.addresses.join(',')}`);
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5090 }), [acme.tenant.id], 'the own PBX speaks only for its tenant');
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 }), [beta.tenant.id], 'the default no longer speaks for acme');
      await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body: { uri: 'sip:localhost:5090;transport=tcp', kind: 'freeswitch' } });
      await directory.pbxFor(acme.tenant.id);
      t.same(directory.isFromPbx({ transport: 'tcp', address: '127.0.0.1', port: 40123 }), [acme.tenant.id], "over TCP the source port is the PBX's own choice");
      await ta.call('PUT', pbxUrl(acme.tenant.id), { token: op, body: { uri: 'sip:localhost:5090', kind: 'freeswitch' } });
      await directory.pbxFor(acme.tenant.id);
      const lookups = systemLookups.length;
      for (let i = 0; i < 5; i++) await directory.pbxFor(acme.tenant.id);
      t.equal(systemLookups.length, lookups, 'the addresses are cached');
      await directory.refresh();
      t.equal(systemLookups.length, lookups + 1, 'and looked up again on refresh');

      const gamma = await makeTenant(ta, 'gamma.sip.test');
      t.match(await directory.pbxFor(gamma.tenant.id), { source: 'default' }, 'a new tenant uses the default');
      t.ok(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 })?.includes(gamma.tenant.id));

      await ta.call('PUT', pbxUrl(beta.tenant.id), { token: op, body: { uri: 'sip:pbx.invalid:5060' } });
      const unresolved = await directory.pbxFor(beta.tenant.id);
      t.match(unresolved, { host: 'pbx.invalid', addresses: [] }, 'a name that does not resolve has no addresses');
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 }), [gamma.tenant.id]);

      await ta.call('DELETE', pbxUrl(acme.tenant.id), { token: op });
      t.match(await directory.pbxFor(acme.tenant.id), { source: 'default', port: 5070 });
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5090 }), null, 'the removed PBX speaks for nobody');
      t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 })?.sort(), [acme.tenant.id, gamma.tenant.id].sort());
    });
  });
}

t.test('without DIALTONE_PBX_URI a tenant has no PBX until the operator gives it one', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const acme = await makeTenant(ta, 'acme.sip.test');
  t.same((await ta.call('GET', `/api/v1/tenants/${acme.tenant.id}/pbx`, { token: ta.operatorToken })).body, { tenantId: acme.tenant.id, uri: null, kind: null, source: 'none' });
  const rt = ta.app.runtime;
  const directory = new PbxDirectory({ knex: rt.db.knex, changes: rt.changes, defaultUri: null, log: rt.log, refreshMs: 0 });
  await directory.start();
  t.teardown(() => directory.stop());
  t.equal(await directory.pbxFor(acme.tenant.id), null);
  t.equal(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5060 }), null);
  await ta.call('PUT', `/api/v1/tenants/${acme.tenant.id}/pbx`, { token: ta.operatorToken, body: { uri: 'sip:[::1]:5070', kind: 'asterisk' } });
  t.match(await directory.pbxFor(acme.tenant.id), { host: '::1', addresses: ['::1'], kind: 'asterisk' });
  t.same(directory.isFromPbx({ transport: 'udp', address: '::1', port: 5070 }), [acme.tenant.id]);
  let entries: { kind: string; objectId: string; actor: string }[] = [];
  for (let i = 0; i < 100 && entries.length === 0; i++) {
    entries = (await ta.call('GET', '/api/v1/audit?kind=pbx', { token: ta.operatorToken })).body.items;
    if (entries.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  t.match(entries, [{ kind: 'pbx', objectId: acme.tenant.id, action: 'updated', actor: /^token:/ }], 'the change is in the audit log, with who made it');
});

t.test('tenants created and PBXes set while changes from other processes went unheard are read again when they are heard', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PBX_URI: 'sip:127.0.0.1:5070;transport=udp' } });
  const acme = await makeTenant(ta, 'acme.sip.test');
  const rt = ta.app.runtime;
  const feed = new ChangeFeed();
  const directory = new PbxDirectory({ knex: rt.db.knex, changes: feed, defaultUri: rt.config.pbxUri, log: rt.log, refreshMs: 0 });
  await directory.start();
  t.teardown(() => directory.stop());
  feed.deaf();
  // Through the app's own feed, which this directory does not hear: as if made on another node while Redis was down.
  const beta = await makeTenant(ta, 'beta.sip.test');
  await ta.call('PUT', `/api/v1/tenants/${acme.tenant.id}/pbx`, { token: ta.operatorToken, body: { uri: 'sip:127.0.0.1:5090', kind: 'asterisk' } });
  t.equal(await directory.pbxFor(beta.tenant.id), null, 'unheard: the new tenant is unknown');
  t.match(await directory.pbxFor(acme.tenant.id), { port: 5070, source: 'default' });
  feed.hearing();
  t.match(await directory.pbxFor(beta.tenant.id), { port: 5070, source: 'default' }, 'heard again: the new tenant is read');
  t.match(await directory.pbxFor(acme.tenant.id), { port: 5090, source: 'tenant' }, 'and the PBX set meanwhile');
  t.same(directory.isFromPbx({ transport: 'udp', address: '127.0.0.1', port: 5070 }), [beta.tenant.id]);
  await ta.call('DELETE', `/api/v1/tenants/${acme.tenant.id}/pbx`, { token: ta.operatorToken });
  feed.hearing();
  t.match(await directory.pbxFor(acme.tenant.id), { port: 5090 }, 'hearing again while already hearing reads nothing');
});
