import crypto from 'node:crypto';
import dgram from 'node:dgram';
import sip, { type Message } from 'sip';
import t from 'tap';
import { readOffer } from '../../daemon/activation/sdp';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';
import { sipFixture } from '../helpers/sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';

/**
 * The SIP scenarios a phone lives through, on each engine: the built-in one,
 * dialtone's drachtio adapter on the stand-in, and on a real drachtio-server
 * when DRACHTIO_BIN names one (`npm run test:drachtio`).
 */
const ACTIVATION_DOMAIN = 'activate.test';
const MAC = '805ec0aabbcc';
const UA = { 'user-agent': 'Yealink SIP-T46S 66.85.0.5 80:5e:c0:aa:bb:cc' };

async function nextRequest(peer: RawPeer, method: string): Promise<Message> {
  for (;;) {
    const m = await peer.next();
    if (m.method === method) return m;
  }
}

function inviteText(peer: RawPeer, o: { from: string; callId: string; sdp: string }): string {
  return [
    `INVITE sip:*8000@${ACTIVATION_DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/${peer.transport} 127.0.0.1:${peer.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    `From: <sip:${o.from}@${ACTIVATION_DOMAIN}>;tag=ph${crypto.randomBytes(3).toString('hex')}`, `To: <sip:*8000@${ACTIVATION_DOMAIN}>`,
    `Call-ID: ${o.callId}`, 'CSeq: 1 INVITE', `Contact: <sip:${o.from}@127.0.0.1:${peer.localPort}>`, 'Max-Forwards: 70',
    'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(o.sdp)}`, '', o.sdp,
  ].join('\r\n');
}

