import t from 'tap';
import type { BindingEvent, Registrar } from '../../daemon/sip/registrar/registrar';
import { issueNonce } from '../../daemon/sip/registrar/nonce';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { REDIS_URL, sipFixture } from '../helpers/sip';

/** The next event of that name about this contact of this AOR: a Redis store is shared, so other processes' bindings expire here too. */
function nextEvent(registrar: Registrar, type: BindingEvent['type'], aor: string, contact: RegExp): Promise<BindingEvent> {
  return new Promise((resolve) => {
    const listener = (e: BindingEvent) => {
      if (e.aor !== aor || !contact.test(e.contact)) return;
      registrar.events.off(type, listener);
      resolve(e);
    };
    registrar.events.on(type, listener);
  });
}

const stores: [string, Record<string, string> | null][] = [
  ['memory', {}],
  ['redis', REDIS_URL ? { DIALTONE_REDIS_URL: REDIS_URL } : null],
];

for (const [storeName, storeEnv] of stores) {
  t.test(`registrar over UDP (${storeName} store)`, { skip: storeEnv ? false : 'DIALTONE_TEST_REDIS_URL is unset' }, async (t) => {
    const f = await sipFixture(t, { ...storeEnv, DIALTONE_SIP_EXPIRES_MIN: '1', DIALTONE_SIP_LOCKOUT_USER: '3', DIALTONE_SIP_LOCKOUT_SOURCE: '1000000' });
    const registrar = (f.ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { registrar: Registrar } }).sip.registrar;
    const peer = await RawPeer.udp(f.ports.udp!);
    t.teardown(() => peer.close());
    const base = { domain: f.domain, user: f.extension.number };
    const aor = `${f.extension.number}@${f.domain}`;
    const auth = (challenge: Awaited<ReturnType<RawPeer['request']>>, extra: Partial<Parameters<typeof answer>[1]> = {}) =>
      answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}`, ...extra });

    t.test('challenges with MD5 then SHA-256, and accepts SHA-256 credentials', async (t) => {
      const challenge = await peer.request(registerText(peer, base));
      t.equal(challenge.status, 401);
      t.same(challenge.headers['www-authenticate']!.map((h) => h.algorithm), ['MD5', 'SHA-256']);
      const registered = nextEvent(registrar, 'registered', aor, new RegExp(`:${peer.localPort}$`));
      const ok = await peer.request(registerText(peer, { ...base, cseq: 2, authorization: auth(challenge, { algorithm: 'SHA-256' }) }));
      t.equal(ok.status, 200);
      t.match(ok.headers.contact, [{ uri: `sip:${f.extension.number}@127.0.0.1:${peer.localPort}`, params: { expires: /^(600|599)$/ } }]);
      const event = await registered;
      t.match(event, { type: 'registered', owner: { kind: 'extension', extensionId: f.extension.id, deviceId: null }, aor: `${f.extension.number}@${f.domain}`, userAgent: 'raw-peer', source: { transport: 'udp', address: '127.0.0.1', port: peer.localPort } });
    });

    t.test('a replayed Authorization is refused', async (t) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'replay', cseq: 1 }));
      const authorization = auth(challenge);
      t.equal((await peer.request(registerText(peer, { ...base, callId: 'replay', cseq: 2, authorization }))).status, 200);
      const again = await peer.request(registerText(peer, { ...base, callId: 'replay', cseq: 3, authorization }));
      t.equal(again.status, 401, 'the same nonce count again is challenged anew');
    });

    t.test('a retransmission over UDP gets the answer already given; the same bytes again over TCP are a new request', async (t) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'rtx', cseq: 1 }));
      const text = registerText(peer, { ...base, callId: 'rtx', cseq: 2, authorization: auth(challenge) });
      const first = await peer.request(text);
      t.equal(first.status, 200);
      t.equal((await peer.request(text)).status, 200, 'answered from memory, not refused as a replay');
      const tcp = await RawPeer.tcp(f.ports.tcp!);
      t.teardown(() => tcp.close());
      const tcpChallenge = await tcp.request(registerText(tcp, { ...base, callId: 'rtx-tcp', cseq: 1 }));
      const tcpText = registerText(tcp, { ...base, callId: 'rtx-tcp', cseq: 2, authorization: auth(tcpChallenge) });
      t.equal((await tcp.request(tcpText)).status, 200);
      t.equal((await tcp.request(tcpText)).status, 401, 'a stream does not retransmit: the registrar sees a replay');
    });

    t.test('a forged or foreign nonce is challenged, an expired one is stale', async (t) => {
      const challenge = await peer.request(registerText(peer, base));
      const forged = auth(challenge).replace(/nonce="[^"]+"/, 'nonce="1234"');
      const r = await peer.request(registerText(peer, { ...base, cseq: 10, authorization: forged }));
      t.equal(r.status, 401);
      t.equal(r.headers['www-authenticate']![0]!.stale, undefined);
    });

    t.test('an expired nonce of ours is answered stale=true, and a fresh one works', async (t) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'stale' }));
      const old = issueNonce(f.ta.app.runtime.secrets.derive('sip-nonce'), f.domain, Date.now() - 3_600_000);
      const authorization = auth(challenge).replace(/nonce="[^"]+"/, `nonce="${old}"`);
      const stale = await peer.request(registerText(peer, { ...base, callId: 'stale', cseq: 2, authorization }));
      t.equal(stale.status, 401);
      t.same(stale.headers['www-authenticate']!.map((h) => h.stale), ['true', 'true']);
      const ok = await peer.request(registerText(peer, { ...base, callId: 'stale', cseq: 3, authorization: auth(stale) }));
      t.equal(ok.status, 200);
    });

    t.test('too short an expiry gets 423 with Min-Expires, too long is shortened', async (t) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'exp' }));
      const brief = await peer.request(registerText(peer, { ...base, callId: 'exp', cseq: 2, expires: 0, contacts: ['<sip:x@127.0.0.1:9>;expires=0', '<sip:y@127.0.0.1:9>;expires=0'], authorization: auth(challenge) }));
      t.equal(brief.status, 200, 'expires=0 removes, which is allowed');
      const challenge2 = await peer.request(registerText(peer, { ...base, callId: 'exp2' }));
      const long = await peer.request(registerText(peer, { ...base, callId: 'exp2', cseq: 2, expires: 999999, contacts: ['<sip:long@127.0.0.1:9>'], authorization: auth(challenge2) }));
      t.equal(long.status, 200);
      t.match((long.headers.contact as { uri: string; params: { expires: string } }[]).find((c) => c.uri === 'sip:long@127.0.0.1:9'), { params: { expires: /^(3600|3599)$/ } });
    });

    t.test('the tenant comes from the To domain when the Request-URI names the registrar by address', async (t) => {
      const uri = `sip:127.0.0.1:${f.ports.udp}`;
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'by-ip', requestUri: uri }));
      t.equal(challenge.status, 401);
      const ok = await peer.request(registerText(peer, { ...base, callId: 'by-ip', cseq: 2, requestUri: uri, authorization: auth(challenge, { uri }) }));
      t.equal(ok.status, 200);
      const other = await peer.request(registerText(peer, { domain: 'nowhere.test', user: f.extension.number, callId: 'nowhere', cseq: 1 }));
      const refused = await peer.request(registerText(peer, { domain: 'nowhere.test', user: f.extension.number, callId: 'nowhere', cseq: 2, authorization: answer(other, { username: f.creds.username, password: f.creds.password, uri: 'sip:nowhere.test' }) }));
      t.equal(refused.status, 403, 'the same credentials under another domain are not that tenant\'s');
    });

    t.test('the credentials must belong to the address in To: by SIP username or by extension number', async (t) => {
      const other = { ...base, user: 'someone-else' };
      const c1 = await peer.request(registerText(peer, { ...other, callId: 'to-other' }));
      const refused = await peer.request(registerText(peer, { ...other, callId: 'to-other', cseq: 2, contacts: ['<sip:hijack@127.0.0.1:9>'], authorization: auth(c1) }));
      t.equal(refused.status, 403);
      t.match(refused.headers.warning, /do not belong to the address in To/);
      const regs = (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token })).body.items as { contact: string }[];
      t.notOk(regs.some((r) => r.contact === 'sip:hijack@127.0.0.1:9'), 'nothing was bound');
      const byUsername = { ...base, user: f.creds.username };
      const c2 = await peer.request(registerText(peer, { ...byUsername, callId: 'to-username' }));
      const ok = await peer.request(registerText(peer, { ...byUsername, callId: 'to-username', cseq: 2, authorization: auth(c2) }));
      t.equal(ok.status, 200, 'the SIP username in To is the same line');
    });

    t.test('OPTIONS is answered', async (t) => {
      const r = await peer.request(registerText(peer, base).replace(/REGISTER/g, 'OPTIONS'));
      t.equal(r.status, 200);
      t.match(r.headers.allow, /REGISTER/);
    });

    t.test('unregister one contact, then all', async (t) => {
      const regs = async () => (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token })).body.items as { contact: string }[];
      t.ok((await regs()).length >= 2);
      const c1 = await peer.request(registerText(peer, { ...base, callId: 'exp2', cseq: 3 }));
      const unregistered = nextEvent(registrar, 'unregistered', aor, /^sip:long@/);
      const one = await peer.request(registerText(peer, { ...base, callId: 'exp2', cseq: 4, contacts: ['<sip:long@127.0.0.1:9>'], expires: 0, authorization: auth(c1) }));
      t.equal(one.status, 200);
      t.match(await unregistered, { type: 'unregistered', reason: 'unregistered', contact: 'sip:long@127.0.0.1:9' });
      t.notOk((await regs()).some((r) => r.contact === 'sip:long@127.0.0.1:9'));
      const c2 = await peer.request(registerText(peer, { ...base, callId: 'all', cseq: 1 }));
      const bad = await peer.request(registerText(peer, { ...base, callId: 'all', cseq: 2, contacts: ['*'], expires: 3600, authorization: auth(c2) }));
      t.equal(bad.status, 400, 'Contact: * needs Expires: 0');
      const c3 = await peer.request(registerText(peer, { ...base, callId: 'all', cseq: 3 }));
      const all = await peer.request(registerText(peer, { ...base, callId: 'all', cseq: 4, contacts: ['*'], expires: 0, authorization: auth(c3) }));
      t.equal(all.status, 200);
      t.equal(all.headers.contact, undefined);
      t.same(await regs(), []);
    });

    t.test('a binding expires and is reported', async (t) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'short' }));
      const expired = nextEvent(registrar, 'expired', aor, /^sip:brief@/);
      t.equal((await peer.request(registerText(peer, { ...base, callId: 'short', cseq: 2, expires: 1, contacts: ['<sip:brief@127.0.0.1:9>'], authorization: auth(challenge) }))).status, 200);
      t.match(await expired, { type: 'expired', owner: { extensionId: f.extension.id }, contact: 'sip:brief@127.0.0.1:9', aor: `${f.extension.number}@${f.domain}` });
      const regs = await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token });
      t.same(regs.body.items, []);
    });

    t.test('a wrong password gets 403 and locks that user out, not others', async (t) => {
      const other = await f.ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number: '202', userId: (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}`, { token: f.token })).body.userId } });
      t.equal(other.status, 201);
      const otherCreds = (await f.ta.call('GET', `/api/v1/extensions/${other.body.id}/sip-credentials`, { token: f.token })).body;
      for (let i = 0; i < 3; i++) {
        const challenge = await peer.request(registerText(peer, { ...base, callId: `bad${i}` }));
        const r = await peer.request(registerText(peer, { ...base, callId: `bad${i}`, cseq: 2, authorization: auth(challenge, { password: 'wrong' }) }));
        t.equal(r.status, 403);
      }
      const challenge = await peer.request(registerText(peer, { ...base, callId: 'good' }));
      const locked = await peer.request(registerText(peer, { ...base, callId: 'good', cseq: 2, authorization: auth(challenge) }));
      t.equal(locked.status, 403, 'the right password is refused during the cool-down');
      t.match(locked.headers.warning, /too many failed attempts/);
      const oc = await peer.request(registerText(peer, { domain: f.domain, user: '202', callId: 'other' }));
      const ok = await peer.request(registerText(peer, { domain: f.domain, user: '202', callId: 'other', cseq: 2, authorization: answer(oc, { username: otherCreds.username, password: otherCreds.password, uri: `sip:${f.domain}` }) }));
      t.equal(ok.status, 200, 'another user from the same source still registers');
    });
  });
}
