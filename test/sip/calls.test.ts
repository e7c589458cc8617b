import t from 'tap';
import type { Message, NameAddr } from 'sip';
import { SDP, authenticatedInvite, fixture, phone } from '../helpers/calls';
import { answer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';

/**
 * Calls through dialtone as the phones' edge proxy: phones registered on two
 * extensions, a PBX stand-in at DIALTONE_PBX_URI, every request and answer
 * on real sockets; on each engine (a real drachtio-server when DRACHTIO_BIN
 * names one, `npm run test:drachtio`).
 */
const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it has no proxy transactions, forking or B2BUA to relay calls with';

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`calls on the ${name}`, { skip: kind === 'standin' ? STANDIN_SKIP : skip }, async (t) => {
  /** drachtio-server relays a phone's call as a B2BUA (it cannot take the phone's credentials off a proxied request), and proxies the PBX's with its own Record-Route. */
  const drachtio = kind === 'drachtio';
  t.test('a phone calls the PBX through dialtone, and the PBX hangs up', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const a = await phone(t, f, '201', 'udp');
    const { callId } = await authenticatedInvite(t, f, a, '5551234');

    const invite = await f.pbx.nextRequest('INVITE');
    if (drachtio) {
      t.not(invite.headers['call-id'], callId, 'a call of its own on the B leg');
      t.equal(invite.headers.via!.length, 1, 'sent by drachtio-server, not relayed');
    } else {
      t.equal(invite.headers['call-id'], callId);
      t.equal(invite.headers.via!.length, 2, 'dialtone added its Via above the phone’s');
      const rr = (invite.headers['record-route'] as NameAddr[] | undefined) ?? [];
      t.equal(rr.length, 1, 'dialtone record-routes');
      t.match(JSON.stringify(rr[0]!.uri), /"ft":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"/, 'with a flow token');
    }
    t.match(String(invite.headers['p-asserted-identity']), new RegExp(`<sip:201@${f.domain}>`), 'the PBX is told who calls');
    t.notOk(invite.headers['proxy-authorization'], "dialtone's own credentials are not passed on");
    t.match(String(invite.headers.from?.uri), `201@${f.domain}`, 'from the calling extension');
    t.equal(invite.headers['x-dialtone-endpoint'], f.ext['201']!.username, 'and which extension, by the SIP username the PBX knows it by');
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
    t.equal(dialog.routes.length, drachtio ? 0 : 1, drachtio ? 'the A leg is drachtio-server\'s own dialog' : 'the 200 carries the Record-Route back');

    a.peer.send(a.inDialog(dialog, 'ACK', { cseq: 2 }));
    const ack = await f.pbx.nextRequest('ACK');
    t.equal(ack.headers['call-id'], invite.headers['call-id'], 'the ACK follows the route set to the PBX');

    const pbxDialog = Ua.dialogAsCallee(invite, 'pbx1');
    const [byeOk] = await Promise.all([
      f.pbx.send(f.pbx.inDialog(pbxDialog, 'BYE')),
      a.nextRequest('BYE').then((bye) => a.reply(bye, 200, 'OK')),
    ]);
    t.equal(byeOk.at(-1)!.status, 200, "the PBX's BYE reaches the phone and its 200 comes back");
  });

  t.test("inside a phone's call, its hold (a re-INVITE) and an INFO reach the PBX and the PBX's answers come back", async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const a = await phone(t, f, '201', 'udp');
    await authenticatedInvite(t, f, a, '5551234');
    const invite = await f.pbx.nextRequest('INVITE');
    f.pbx.reply(invite, 200, 'OK', { toTag: 'pbx2', body: SDP });
    let ok: Message | null = null;
    while (!ok) {
      const m = await a.peer.next();
      if ((m.status ?? 0) >= 200) ok = m;
    }
    const dialog = Ua.dialogAsCaller(ok, 2);
    a.peer.send(a.inDialog(dialog, 'ACK', { cseq: 2 }));
    await f.pbx.nextRequest('ACK');

    const held = SDP.replace('a=rtpmap:0 PCMU/8000\r\n', 'a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n');
    const withBody = (text: string, type: string, body: string) => text.replace('Content-Length: 0\r\n\r\n', `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // A re-INVITE names its Contact (RFC 3261 §12.2.1.1): drachtio-server answers one without it 400.
    const hold = withBody(a.inDialog(dialog, 'INVITE'), 'application/sdp', held).replace('Max-Forwards: 70\r\n', `Max-Forwards: 70\r\nContact: <${a.contact}>\r\n`);
    a.peer.send(hold);
    const reinvite = await f.pbx.nextRequest('INVITE');
    f.pbx.reply(reinvite, 200, 'OK', { toTag: 'pbx2', body: SDP.replace('40000', '40004') });
    let holdOk: Message | null = null;
    while (!holdOk) {
      const m = await a.peer.next();
      if ((m.status ?? 0) >= 200) holdOk = m;
    }
    t.match(reinvite.content, /a=sendonly/, 'the PBX sees the hold');
    t.equal(holdOk.status, 200);
    t.match(holdOk.content, /m=audio 40004 /, "the PBX's SDP answer comes back");
    a.peer.send(a.inDialog(dialog, 'ACK', { cseq: dialog.cseq }));
    await f.pbx.nextRequest('ACK');

    const info = withBody(a.inDialog(dialog, 'INFO'), 'application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n');
    const [infoAnswers] = await Promise.all([a.send(info), f.pbx.nextRequest('INFO').then((m) => {
      t.equal(m.content, 'Signal=5\r\nDuration=160\r\n', 'the INFO reaches the PBX with its body');
      f.pbx.reply(m, 200, 'OK');
    })]);
    t.equal(infoAnswers.at(-1)!.status, 200, "the PBX's answer comes back");
  });

  t.test('the PBX calls a phone on TCP, and the phone hangs up', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const b = await phone(t, f, '202', 'tcp');
    const inv = f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP });
    f.pbx.peer.send(inv.text);

    const invite = await b.nextRequest('INVITE');
    if (drachtio) t.equal(invite.uri, `sip:202@${f.domain}`, 'drachtio-server keeps the Request-URI the PBX sent (sent to the binding\'s address)');
    else t.equal(invite.uri, b.contact, 'the Request-URI is the registered Contact');
    t.equal(invite.headers.via![0]!.protocol, 'TCP', 'down the connection the phone registered on');
    const rr = (invite.headers['record-route'] as NameAddr[]).length;
    if (drachtio) t.equal(rr, 1, "drachtio-server's one Record-Route");
    else t.equal(rr, 2, 'two Record-Routes where the transports differ (RFC 5658)');
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

  t.test('the PBX calls an extension with two phones: both ring, the first 200 wins and the other is cancelled', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const desk = await phone(t, f, '202', 'udp');
    const soft = await phone(t, f, '202', 'tcp');
    f.pbx.peer.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text);
    const [atDesk, atSoft] = await Promise.all([desk.nextRequest('INVITE'), soft.nextRequest('INVITE')]);
    t.equal(atDesk.headers['call-id'], atSoft.headers['call-id'], 'both phones ring with the same call');
    soft.reply(atSoft, 180, 'Ringing', { toTag: 'soft' });
    desk.reply(atDesk, 200, 'OK', { toTag: 'desk', body: SDP });
    const cancel = await soft.nextRequest('CANCEL');
    soft.reply(cancel, 200, 'OK');
    soft.reply(atSoft, 487, 'Request Terminated', { toTag: 'soft' });
    let ok: Message | null = null;
    while (!ok) {
      const m = await f.pbx.peer.next();
      if ((m.status ?? 0) >= 200) ok = m;
    }
    t.equal(ok.status, 200, 'the PBX gets the answering phone\'s 200');
    t.equal(ok.headers.to!.params.tag, 'desk');
  });

  t.test('an extension with no phone registered: 302 to its forwarding rule, else 480', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const [moved] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:203@${f.domain}`, body: SDP }).text)).slice(-1);
    t.equal(moved!.status, 302);
    t.equal((moved!.headers.contact as NameAddr[])[0]!.uri, `sip:5550100@${f.domain}`, 'to the notRegistered destination');
    const [away] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:204@${f.domain}`, body: SDP }).text)).slice(-1);
    t.equal(away!.status, 480);
    const [unknown] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:299@${f.domain}`, body: SDP }).text)).slice(-1);
    t.equal(unknown!.status, 404, 'a number that is no extension');
    const metrics = await f.ta.call('GET', '/metrics', { token: f.ta.operatorToken });
    for (const status of ['302', '480', '404']) {
      t.match(metrics.raw, `dialtone_calls_total{direction="to-phone",status="${status}"} 1`, `calls are counted by direction and final status (${status})`);
    }
  });

  t.test("the PBX's qualify OPTIONS follow the registrations", async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    await phone(t, f, '201', 'udp');
    const [live] = await f.pbx.send(f.pbx.request({ method: 'OPTIONS', uri: `sip:201@${f.domain}` }).text);
    t.equal(live!.status, 200, 'a registered extension');
    const [gone] = await f.pbx.send(f.pbx.request({ method: 'OPTIONS', uri: `sip:204@${f.domain}` }).text);
    t.equal(gone!.status, 480, 'an extension with no phone');
  });

  t.test('calling permission: a refused call gets 403 with the reason, an internal call and an emergency call pass', async (t) => {
    const f = await fixture(t, await engineEnv(t, kind));
    const patched = await f.ta.call('PATCH', `/api/v1/extensions/${f.ext['201']!.id}`, { token: f.token, body: { externalCalling: 'internal' } });
    t.equal(patched.status, 200);
    const a = await phone(t, f, '201', 'udp');
    await authenticatedInvite(t, f, a, '3125550100');
    let refused: Message | null = null;
    while (!refused) {
      const m = await a.peer.next();
      if ((m.status ?? 0) >= 200) refused = m;
    }
    t.equal(refused.status, 403);
    t.equal(refused.reason, 'National Calls Not Allowed for This Extension', 'the reason phrase says why');

    await authenticatedInvite(t, f, a, '202');
    t.equal((await f.pbx.nextRequest('INVITE')).uri, `sip:202@${f.domain}`, 'a call to another extension goes to the PBX');
  });

  t.test("an emergency call reaches the PBX with the site's address as PIDF-LO, even from a locked-out user", async (t) => {
    const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_SIP_LOCKOUT_USER: '2' });
    const site = await f.ta.call('POST', '/api/v1/sites', {
      token: f.token,
      body: { name: 'HQ', timezone: 'America/Chicago', address: { street: '233 S Wacker Dr', city: 'Chicago', region: 'IL', postalCode: '60606', country: 'US' } },
    });
    t.equal(site.status, 201, site.raw);
    t.equal((await f.ta.call('PATCH', `/api/v1/extensions/${f.ext['201']!.id}`, { token: f.token, body: { siteId: site.body.id } })).status, 200);
    const a = await phone(t, f, '201', 'udp');

    // Two wrong passwords lock the user out for ordinary calls.
    for (let i = 0; i < 2; i++) {
      const sent = a.request({ method: 'INVITE', uri: `sip:5551234@${f.domain}`, body: SDP });
      const challenge = (await a.send(sent.text)).at(-1);
      a.peer.send(a.ackFailure(sent.text, challenge!));
      const bad = answer(challenge!, { username: f.ext['201']!.username, password: 'wrong', uri: `sip:5551234@${f.domain}`, method: 'INVITE' });
      const again = a.request({ method: 'INVITE', uri: `sip:5551234@${f.domain}`, callId: sent.callId, fromTag: sent.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${bad}`] });
      t.equal((await a.send(again.text)).at(-1)!.status, 403, 'a wrong password');
    }
    await authenticatedInvite(t, f, a, '5551234');
    let locked: Message | null = null;
    while (!locked) {
      const m = await a.peer.next();
      if ((m.status ?? 0) >= 200) locked = m;
    }
    t.equal(locked.status, 403, 'the locked-out user cannot place an ordinary call');

    await authenticatedInvite(t, f, a, '911');
    const invite = await f.pbx.nextRequest('INVITE');
    t.equal(invite.uri, `sip:911@${f.domain}`);
    t.match(String(invite.headers.geolocation), /^<cid:[A-Za-z0-9]+@[^>]+>$/, 'a Geolocation header points at the location');
    t.match(String(invite.headers['content-type']), /^multipart\/mixed;boundary=/);
    t.match(invite.content, /Content-Type: application\/sdp\r\n\r\nv=0/, "the phone's SDP is a part of its own");
    t.match(invite.content, /<ca:A1>IL<\/ca:A1>/);
    t.match(invite.content, /<ca:A3>Chicago<\/ca:A3>/);
    t.match(invite.content, /<ca:HNO>233<\/ca:HNO>/);
    t.match(invite.content, /<ca:PC>60606<\/ca:PC>/);
  });
  });
}
