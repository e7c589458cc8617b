import t from 'tap';
import { openDatabase } from '../../daemon/storage/database';
import { MYSQL_URL } from '../helpers/databases';
import { SDP } from '../helpers/calls';
import { type Node, startCluster } from '../helpers/nodes';
import { RawPeer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

/**
 * kill -9 of one of two nodes while phones register, fetch their files and
 * are called: the other node answers everything sent to it, and what the
 * killed node was writing is either whole or absent (one pending device per
 * MAC, one readable binding per phone).
 */
const skip = MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set';

/** A request to a node that may have been killed: its answer, or null when none came. */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([p, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref())]);
}

t.test('kill -9 of one of two nodes while phones register, fetch and are called: the other keeps serving, nothing half-written', { skip }, async (t) => {
  let pbxTarget = 0;
  const pbxPeer = await RawPeer.udp(() => pbxTarget);
  t.teardown(() => pbxPeer.close());
  const cluster = await startCluster(t, { DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPeer.localPort};transport=udp`, DIALTONE_PROV_RATE_LIMIT: '1000' });
  const [a, b] = await Promise.all([cluster.start(), cluster.start()]) as [Node, Node];
  pbxTarget = a.sip;
  const domain = 'faults.sip.test';
  const pbx = new Ua(pbxPeer, 'pbx', domain);

  const call = async (node: Node, token: string, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${node.url}/api/v1${path}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: await r.json() as Record<string, any> };
  };
  const operator = cluster.cli(['token', 'create', '--operator']).token as string;
  const tenant = await call(a, operator, 'POST', '/tenants', { name: 'Faults', sipDomain: domain, admin: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@faults.test' } });
  const token = cluster.cli(['token', 'create', '--tenant', tenant.body.tenant.id]).token as string;
  const numbers = ['201', '202', '203', '204'];
  const ext: Record<string, { id: string; username: string; password: string }> = {};
  for (const n of numbers) {
    const e = await call(a, token, 'POST', '/extensions', { number: n, userId: tenant.body.admin.id });
    const c = await call(a, token, 'GET', `/extensions/${e.body.id}/sip-credentials`);
    ext[n] = { id: e.body.id, username: c.body.username, password: c.body.password };
  }
  const contact = (n: string) => `sip:${n}@127.0.0.1:4${n}0;transport=udp`;
  const phoneAt = async (n: string, node: Node) => {
    const peer = await RawPeer.udp(node.sip);
    t.teardown(() => peer.close());
    return new Ua(peer, n, domain, contact(n));
  };
  const phones: Record<string, Ua> = {};
  const atA = new Set(['201', '202']);
  for (const n of numbers) phones[n] = await phoneAt(n, atA.has(n) ? a : b);

  const answeredByA: number[] = [];
  const fetchedAtA: number[] = [];
  let killed = false;
  const macs = Array.from({ length: 24 }, (_, i) => `0015650fa${i.toString(16).padStart(3, '0')}`);

  // Every phone goes on registering until B is gone and a few rounds after, however fast the machine: the
  // kill must find B's phones registering, so that they move to A as a phone with a second SRV target would.
  const registering = numbers.map(async (n) => {
    for (let round = 0, after = 0; round < 12 || after < 4; round++) {
      if (killed) after++;
      await new Promise((r) => setTimeout(r, 50));
      const toA = atA.has(n);
      const answer = await within(phones[n]!.register(ext[n]!.username, ext[n]!.password), 3000);
      if (toA && answer) answeredByA.push(answer.status!);
      if (!answer && !toA) {
        // Node B went away mid-request: the phone tries the other node, as with a second DNS SRV target.
        phones[n] = await phoneAt(n, a);
        atA.add(n);
      }
    }
  });
  const fetching = (async () => {
    for (const [i, mac] of macs.entries()) {
      const node = i % 2 === 0 || killed ? a : b;
      const res = await within(fetch(`${node.url}/prov/${mac}.cfg`, { headers: { 'user-agent': 'Yealink SIP-T46S 66.85.0.5' } }).then((r) => r.status, () => 0), 3000);
      if (node === a) fetchedAtA.push(res ?? -1);
      if (node === b && res !== 200) await within(fetch(`${a.url}/prov/${mac}.cfg`, { headers: { 'user-agent': 'Yealink SIP-T46S 66.85.0.5' } }).then((r) => fetchedAtA.push(r.status)), 3000);
    }
  })();
  await new Promise((r) => setTimeout(r, 700));
  b.proc.kill('SIGKILL');
  killed = true;
  t.equal(await b.exited, null, 'node B is killed while phones register and fetch');
  await Promise.all([...registering, fetching]);

  t.ok(answeredByA.length >= 12, `node A answered registrations (${answeredByA.length})`);
  t.same([...new Set(answeredByA)], [200], 'every one of them 200');
  t.ok(fetchedAtA.length >= 12, `node A answered fetches (${fetchedAtA.length})`);
  t.same([...new Set(fetchedAtA)], [200], 'every one of them 200');

  for (const n of numbers) {
    const regs = await call(a, token, 'GET', `/extensions/${ext[n]!.id}/registrations`);
    t.equal(regs.status, 200);
    t.match(regs.body.items, [{ contact: contact(n) }], `${n}: one binding, whole and readable`);
    t.equal(regs.body.items.length, 1);
  }
  const knex = openDatabase(cluster.dbUrl);
  t.teardown(() => knex.close());
  const rows = await knex.knex('devices').whereIn('mac', macs).select('mac') as { mac: string }[];
  t.same(rows.map((r) => r.mac).sort(), [...macs].sort(), 'one pending device per MAC fetched, none lost or doubled');

  for (const n of numbers) {
    const invite = pbx.request({ method: 'INVITE', uri: `sip:${n}@${domain}`, body: SDP });
    pbx.peer.send(invite.text);
    const ua = phones[n]!;
    const rq = await ua.nextRequest('INVITE');
    ua.reply(rq, 486, 'Busy Here', { toTag: `t${n}` });
    let final;
    do final = await pbx.peer.next(); while ((final.status ?? 0) < 200);
    t.equal(final.status, 486, `a call through node A reaches ${n}`);
    pbx.peer.send(pbx.ackFailure(invite.text, final));
  }
});
