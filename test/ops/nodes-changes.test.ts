import t from 'tap';
import type { Message } from 'sip';
import { MYSQL_URL } from '../helpers/databases';
import { SDP } from '../helpers/calls';
import { KEY, type Node, startCluster, until } from '../helpers/nodes';
import { RawPeer, answer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';
import { digestAnswer } from '../provisioning/clients';
import { deviceByMac } from '../../daemon/provisioning';
import { parseMac } from '../../daemon/provisioning/mac';
import { openDatabase } from '../../daemon/storage/database';
import { SecretBox } from '../../daemon/crypto/secret-box';
import { loadSecretKey } from '../../daemon/crypto/secret-key';

/**
 * Two `dialtone serve` processes on one MariaDB and one Redis: everything
 * is changed through node A's API, and node B, where the phone registers and
 * fetches, must act on it without a restart; what a change sets off (the
 * resync NOTIFY, the audit entry) happens once, on node A.
 */
const skip = MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set';

t.test('changes made through node A reach node B: a new tenant is routed, a phone\'s file is rendered again; the resync is sent once', { skip }, async (t) => {
  const pbxPeer = await RawPeer.udp(() => b.sip);
  t.teardown(() => pbxPeer.close());
  const cluster = await startCluster(t, { DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPeer.localPort};transport=udp` });
  const [a, b] = await Promise.all([cluster.start(), cluster.start()]) as [Node, Node];
  const pbx = new Ua(pbxPeer, 'pbx', 'changes.sip.test');

  const domain = 'changes.sip.test';
  const call = async (node: Node, token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${node.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: await r.json() as Record<string, any> };
  };
  // Both nodes are running before the tenant exists: B can know of it only from A.
  const operator = cluster.cli(['token', 'create', '--operator']).token as string;
  const tenant = await call(a, operator, 'POST', '/tenants', { name: 'Changes', sipDomain: domain, admin: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@changes.test' } });
  t.equal(tenant.status, 201, tenant.body.message);
  const token = cluster.cli(['token', 'create', '--tenant', tenant.body.tenant.id]).token as string;
  const api = (method: string, path: string, body?: unknown) => call(a, token, method, path, body);
  const ext = await api('POST', '/extensions', { number: '201', userId: tenant.body.admin.id });
  t.equal(ext.status, 201);
  const creds = (await api('GET', `/extensions/${ext.body.id}/sip-credentials`)).body as { username: string; password: string };

  const peer = await RawPeer.udp(b.sip);
  t.teardown(() => peer.close());
  const phone = new Ua(peer, '201', domain);
  t.equal((await phone.register(creds.username, creds.password)).status, 200, 'the phone registers at node B');

  // A call from the phone through B: B's proxy must know the tenant to find its PBX; one that does not answers 480 itself.
  const callOut = async (phone: Ua, creds: { username: string; password: string }) => {
    const uri = `sip:5551234@${phone.domain}`;
    const first = phone.request({ method: 'INVITE', uri, body: SDP });
    const challenge = (await phone.send(first.text)).at(-1)!;
    t.equal(challenge.status, 407);
    phone.peer.send(phone.ackFailure(first.text, challenge));
    const auth = answer(challenge, { username: creds.username, password: creds.password, uri, method: 'INVITE' });
    const invite = phone.request({ method: 'INVITE', uri, callId: first.callId, fromTag: first.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${auth}`] });
    phone.peer.send(invite.text);
    const atPbx = pbx.nextRequest('INVITE').then((rq) => {
      pbx.reply(rq, 486, 'Busy Here', { toTag: 'p1' });
      return rq;
    });
    let final: Message;
    do final = await phone.peer.next(); while ((final.status ?? 0) < 200);
    if (final.status === 486) t.equal((await atPbx).uri, uri);
    phone.peer.send(phone.ackFailure(invite.text, final));
    return final.status;
  };
  t.equal(await callOut(phone, creds), 486, 'node B relays the call of a tenant created through node A to its PBX, and the PBX\'s answer comes back');

  // Every NOTIFY the phone gets, answered; each must come from node A, which made the change.
  const notifies: Message[] = [];
  const nextNotify = async () => {
    const n = await phone.nextRequest('NOTIFY');
    phone.reply(n, 200, 'OK');
    notifies.push(n);
    return n;
  };
  const viaPort = (m: Message) => m.headers.via?.[0]?.port;

  const mac = '80:5E:C0:AB:CD:01';
  const device = await api('POST', '/devices', { mac, model: 'T46S', extensionId: ext.body.id });
  t.equal(device.status, 201, 'the phone is entered through A');
  t.equal(viaPort(await nextNotify()), a.sip, 'the phone entered through A is resynced by A');

  const path = '/prov/805ec0abcd01.cfg';
  const ua = 'Yealink SIP-T46S 66.85.0.5 80:5e:c0:ab:cd:01';
  const firstFetch = await fetch(`${b.url}${path}`, { headers: { 'user-agent': ua } });
  t.equal(firstFetch.status, 200, 'the phone fetches its file from B');
  t.match(await firstFetch.text(), 'Ada Lovelace');
  const knex = openDatabase(cluster.dbUrl);
  t.teardown(() => knex.close());
  const row = (await deviceByMac(knex.knex, parseMac(mac)!))!;
  const provPassword = new SecretBox(loadSecretKey(KEY, cluster.env.DIALTONE_DATA_DIR!).key).open(row.provPasswordSealed);
  const fetchFromB = async () => {
    const challenged = await fetch(`${b.url}${path}`, { headers: { 'user-agent': ua } });
    await challenged.text();
    const r = await fetch(`${b.url}${path}`, { headers: { 'user-agent': ua, authorization: digestAnswer(challenged.headers.get('www-authenticate'), row.provUsername, provPassword, path) } });
    return { status: r.status, body: await r.text() };
  };
  const cached = await fetchFromB();
  t.equal(cached.status, 200);
  t.match(cached.body, 'Ada Lovelace', 'B has rendered and cached the file');

  t.equal((await api('PATCH', `/extensions/${ext.body.id}`, { callerId: { name: 'Front Desk' } })).status, 200, "the caller ID is changed through A's API");
  let next = cached;
  await until('B to serve the new caller ID', async () => {
    next = await fetchFromB();
    return next.body.includes('Front Desk');
  });
  t.equal(next.status, 200);
  t.notMatch(next.body, 'Ada Lovelace', "B's cached file was dropped");
  t.equal(viaPort(await nextNotify()), a.sip, 'the phone is resynced by A');

  // Another change through A: its NOTIFY comes after any that B would have sent for the one before.
  t.equal((await api('PATCH', `/extensions/${ext.body.id}`, { callerId: { name: 'Reception' } })).status, 200);
  t.equal(viaPort(await nextNotify()), a.sip, 'the next NOTIFY is A\'s own too: B sent none');
  t.same(notifies.map((n) => n.headers.event), ['check-sync;reboot=false', 'check-sync;reboot=false', 'check-sync;reboot=false'], 'one NOTIFY per change');
  await until('B to serve the second caller ID', async () => (await fetchFromB()).body.includes('Reception'));

  // A tenant made with the command line, which tells the running nodes through Redis too.
  const made = cluster.cli(['tenant', 'create', '--name', 'Command line', '--domain', 'cli.sip.test', '--admin-first', 'Grace', '--admin-last', 'Hopper', '--admin-email', 'grace@cli.test']) as { token: string; admin: { id: string } };
  const ext2 = await call(a, made.token, 'POST', '/extensions', { number: '301', userId: made.admin.id });
  t.equal(ext2.status, 201);
  const creds2 = (await call(a, made.token, 'GET', `/extensions/${ext2.body.id}/sip-credentials`)).body as { username: string; password: string };
  const peer2 = await RawPeer.udp(b.sip);
  t.teardown(() => peer2.close());
  const phone2 = new Ua(peer2, '301', 'cli.sip.test');
  t.equal((await phone2.register(creds2.username, creds2.password)).status, 200);
  t.equal(await callOut(phone2, creds2), 486, 'node B relays the call of a tenant created with the command line');

  let audit: { action: string; objectId: string }[] = [];
  await until('the audit entries of both changes', async () => {
    audit = (await call(a, operator, 'GET', `/audit?kind=extension&objectId=${ext.body.id}`)).body.items;
    return audit.filter((e) => e.action === 'updated').length >= 2;
  });
  t.equal(audit.filter((e) => e.action === 'updated').length, 2, 'each change is audited once, not once per node');
});
