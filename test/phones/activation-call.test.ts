import crypto from 'node:crypto';
import dgram from 'node:dgram';
import t from 'tap';
import sip, { type Message } from 'sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { sipFixture } from '../helpers/sip';
import { readOffer } from '../../daemon/activation/sdp';

const ACTIVATION_DOMAIN = 'activate.test';
const MAC = '805ec0aabbcc';

async function nextRequest(peer: RawPeer, method: string): Promise<Message> {
  for (;;) {
    const m = await peer.next();
    if (m.method === method) return m;
  }
}

function invite(peer: RawPeer, o: { from: string; target: string; callId: string; sdp?: string }): string {
  const body = o.sdp ?? '';
  return [
    `INVITE sip:${o.target}@${ACTIVATION_DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    `From: <sip:${o.from}@${ACTIVATION_DOMAIN}>;tag=ph${crypto.randomBytes(3).toString('hex')}`,
    `To: <sip:${o.target}@${ACTIVATION_DOMAIN}>`,
    `Call-ID: ${o.callId}`, 'CSeq: 1 INVITE', `Contact: <sip:${o.from}@127.0.0.1:${peer.localPort}>`, 'Max-Forwards: 70',
    ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
  ].join('\r\n');
}

function info(peer: RawPeer, ok: Message, seq: number, digit: string): string {
  const body = `Signal=${digit}\r\nDuration=160\r\n`;
  return [
    `INFO ${(ok.headers.contact as { uri: string }[])[0]!.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    `From: <${ok.headers.from!.uri}>;tag=${ok.headers.from!.params.tag}`, `To: <${ok.headers.to!.uri}>;tag=${ok.headers.to!.params.tag}`,
    `Call-ID: ${ok.headers['call-id']}`, `CSeq: ${seq} INFO`, 'Content-Type: application/dtmf-relay', `Content-Length: ${body.length}`, '', body,
  ].join('\r\n');
}

function rtpDigit(digit: string, timestamp: number, end: boolean): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(0x80, 0);
  b.writeUInt8(101, 1);
  b.writeUInt16BE(timestamp & 0xffff, 2);
  b.writeUInt32BE(timestamp, 4);
  b.writeUInt32BE(0x1234, 8);
  b.writeUInt8('0123456789*#'.indexOf(digit), 12);
  b.writeUInt8(end ? 0x8a : 0x0a, 13);
  b.writeUInt16BE(400, 14);
  return b;
}

t.test('a pending phone keys its activation code and comes back with its extension', async (t) => {
  const f = await sipFixture(t, { DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
  const ua = { 'user-agent': 'Yealink SIP-T46S 66.85.0.5 80:5e:c0:aa:bb:cc' };

  // The unknown phone boots and gets its activation configuration.
  const activation = await f.ta.call('GET', `/prov/${MAC}.cfg`, { headers: ua });
  t.equal(activation.status, 200);
  const conf = Object.fromEntries(activation.raw.split('\n').map((l) => l.split(' = ')).filter((kv) => kv.length === 2).map(([k, v]) => [k!.trim(), v!.trim()]));
  const user = conf['account.1.auth_name']!;
  const password = conf['account.1.password']!;
  t.equal(conf['account.1.sip_server.1.address'], ACTIVATION_DOMAIN);
  t.notOk(activation.raw.includes(f.creds.password), 'no extension secret in an activation file');

  const phone = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => phone.close());
  const challenge = await phone.request(registerText(phone, { domain: ACTIVATION_DOMAIN, user, cseq: 1 }));
  const registered = await phone.request(registerText(phone, { domain: ACTIVATION_DOMAIN, user, cseq: 2, authorization: answer(challenge, { username: user, password, uri: `sip:${ACTIVATION_DOMAIN}` }) }));
  t.equal(registered.status, 200, 'the pending phone registers with its activation identity');

  const code = (await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).body.code as string;
  const media = dgram.createSocket('udp4');
  await new Promise<void>((r) => media.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => media.close());
  const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${media.address().port} RTP/AVP 0 101`, 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n');

  const elsewhere = await phone.request(invite(phone, { from: user, target: '1234', callId: 'c0', sdp }));
  t.equal(elsewhere.status, 407, 'a call to another number is challenged');
  const withCredentials = invite(phone, { from: user, target: '1234', callId: 'c0', sdp }).replace('CSeq: 1 INVITE', `CSeq: 2 INVITE\r\nProxy-Authorization: ${answer(elsewhere, { username: user, password, uri: `sip:1234@${ACTIVATION_DOMAIN}`, method: 'INVITE' })}`);
  const refused = await phone.request(withCredentials);
  t.equal(refused.status, 403, 'activation credentials reach only the registration service number');
  t.equal((await phone.request(invite(phone, { from: user, target: '*8000', callId: 'c1' }))).status, 488, 'no SDP, no call');
  const stranger = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => stranger.close());
  const strangerAnswer = await stranger.request(invite(stranger, { from: user, target: '*8000', callId: 'c2', sdp }));
  t.equal(strangerAnswer.status, 403, 'a caller not registered from that address is refused');

  // First call: a wrong code three times over SIP INFO ends the call.
  const first = await phone.request(invite(phone, { from: user, target: '*8000', callId: 'c3', sdp }));
  t.equal(first.status, 200);
  let seq = 2;
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const digit of '0000000000') t.equal((await phone.request(info(phone, first, seq++, digit))).status, 200);
  }
  const bye1 = await nextRequest(phone, 'BYE');
  t.equal(bye1.headers['call-id'], 'c3', 'three wrong codes end the call');
  phone.send(sip.stringify(sip.makeResponse(bye1, 200, 'OK')));

  // Second call: the right code as RFC 4733 events, each repeated as phones do.
  const second = await phone.request(invite(phone, { from: user, target: '*8000', callId: 'c4', sdp }));
  t.equal(second.status, 200);
  const offerBack = readOffer(second.content ?? '');
  t.ok(offerBack, 'the answer carries SDP');
  let ts = 1000;
  for (const digit of code) {
    ts += 800;
    for (const end of [false, false, true, true, true]) media.send(rtpDigit(digit, ts, end), offerBack!.port, '127.0.0.1');
  }
  const bye2 = await nextRequest(phone, 'BYE');
  t.equal(bye2.headers['call-id'], 'c4');
  phone.send(sip.stringify(sip.makeResponse(bye2, 200, 'OK')));
  const reboot = await nextRequest(phone, 'NOTIFY');
  t.equal(reboot.headers.event, 'check-sync;reboot=true', 'the phone is told to reboot into its new configuration');
  phone.send(sip.stringify(sip.makeResponse(reboot, 200, 'OK')));

  const device = (await f.ta.call('GET', `/api/v1/devices?mac=${MAC}`, { token: f.token })).body.items[0];
  t.equal(device.extensionId, f.extension.id, 'the phone is bound to the extension of the code');
  const full = await f.ta.call('GET', `/prov/${MAC}.cfg`, { headers: ua });
  t.ok(full.status === 200 || full.status === 401, 'the full configuration now needs or carries the device credentials');
  const events = (await f.ta.call('GET', `/api/v1/devices/${device.id}/events`, { token: f.token })).body.items as { kind: string; result: string }[];
  t.ok(events.some((e) => e.kind === 'assigned' && e.result === 'activated'), 'the activation is in the timeline');
  t.ok(events.some((e) => e.kind === 'assigned' && e.result === 'refused'), 'so are the wrong codes');
  t.equal((await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).status, 404, 'the code is spent');
});
