import t from 'tap';
import type { Message } from 'sip';
import { openDatabase } from '../../daemon/storage/database';
import { MYSQL_URL } from '../helpers/databases';
import { SDP } from '../helpers/calls';
import { type Node, startCluster, until } from '../helpers/nodes';
import { RawPeer, answer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

/**
 * kill -9 of one of two nodes while phones register, fetch their files, call
 * and are called: the other node answers everything sent to it, and what the
 * killed node was writing is either whole or absent (one pending device per
 * MAC, one readable binding per phone).
 */
const skip = MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set';

/** A request to a node that may have been killed: its answer, or null when none came. */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  return Promise.race([p, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms).unref())]);
}

/**
 * The one reader of a peer's messages, so that one socket can place calls and answer them at once:
 * requests go to `onRequest`, answers to the request waiting for them by Call-ID.
 */
function dispatcher(peer: RawPeer, onRequest: (m: Message) => void) {
  const waiting = new Map<string, (m: Message) => void>();
  void (async () => {
    for (;;) {
      const m = await peer.next();
      if (m.method) onRequest(m);
      else if ((m.status ?? 0) >= 200) waiting.get(m.headers['call-id']!)?.(m);
    }
  })();
  return {
    /** Sends a request; its final answer, or null when none came within `ms`. */
    async final(text: string, callId: string, ms: number): Promise<Message | null> {
      const answered = new Promise<Message>((resolve) => waiting.set(callId, resolve));
      peer.send(text);
      const m = await within(answered, ms);
      waiting.delete(callId);
      return m;
    },
  };
}

/** Answers every INVITE as a busy phone or PBX does: 180, then 486. */
function busy(ua: Ua) {
  return (m: Message) => {
    if (m.method !== 'INVITE') return;
    ua.reply(m, 180, 'Ringing', { toTag: 'busy' });
    ua.reply(m, 486, 'Busy Here', { toTag: 'busy' });
  };
}

t.test('kill -9 of one of two nodes while phones register, fetch, call and are called: the other keeps serving, nothing half-written', { skip }, async (t) => {
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
  // 205 is called by the PBX and 206 calls out, both through node A, all through the kill.
  const ext: Record<string, { id: string; username: string; password: string }> = {};
  for (const n of [...numbers, '205', '206']) {
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

  const callee = await phoneAt('205', a);
  const caller = await phoneAt('206', a);
  for (const ua of [callee, caller]) t.equal((await ua.register(ext[ua.user]!.username, ext[ua.user]!.password)).status, 200, `${ua.user} registers at node A`);
  const pbxCalls = dispatcher(pbxPeer, busy(pbx));
  dispatcher(callee.peer, busy(callee));
  const callerCalls = dispatcher(caller.peer, () => {});

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
  // Calls through node A, one after another in each direction, from before the kill until after it, however fast the machine.
  const finals: Record<string, (number | 'none')[]> = { 'PBX to 205': [], '206 to the PBX': [] };
  const callsAround = async (name: string, one: () => Promise<Message | null>) => {
    for (let round = 0, after = 0; round < 6 || after < 3; round++) {
      if (killed) after++;
      await new Promise((r) => setTimeout(r, 50));
      finals[name]!.push((await one())?.status ?? 'none');
    }
  };
  const pbxCalling = callsAround('PBX to 205', async () => {
    const invite = pbx.request({ method: 'INVITE', uri: `sip:205@${domain}`, body: SDP });
    const final = await pbxCalls.final(invite.text, invite.callId, 10_000);
    if (final) pbx.peer.send(pbx.ackFailure(invite.text, final));
    return final;
  });
  const phoneCalling = callsAround('206 to the PBX', async () => {
    const uri = `sip:5551234@${domain}`;
    const first = caller.request({ method: 'INVITE', uri, body: SDP });
    const challenge = await callerCalls.final(first.text, first.callId, 10_000);
    if (challenge?.status !== 407) return challenge;
    caller.peer.send(caller.ackFailure(first.text, challenge));
    const auth = answer(challenge, { username: ext['206']!.username, password: ext['206']!.password, uri, method: 'INVITE' });
    const second = caller.request({ method: 'INVITE', uri, callId: first.callId, fromTag: first.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${auth}`] });
    const final = await callerCalls.final(second.text, second.callId, 10_000);
    if (final) caller.peer.send(caller.ackFailure(second.text, final));
    return final;
  });
  await new Promise((r) => setTimeout(r, 700));
  await until('a call each way to be answered', () => Object.values(finals).every((f) => f.length > 0));
  b.proc.kill('SIGKILL');
  killed = true;
  t.equal(await b.exited, null, 'node B is killed while phones register, fetch and call');
  await Promise.all([...registering, fetching, pbxCalling, phoneCalling]);
  for (const [name, list] of Object.entries(finals)) {
    t.ok(list.length >= 6, `${name}: ${list.length} calls through node A`);
    t.same([...new Set(list)], [486], `${name}: every one of them answered, by the phone or PBX called (busy)`);
  }

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
    const ua = phones[n]!;
    const [final] = await Promise.all([
      pbxCalls.final(invite.text, invite.callId, 10_000),
      ua.nextRequest('INVITE').then((rq) => ua.reply(rq, 486, 'Busy Here', { toTag: `t${n}` })),
    ]);
    t.equal(final?.status, 486, `a call through node A reaches ${n}`);
    if (final) pbx.peer.send(pbx.ackFailure(invite.text, final));
  }
});
