import t from 'tap';
import type { Message } from 'sip';
import type { BuiltinEngine } from '../../daemon/sip/builtin/engine';
import { SDP, authenticatedInvite, fixture, phone } from '../helpers/calls';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';
import { RawPeer, answer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

/** Calls through dialtone when peers misbehave: forged PBXs, stolen credentials, loops, calls nobody answers, phones that vanish. */

async function finalOf(ua: Ua): Promise<Message> {
  for (;;) {
    const m = await ua.peer.next();
    if ((m.status ?? 0) >= 200) return m;
  }
}

const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it relays no calls';

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`hostile peers on the ${name}`, { skip: kind === 'standin' ? STANDIN_SKIP : skip }, async (t) => {
  t.test("an INVITE from the PBX's address but another port is a phone's: challenged, and no phone rings", async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const b = await phone(t, f, '202', 'udp');
    const forger = new Ua(await RawPeer.udp(f.port), 'pbx', f.domain);
    t.teardown(() => forger.peer.close());
    const reply = (await forger.send(forger.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text)).at(-1);
    t.equal(reply!.status, 407);
    const rang = await Promise.race([b.nextRequest('INVITE').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    t.notOk(rang, 'the phone never hears of it');
  });

  t.test("a phone cannot name another extension to the PBX: its own X-Dialtone-Endpoint is not who the PBX is told calls", async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const a = await phone(t, f, '201', 'udp');
    const other = f.ext['202']!.username;
    // Phone 201 claims 202 in the header the PBX identifies extensions by.
    const uri = `sip:5551234@${f.domain}`;
    const first = a.request({ method: 'INVITE', uri, body: SDP, headers: [`X-Dialtone-Endpoint: ${other}`] });
    const challenge = (await a.send(first.text)).at(-1);
    t.equal(challenge!.status, 407);
    a.peer.send(a.ackFailure(first.text, challenge!));
    const auth = answer(challenge!, { username: f.ext['201']!.username, password: f.ext['201']!.password, uri, method: 'INVITE' });
    a.peer.send(a.request({ method: 'INVITE', uri, callId: first.callId, fromTag: first.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${auth}`, `X-Dialtone-Endpoint: ${other}`] }).text);
    const forged = await f.pbx.nextRequest('INVITE');
    t.equal(forged.headers['x-dialtone-endpoint'], f.ext['201']!.username, "the PBX hears the authenticated extension, not the phone's claim");
    f.pbx.reply(forged, 486, 'Busy Here', { toTag: 'busy2' });
    t.equal((await finalOf(a)).status, 486);
  });

  t.test('a stolen Proxy-Authorization replayed in another call is challenged again', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const a = await phone(t, f, '201', 'udp');
    const { sent } = await authenticatedInvite(t, f, a, '5551234');
    const invite = await f.pbx.nextRequest('INVITE');
    f.pbx.reply(invite, 486, 'Busy Here', { toTag: 'busy' });
    t.equal((await finalOf(a)).status, 486, 'the first call went through');
    const thief = new Ua(await RawPeer.udp(f.port), '201', f.domain);
    t.teardown(() => thief.peer.close());
    const replayed = sent.replace(/Call-ID: \S+/, 'Call-ID: stolen-1').replace(/branch=z9hG4bK\w+/, 'branch=z9hG4bKthief1');
    const again = (await thief.send(replayed)).at(-1);
    t.equal(again!.status, 407, 'the same nonce and count do not authenticate twice');
  });

  t.test('Max-Forwards 0 gets 483, a bad one 400, and a request that comes round again 482', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const a = await phone(t, f, '201', 'udp');
    const zero = a.request({ method: 'INVITE', uri: `sip:5551234@${f.domain}`, body: SDP }).text.replace('Max-Forwards: 70', 'Max-Forwards: 0');
    t.equal((await a.send(zero)).at(-1)!.status, 483);
    const junk = a.request({ method: 'INVITE', uri: `sip:5551234@${f.domain}`, body: SDP }).text.replace('Max-Forwards: 70', 'Max-Forwards: -3');
    t.equal((await a.send(junk)).at(-1)!.status, 400);

    // A request dialtone relayed as it was (a phone's call to the PBX; on drachtio-server, which relays those as a B2BUA, the PBX's call to a phone).
    let invite: Message;
    if (kind === 'drachtio') {
      const b = await phone(t, f, '202', 'udp');
      f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text);
      invite = await b.nextRequest('INVITE');
    } else {
      await authenticatedInvite(t, f, a, '5551234');
      invite = await f.pbx.nextRequest('INVITE');
    }
    // The PBX sends the very request relayed back to dialtone, as a misrouting PBX would.
    const raw = [`INVITE ${invite.uri} SIP/2.0`, `Via: ${f.pbx.via()}`,
      ...invite.headers.via!.map((v) => `Via: SIP/2.0/${v.protocol} ${v.host}:${v.port}${Object.entries(v.params).map(([k, x]) => (x === null ? `;${k}` : `;${k}=${x}`)).join('')}`),
      `From: <${invite.headers.from!.uri}>;tag=${invite.headers.from!.params.tag}`, `To: <${invite.headers.to!.uri}>`,
      `Call-ID: ${invite.headers['call-id']}`, `CSeq: ${invite.headers.cseq!.seq} INVITE`, 'Max-Forwards: 60', 'Content-Length: 0', '', ''].join('\r\n');
    t.equal((await f.pbx.send(raw)).at(-1)!.status, 482, 'a loop, not a spiral');
  });

  t.test('CANCEL from the PBX reaches the ringing phone; a CANCEL racing the 200 leaves the call up', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const b = await phone(t, f, '202', 'udp');
    const first = f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP });
    f.pbx.peer.send(first.text);
    const ringing = await b.nextRequest('INVITE');
    b.reply(ringing, 180, 'Ringing', { toTag: 'r1' });
    await f.pbx.peer.next();
    await f.pbx.peer.next();
    const cancel = first.text.replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type[^\r]*\r\n/, '').replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n');
    f.pbx.peer.send(cancel);
    const cancelled = await b.nextRequest('CANCEL');
    b.reply(cancelled, 200, 'OK');
    b.reply(ringing, 487, 'Request Terminated', { toTag: 'r1' });
    const seen: number[] = [];
    while (!seen.includes(487)) seen.push((await f.pbx.peer.next()).status ?? 0);
    t.ok(seen.includes(200) && seen.includes(487), 'the PBX gets 200 for its CANCEL and 487 for the INVITE');
    t.ok((await b.nextRequest('ACK')).headers.to!.params.tag, 'dialtone ACKs the 487 to the phone itself');

    const second = f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP });
    f.pbx.peer.send(second.text);
    const racing = await b.nextRequest('INVITE');
    b.reply(racing, 200, 'OK', { toTag: 'r2', body: SDP });
    f.pbx.peer.send(second.text.replace(/^INVITE/, 'CANCEL').replace('CSeq: 1 INVITE', 'CSeq: 1 CANCEL').replace(/Content-Type[^\r]*\r\n/, '').replace(/Content-Length: \d+\r\n\r\n[\s\S]*$/, 'Content-Length: 0\r\n\r\n'));
    // The CANCEL gets 200, or 481 where the INVITE's transaction has already ended (drachtio-server).
    const finals = new Map<string, number>();
    while (!finals.has('INVITE') || !finals.has('CANCEL')) {
      const m = await f.pbx.peer.next();
      if ((m.status ?? 0) >= 200) finals.set(m.headers.cseq!.method, m.status!);
    }
    t.equal(finals.get('INVITE'), 200, 'the 200 of the INVITE reaches the PBX, the answered call not torn down by the late CANCEL');
  });

  const STATELESS = kind === 'drachtio' && 'drachtio-server forwards requests inside a call statelessly: a BYE towards a vanished phone is dropped there, and the PBX\'s own timer ends it';
  t.test('a phone that vanishes mid-call: the BYE towards it gets 480 at once', { skip: STATELESS }, async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const b = await phone(t, f, '202', 'tcp');
    f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text);
    const invite = await b.nextRequest('INVITE');
    b.reply(invite, 200, 'OK', { toTag: 'gone', body: SDP });
    const ok = await f.pbx.peer.nextWithStatus(200);
    const dialog = Ua.dialogAsCaller(ok, 1);
    f.pbx.peer.send(f.pbx.inDialog(dialog, 'ACK', { cseq: 1 }));
    await b.nextRequest('ACK');
    b.peer.close();
    await b.peer.closed;
    const answers = await f.pbx.send(f.pbx.inDialog(dialog, 'BYE'));
    t.equal(answers.at(-1)!.status, 480, 'not a 30-second wait for a phone that is not there');
  });
  });
}

t.test('1,000 calls that ring and are never answered end by Timer C, and nothing is left behind', async (t) => {
  const f = await fixture(t, { DIALTONE_SIP_TIMER_C: '1' });
  const b = await phone(t, f, '202', 'udp');
  const CALLS = 1000;
  // The phone rings for every call and, as phones do, answers a CANCEL with 200 and the INVITE with 487.
  void (async () => {
    for (;;) {
      const m = await b.peer.next().catch(() => null);
      if (!m) return;
      if (m.method === 'INVITE') b.reply(m, 180, 'Ringing', { toTag: `t${m.headers['call-id']}` });
      if (m.method === 'CANCEL') {
        b.reply(m, 200, 'OK');
        b.reply({ ...m, method: 'INVITE', headers: { ...m.headers, cseq: { seq: m.headers.cseq!.seq, method: 'INVITE' } } }, 487, 'Request Terminated', { toTag: `t${m.headers['call-id']}` });
      }
    }
  })();
  const finals = new Map<string, number>();
  for (let i = 0; i < CALLS; i++) f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, callId: `timer-c-${i}`, body: SDP }).text);
  while (finals.size < CALLS) {
    const m = await f.pbx.peer.next();
    if ((m.status ?? 0) >= 200) finals.set(m.headers['call-id']!, m.status!);
  }
  t.same([...new Set(finals.values())], [408], 'every unanswered call ends 408 Request Timeout');
  const sip = f.ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { engine: BuiltinEngine } };
  const deadline = Date.now() + 45_000;
  while (sip.sip.engine.pendingRelays() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  t.equal(sip.sip.engine.pendingRelays(), 0, 'every relayed call is forgotten once its answer has been kept long enough');
});
