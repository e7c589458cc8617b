import sip, { type Message } from 'sip';
import t from 'tap';
import { TestPhone } from '../helpers/phone';
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

async function nextRequest(peer: RawPeer, method: string): Promise<Message> {
  for (;;) {
    const m = await peer.next();
    if (m.method === method) return m;
  }
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

    t.test('activation: wrong codes by INFO and RFC 4733, a hang-up by the phone, the right code by RFC 4733; BYE from both sides', async (t) => {
      const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
      const phone = await TestPhone.boot(t, f, MAC);
      const code = (await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).body.code as string;

      // Three wrong codes: dialtone says goodbye and hangs up, with a BYE inside the call.
      const first = await phone.dial('act-1');
      t.equal(first.status, 200, 'the registration service answers (after its 407)');
      t.same(await phone.keyInfo('0000000000'), new Array(10).fill(200), 'every INFO digit is taken');
      await phone.keyEvents('1111111111');
      await phone.keyEvents('2222222222');
      const bye1 = await phone.next('BYE');
      t.match(bye1.headers, { 'call-id': 'act-1', from: { params: { tag: first.headers.to!.params.tag } } }, "dialtone's BYE is inside the call");

      // The phone hangs up.
      const second = await phone.dial('act-2');
      t.equal(second.status, 200);
      t.equal((await phone.sip.request(phone.inDialog('BYE'))).status, 200, "the phone's BYE is answered");
      t.not((await phone.sip.request(phone.inDialog('INFO', { body: 'Signal=1\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' }))).status, 200, 'the call is over');

      // The right code as RFC 4733 events.
      t.equal((await phone.dial('act-3')).status, 200);
      await phone.keyEvents(code);
      const bye3 = await phone.next('BYE');
      t.equal(bye3.headers['call-id'], 'act-3');
      const reboot = await phone.next('NOTIFY');
      t.equal(reboot.headers.event, 'check-sync;reboot=true');
      const device = (await f.ta.call('GET', `/api/v1/devices?mac=${MAC}`, { token: f.token })).body.items[0];
      t.equal(device.extensionId, f.extension.id, "the phone is bound to the code's extension");
    });
  });
}
