import t, { type Test } from 'tap';
import type { Message, NameAddr } from 'sip';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { RawPeer, answer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

/**
 * Calls through dialtone as the phones' edge proxy: phones registered on two
 * extensions, a PBX stand-in at DIALTONE_PBX_URI, every request and answer
 * on real sockets.
 */
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

interface CallFixture {
  ta: TestApp;
  domain: string;
  token: string;
  port: number;
  pbx: Ua;
  ext: Record<string, { id: string; username: string; password: string }>;
}

async function fixture(t: Test, env: Record<string, string> = {}): Promise<CallFixture> {
  let port = 0;
  const pbxPeer = await RawPeer.udp(() => port);
  t.teardown(() => pbxPeer.close());
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPeer.localPort};transport=udp`, DIALTONE_SIP_TRANSPORTS: 'udp,tcp', ...env } });
  await ta.app.listen();
  const sipc = ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { engine: { addresses(): { udp?: number } } } };
  port = sipc.sip.engine.addresses().udp!;
  const domain = `calls${Math.random().toString(36).slice(2, 8)}.test`;
  const { admin, token } = await makeTenant(ta, domain);
  const ext: CallFixture['ext'] = {};
  for (const [number, settings] of [['201', {}], ['202', {}], ['203', { forwarding: [{ condition: 'notRegistered', destination: '5550100' }] }], ['204', {}]] as const) {
    const e = await ta.call('POST', '/api/v1/extensions', { token, body: { number, userId: admin.id, ...settings } });
    if (e.status !== 201) throw new Error(`extension ${number}: ${e.status} ${e.raw}`);
    const c = await ta.call('GET', `/api/v1/extensions/${e.body.id}/sip-credentials`, { token });
    ext[number] = { id: e.body.id, username: c.body.username, password: c.body.password };
  }
  return { ta, domain, token, port, pbx: new Ua(pbxPeer, 'pbx', domain), ext };
}

async function phone(t: Test, f: CallFixture, number: string, transport: 'udp' | 'tcp'): Promise<Ua> {
  const peer = transport === 'udp' ? await RawPeer.udp(f.port) : await RawPeer.tcp(f.port);
  t.teardown(() => peer.close());
  const ua = new Ua(peer, number, f.domain);
  const ok = await ua.register(f.ext[number]!.username, f.ext[number]!.password);
  t.equal(ok.status, 200, `${number} registers over ${transport}`);
  return ua;
}

/** A phone's INVITE: challenged with 407, then sent again with Proxy-Authorization. */
async function authenticatedInvite(t: Test, f: CallFixture, ua: Ua, dialed: string): Promise<{ answers: Message[]; callId: string }> {
  const uri = `sip:${dialed}@${f.domain}`;
  const first = ua.request({ method: 'INVITE', uri, body: SDP });
  const [challenge] = await ua.send(first.text);
  t.equal(challenge!.status, 407, 'the phone is challenged as a proxy challenges');
  ua.peer.send(ua.ackFailure(first.text, challenge!));
  const creds = f.ext[ua.user]!;
  const auth = answer(challenge!, { username: creds.username, password: creds.password, uri, method: 'INVITE' });
  const second = ua.request({ method: 'INVITE', uri, callId: first.callId, fromTag: first.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${auth}`] });
  ua.peer.send(second.text);
  return { answers: [], callId: first.callId };
}