function inDialogText(peer: RawPeer, ok: Message, method: string, seq: number, body = ''): string {
  return [
    `${method} ${(ok.headers.contact as { uri: string }[])[0]!.uri} SIP/2.0`,
    `Via: SIP/2.0/${peer.transport} 127.0.0.1:${peer.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    `From: <${ok.headers.from!.uri}>;tag=${ok.headers.from!.params.tag}`, `To: <${ok.headers.to!.uri}>;tag=${ok.headers.to!.params.tag}`,
    `Call-ID: ${ok.headers['call-id']}`, `CSeq: ${method === 'ACK' ? 1 : seq} ${method}`, 'Max-Forwards: 70',
    ...(body ? ['Content-Type: application/dtmf-relay'] : []), `Content-Length: ${body.length}`, '', body,
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

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`SIP scenarios on the ${name}`, { skip }, async (t) => {
    t.test('registrar: MD5 and SHA-256 challenges, a binding, and a lockout after wrong passwords', async (t) => {
      const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_SIP_LOCKOUT_USER: '3', DIALTONE_SIP_LOCKOUT_SOURCE: '1000000' });
      const peer = await RawPeer.udp(f.ports.udp!);
      t.teardown(() => peer.close());
      const base = { domain: f.domain, user: f.extension.number };
      const auth = (c: Message, password = f.creds.password) => answer(c, { username: f.creds.username, password, uri: `sip:${f.domain}`, algorithm: 'SHA-256' });
      const challenge = await peer.request(registerText(peer, base));
      t.equal(challenge.status, 401);
      t.same(challenge.headers['www-authenticate']!.map((h) => h.algorithm), ['MD5', 'SHA-256']);
      const ok = await peer.request(registerText(peer, { ...base, cseq: 2, authorization: auth(challenge) }));
      t.equal(ok.status, 200);
      const listed = await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token });
      t.match(listed.body.items, [{ contact: `sip:${f.extension.number}@127.0.0.1:${peer.localPort}`, transport: 'udp', source: `127.0.0.1:${peer.localPort}` }], 'the binding keeps the phone\'s own source');
      for (let i = 0; i < 3; i++) {
        const c = await peer.request(registerText(peer, { ...base, callId: `bad${i}` }));
        t.equal((await peer.request(registerText(peer, { ...base, callId: `bad${i}`, cseq: 2, authorization: auth(c, 'wrong') }))).status, 403);
      }
      const c = await peer.request(registerText(peer, { ...base, callId: 'good' }));
      const locked = await peer.request(registerText(peer, { ...base, callId: 'good', cseq: 2, authorization: auth(c) }));
      t.equal(locked.status, 403, 'the right password is refused during the cool-down');
      t.match(locked.headers.warning, /too many failed attempts/);
    });

    for (const transport of ['udp', 'tcp'] as const) {
      t.test(`resync reaches a phone registered over ${transport.toUpperCase()}`, async (t) => {
        const f = await sipFixture(t, await engineEnv(t, kind));
        const peer = transport === 'udp' ? await RawPeer.udp(f.ports.udp!) : await RawPeer.tcp(f.ports.tcp!);
        t.teardown(() => peer.close());
        const base = { domain: f.domain, user: f.extension.number, contacts: [`<sip:${f.extension.number}@127.0.0.1:${peer.localPort};transport=${transport}>`] };
        const challenge = await peer.request(registerText(peer, base));
        const ok = await peer.request(registerText(peer, { ...base, cseq: 2, authorization: answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` }) }));
        t.equal(ok.status, 200);
        const res = f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: { reboot: false } });
        const notify = await nextRequest(peer, 'NOTIFY');
        t.equal(notify.headers.event, 'check-sync;reboot=false');
        peer.send(sip.stringify(sip.makeResponse(notify, 200, 'OK')));
        t.match((await res).body, { results: [{ status: 200, source: { transport, port: peer.localPort } }] });
      });
    }

    t.test('two contacts with the same user and host, on UDP and on TCP: each request leaves on its own flow or not at all', async (t) => {
      const f = await sipFixture(t, await engineEnv(t, kind));
      const udp = await RawPeer.udp(f.ports.udp!);
      const tcp = await RawPeer.tcp(f.ports.tcp!);
      t.teardown(() => {
        udp.close();
        tcp.close();
      });
      for (const [peer, transport] of [[udp, 'udp'], [tcp, 'tcp']] as const) {
        const base = { domain: f.domain, user: f.extension.number, callId: `both-${transport}`, contacts: [`<sip:${f.extension.number}@127.0.0.1:${peer.localPort};transport=${transport}>`] };
        const challenge = await peer.request(registerText(peer, base));
        t.equal((await peer.request(registerText(peer, { ...base, cseq: 2, authorization: answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` }) }))).status, 200);
      }
      const got = { udp: 0, tcp: 0 };
      const answerAll = async (peer: RawPeer, transport: 'udp' | 'tcp') => {
        for (;;) {
          const m = await peer.next();
          if (m.method !== 'NOTIFY') continue;
          got[transport]++;
          peer.send(sip.stringify(sip.makeResponse(m, 200, 'OK')));
        }
      };
      void answerAll(udp, 'udp');
      void answerAll(tcp, 'tcp');
      const res = await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: {} });
      const byTransport = Object.fromEntries((res.body.results as { source: { transport: string }; status: number | null; reason: string }[]).map((r) => [r.source.transport, r]));
      t.equal(byTransport.tcp?.status, 200, 'the TCP contact is reached on its connection');
      t.equal(got.tcp, 1, 'and that connection carries its NOTIFY only');
      if (kind === 'builtin') {
        t.equal(byTransport.udp?.status, 200);
        t.equal(got.udp, 1);
      } else {
        t.equal(byTransport.udp?.status, null, 'drachtio-server would put the UDP contact\'s NOTIFY on the TCP connection, so it is not sent');
        t.match(byTransport.udp?.reason, /not sent: drachtio-server would send it on tcp:127\.0\.0\.1:/);
      }
    });

    t.test('activation: wrong codes by INFO, a hang-up by the phone, the right code by RFC 4733; BYE from both sides', async (t) => {
      const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
      const file = await f.ta.call('GET', `/prov/${MAC}.cfg`, { headers: UA });
      t.equal(file.status, 200);
      const conf = Object.fromEntries(file.raw.split('\n').map((l) => l.split(' = ')).filter((kv) => kv.length === 2).map(([k, v]) => [k!.trim(), v!.trim()]));
      const user = conf['account.1.auth_name']!;
      const phone = await RawPeer.udp(f.ports.udp!);
      t.teardown(() => phone.close());
      const challenge = await phone.request(registerText(phone, { domain: ACTIVATION_DOMAIN, user }));
      const registered = await phone.request(registerText(phone, { domain: ACTIVATION_DOMAIN, user, cseq: 2, authorization: answer(challenge, { username: user, password: conf['account.1.password']!, uri: `sip:${ACTIVATION_DOMAIN}` }) }));
      t.equal(registered.status, 200);
      const code = (await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).body.code as string;
      const media = dgram.createSocket('udp4');
      await new Promise<void>((r) => media.bind(0, '127.0.0.1', () => r()));
      t.teardown(() => media.close());
      const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${media.address().port} RTP/AVP 0 101`, 'a=rtpmap:101 telephone-event/8000', ''].join('\r\n');

      // Three wrong codes by SIP INFO: dialtone hangs up.
      const first = await phone.request(inviteText(phone, { from: user, callId: 'act-1', sdp }));
      t.equal(first.status, 200);
      phone.send(inDialogText(phone, first, 'ACK', 1));
      let seq = 2;
      let infos = 0;
      for (let i = 0; i < 30; i++) if ((await phone.request(inDialogText(phone, first, 'INFO', seq++, 'Signal=0\r\nDuration=160\r\n'))).status === 200) infos++;
      t.equal(infos, 30, 'every INFO digit is taken');
      const bye1 = await nextRequest(phone, 'BYE');
      t.match(bye1.headers, { 'call-id': 'act-1', from: { params: { tag: first.headers.to!.params.tag } } }, 'dialtone\'s BYE is inside the call');
      phone.send(sip.stringify(sip.makeResponse(bye1, 200, 'OK')));

      // The phone hangs up.
      const second = await phone.request(inviteText(phone, { from: user, callId: 'act-2', sdp }));
      t.equal(second.status, 200);
      phone.send(inDialogText(phone, second, 'ACK', 1));
      t.equal((await phone.request(inDialogText(phone, second, 'BYE', 2))).status, 200, 'the phone\'s BYE is answered');
      t.not((await phone.request(inDialogText(phone, second, 'INFO', 3, 'Signal=1\r\nDuration=160\r\n'))).status, 200, 'the call is over');

      // The right code as RFC 4733 events.
      const third = await phone.request(inviteText(phone, { from: user, callId: 'act-3', sdp }));
      t.equal(third.status, 200);
      phone.send(inDialogText(phone, third, 'ACK', 1));
      const offer = readOffer(third.content ?? '')!;
      let ts = 1000;
      for (const digit of code) {
        ts += 800;
        for (const end of [false, false, true, true, true]) media.send(rtpDigit(digit, ts, end), offer.port, '127.0.0.1');
      }
      const bye3 = await nextRequest(phone, 'BYE');
      t.equal(bye3.headers['call-id'], 'act-3');
      phone.send(sip.stringify(sip.makeResponse(bye3, 200, 'OK')));
      const reboot = await nextRequest(phone, 'NOTIFY');
      t.equal(reboot.headers.event, 'check-sync;reboot=true');
      phone.send(sip.stringify(sip.makeResponse(reboot, 200, 'OK')));
      const device = (await f.ta.call('GET', `/api/v1/devices?mac=${MAC}`, { token: f.token })).body.items[0];
      t.equal(device.extensionId, f.extension.id, 'the phone is bound to the code\'s extension');
    });
  });
}
