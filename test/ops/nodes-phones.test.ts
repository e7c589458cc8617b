import t from 'tap';
import type { Message } from 'sip';
import { MYSQL_URL } from '../helpers/databases';
import { SDP } from '../helpers/calls';
import { type Node, startCluster } from '../helpers/nodes';
import { RawPeer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

/**
 * Two `dialtone serve` processes on one MariaDB and one Redis, a phone on
 * TCP, and a PBX stand-in that sends everything to node A (as one node of
 * a pool behind a load balancer would get it): what reaches the phone must
 * go down the connection node B holds.
 */
const skip = MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set';

async function finalAnswers(ua: Ua): Promise<{ statuses: number[]; final: Message }> {
  const statuses: number[] = [];
  for (;;) {
    const m = await ua.peer.next();
    if (m.status === undefined) continue;
    statuses.push(m.status);
    if (m.status >= 200) return { statuses, final: m };
  }
}

t.test('a phone registered over TCP at node B is resynced and called through node A; kill -9 of B, and it re-registers at A', { skip }, async (t) => {
  let pbxTarget = 0;
  const pbxPeer = await RawPeer.udp(() => pbxTarget);
  t.teardown(() => pbxPeer.close());
  const cluster = await startCluster(t, { DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPeer.localPort};transport=udp` });
  const [a, b] = await Promise.all([cluster.start(), cluster.start()]) as [Node, Node];
  pbxTarget = a.sip;
  const pbx = new Ua(pbxPeer, 'pbx', 'nodes.sip.test');

  const domain = 'nodes.sip.test';
  const call = async (node: Node, token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${node.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: await r.json() as Record<string, any> };
  };
  // Through node A's API: the PBX directory of each node learns of new tenants from its own changes.
  const operator = cluster.cli(['token', 'create', '--operator']).token as string;
  const tenant = await call(a, operator, 'POST', '/tenants', { name: 'Nodes', sipDomain: domain, admin: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@nodes.test' } });
  t.equal(tenant.status, 201, tenant.body.message);
  const token = cluster.cli(['token', 'create', '--tenant', tenant.body.tenant.id]).token as string;
  const api = (node: Node, method: string, path: string, body?: unknown) => call(node, token, method, path, body);
  const ext = await api(a, 'POST', '/extensions', { number: '201', userId: tenant.body.admin.id });
  t.equal(ext.status, 201);
  const creds = (await api(a, 'GET', `/extensions/${ext.body.id}/sip-credentials`)).body as { username: string; password: string };
  // A desk phone keeps its Contact (its own address) whichever connection it registers over.
  const contact = 'sip:201@127.0.0.1:45060;transport=tcp';

  const peerB = await RawPeer.tcp(b.sip);
  t.teardown(() => peerB.close());
  const atB = new Ua(peerB, '201', domain, contact);
  t.equal((await atB.register(creds.username, creds.password)).status, 200, 'the phone registers over TCP at node B');
  const regs = await api(a, 'GET', `/extensions/${ext.body.id}/registrations`);
  t.match(regs.body.items, [{ contact, transport: 'tcp' }], 'node A sees the binding, in Redis');
  t.equal(regs.body.items.length, 1);

  const [resync, notify] = await Promise.all([
    api(a, 'POST', `/extensions/${ext.body.id}/resync`, { reboot: false }),
    atB.nextRequest('NOTIFY').then((n) => {
      atB.reply(n, 200, 'OK');
      return n;
    }),
  ]);
  t.equal(notify.headers.event, 'check-sync;reboot=false', 'the resync asked of node A reaches the phone, down its connection to node B');
  t.equal(notify.uri, contact);
  t.equal(resync.status, 200);
  t.match(resync.body.results, [{ contact, status: 200 }], "and node A's API reports the phone's 200");

  pbx.peer.send(pbx.request({ method: 'INVITE', uri: `sip:201@${domain}`, body: SDP }).text);
  const invite = await atB.nextRequest('INVITE');
  t.equal(invite.uri, contact, 'the PBX calls through node A and the INVITE reaches the phone at node B');
  t.notOk(invite.headers.route, 'with no Route of ours left on it');
  atB.reply(invite, 180, 'Ringing', { toTag: 'b1' });
  atB.reply(invite, 200, 'OK', { toTag: 'b1', body: SDP });
  const answered = await finalAnswers(pbx);
  t.same(answered.statuses, [100, 180, 200], "the phone's answers come back through node A");
  const dialog = Ua.dialogAsCaller(answered.final, 1);
  t.ok(dialog.routes.length > 0 && dialog.routes.every((r) => r.includes(`127.0.0.1:${b.sip};`)), 'node B record-routes; node A is out of the dialog');

  // The ACK and BYE still go to node A, as a load balancer in front of the nodes may send them: A hands them to B.
  pbx.peer.send(pbx.inDialog(dialog, 'ACK', { cseq: 1 }));
  t.equal((await atB.nextRequest('ACK')).headers['call-id'], invite.headers['call-id'], "the PBX's ACK reaches the phone");
  const [byeAnswers] = await Promise.all([
    pbx.send(pbx.inDialog(dialog, 'BYE')),
    atB.nextRequest('BYE').then((bye) => atB.reply(bye, 200, 'OK')),
  ]);
  t.equal(byeAnswers.at(-1)!.status, 200, "the PBX's BYE sent to node A reaches the phone at B, and its 200 comes back");

  b.proc.kill('SIGKILL');
  t.equal(await b.exited, null, 'node B is killed');
  await peerB.closed;
  const peerA = await RawPeer.tcp(a.sip);
  t.teardown(() => peerA.close());
  const atA = new Ua(peerA, '201', domain, contact);
  t.equal((await atA.register(creds.username, creds.password)).status, 200, 'the phone re-registers at node A');
  const after = await api(a, 'GET', `/extensions/${ext.body.id}/registrations`);
  t.equal(after.body.items.length, 1, 'one binding: the re-registration replaced the one through B');

  const [again] = await Promise.all([
    api(a, 'POST', `/extensions/${ext.body.id}/resync`, {}),
    atA.nextRequest('NOTIFY').then((n) => atA.reply(n, 200, 'OK')),
  ]);
  t.match(again.body.results, [{ status: 200 }], 'the resync reaches it at node A');
  const toA = pbx.request({ method: 'INVITE', uri: `sip:201@${domain}`, body: SDP });
  pbx.peer.send(toA.text);
  const second = await atA.nextRequest('INVITE');
  atA.reply(second, 486, 'Busy Here', { toTag: 'a1' });
  const busy = await finalAnswers(pbx);
  t.equal(busy.final.status, 486, 'and a call through A reaches it there');
  pbx.peer.send(pbx.ackFailure(toA.text, busy.final));
  t.equal((await atA.nextRequest('ACK')).headers['call-id'], toA.callId);
});