t.test('a phone calls the PBX through dialtone, and the PBX hangs up', async (t) => {
  const f = await fixture(t);
  const a = await phone(t, f, '201', 'udp');
  const { callId } = await authenticatedInvite(t, f, a, '5551234');

  const invite = await f.pbx.nextRequest('INVITE');
  t.equal(invite.headers['call-id'], callId);
  t.match(String(invite.headers['p-asserted-identity']), new RegExp(`<sip:201@${f.domain}>`), 'the PBX is told who calls');
  t.notOk(invite.headers['proxy-authorization'], "dialtone's own credentials are not passed on");
  t.equal(invite.headers.via!.length, 2, 'dialtone added its Via above the phone’s');
  const rr = (invite.headers['record-route'] as NameAddr[] | undefined) ?? [];
  t.equal(rr.length, 1, 'dialtone record-routes');
  t.match(JSON.stringify(rr[0]!.uri), /"ft":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"/, 'with a flow token');
  t.equal(invite.content, SDP, 'the SDP is untouched');

  f.pbx.reply(invite, 180, 'Ringing', { toTag: 'pbx1' });
  f.pbx.reply(invite, 200, 'OK', { toTag: 'pbx1', body: SDP });
  const answers: Message[] = [];
  for (;;) {
    const m = await a.peer.next();
    if (m.status === undefined) continue;
    answers.push(m);
    if (m.status >= 200) break;
  }
  t.same(answers.map((m) => m.status), [100, 180, 200], 'the phone hears Trying, Ringing, OK');
  const ok = answers[2]!;
  const dialog = Ua.dialogAsCaller(ok, 2);
  t.equal(dialog.routes.length, 1, 'the 200 carries the Record-Route back');

  a.peer.send(a.inDialog(dialog, 'ACK', { cseq: 2 }));
  const ack = await f.pbx.nextRequest('ACK');
  t.equal(ack.headers['call-id'], callId, 'the ACK follows the route set to the PBX');

  const pbxDialog = Ua.dialogAsCallee(invite, 'pbx1');
  const [byeOk] = await Promise.all([
    f.pbx.send(f.pbx.inDialog(pbxDialog, 'BYE')),
    a.nextRequest('BYE').then((bye) => a.reply(bye, 200, 'OK')),
  ]);
  t.equal(byeOk.at(-1)!.status, 200, "the PBX's BYE reaches the phone and its 200 comes back");
});

t.test('the PBX calls a phone on TCP, and the phone hangs up', async (t) => {
  const f = await fixture(t);
  const b = await phone(t, f, '202', 'tcp');
  const inv = f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP });
  f.pbx.peer.send(inv.text);

  const invite = await b.nextRequest('INVITE');
  t.equal(invite.uri, b.contact, 'the Request-URI is the registered Contact');
  t.equal(invite.headers.via![0]!.protocol, 'TCP', 'down the connection the phone registered on');
  const rr = (invite.headers['record-route'] as NameAddr[]).length;
  t.equal(rr, 2, 'two Record-Routes where the transports differ (RFC 5658)');
  b.reply(invite, 180, 'Ringing', { toTag: 'b1' });
  b.reply(invite, 200, 'OK', { toTag: 'b1', body: SDP });

  const statuses: number[] = [];
  let ok: Message | null = null;
  while (!ok) {
    const m = await f.pbx.peer.next();
    if (m.status === undefined) continue;
    statuses.push(m.status);
    if (m.status >= 200) ok = m;
  }
  t.same(statuses, [100, 180, 200]);
  const pbxDialog = Ua.dialogAsCaller(ok, 1);
  f.pbx.peer.send(f.pbx.inDialog(pbxDialog, 'ACK', { cseq: 1 }));
  await b.nextRequest('ACK');
  t.pass('the ACK reaches the phone');

  const phoneDialog = Ua.dialogAsCallee(invite, 'b1');
  const [byeOk] = await Promise.all([
    b.send(b.inDialog(phoneDialog, 'BYE')),
    f.pbx.nextRequest('BYE').then((bye) => f.pbx.reply(bye, 200, 'OK')),
  ]);
  t.equal(byeOk.at(-1)!.status, 200, "the phone's BYE reaches the PBX and its 200 comes back");
});

t.test('an extension with no phone registered: 302 to its forwarding rule, else 480', async (t) => {
  const f = await fixture(t);
  const [moved] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:203@${f.domain}`, body: SDP }).text)).slice(-1);
  t.equal(moved!.status, 302);
  t.equal((moved!.headers.contact as NameAddr[])[0]!.uri, `sip:5550100@${f.domain}`, 'to the notRegistered destination');
  const [away] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:204@${f.domain}`, body: SDP }).text)).slice(-1);
  t.equal(away!.status, 480);
  const [unknown] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:299@${f.domain}`, body: SDP }).text)).slice(-1);
  t.equal(unknown!.status, 404, 'a number that is no extension');
});

t.test("the PBX's qualify OPTIONS follow the registrations", async (t) => {
  const f = await fixture(t);
  await phone(t, f, '201', 'udp');
  const [live] = await f.pbx.send(f.pbx.request({ method: 'OPTIONS', uri: `sip:201@${f.domain}` }).text);
  t.equal(live!.status, 200, 'a registered extension');
  const [gone] = await f.pbx.send(f.pbx.request({ method: 'OPTIONS', uri: `sip:204@${f.domain}` }).text);
  t.equal(gone!.status, 480, 'an extension with no phone');
});
