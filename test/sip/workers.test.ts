import crypto from 'node:crypto';
import t from 'tap';
import type { BindingEvent } from '../../daemon/sip/registrar/registrar';
import type { SipComponent } from '../../daemon/sip/component';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { REDIS_URL, sipFixture } from '../helpers/sip';
import { startTestApp } from '../helpers/app';

const REGISTRATIONS = 60;

function invite(port: number): string {
  return [
    'INVITE sip:5550100@a.test SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    'From: <sip:201@a.test>;tag=1', 'To: <sip:5550100@a.test>', `Call-ID: ${crypto.randomBytes(6).toString('hex')}`, 'CSeq: 1 INVITE',
    'Max-Forwards: 70', 'Content-Length: 0', '', '',
  ].join('\r\n');
}

t.test('registrar workers share the UDP socket with the daemon', { skip: REDIS_URL ? false : 'DIALTONE_TEST_REDIS_URL is unset' }, async (t) => {
  const f = await sipFixture(t, { DIALTONE_REDIS_URL: REDIS_URL!, DIALTONE_SIP_WORKERS: '2', DIALTONE_SIP_MAX_CONTACTS: '100' });
  const component = f.ta.app.components.find((c) => c.name === 'sip') as SipComponent;
  const workers = component.workers!;
  t.equal(workers.pids().length, 2);
  const base = { domain: f.domain, user: f.extension.number };

  // Sixty phones on one extension at once: only the newest nonce counts for the address (nonce-count.ts), so
  // most are challenged again and, as phones do, answer the fresh challenge.
  const registerFrom = async (peer: RawPeer, callId: string) => {
    let challenge = await peer.request(registerText(peer, { ...base, callId }));
    for (let cseq = 2; ; cseq++) {
      const authorization = answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` });
      const r = await peer.request(registerText(peer, { ...base, callId, cseq, authorization }));
      if (r.status !== 401 || cseq > REGISTRATIONS) return r;
      challenge = r;
    }
  };

  t.test('every registration succeeds, and each one is reported in the daemon', async (t) => {
    const events: BindingEvent[] = [];
    const listener = (e: BindingEvent) => events.push(e);
    component.sip.registrar.events.on('registered', listener);
    t.teardown(() => component.sip.registrar.events.off('registered', listener));
    const peers = await Promise.all(Array.from({ length: REGISTRATIONS }, () => RawPeer.udp(f.ports.udp!)));
    t.teardown(() => peers.forEach((p) => p.close()));
    const answers = await Promise.all(peers.map((p, i) => registerFrom(p, `storm-${i}`)));
    t.same(answers.map((a) => a.status), Array(REGISTRATIONS).fill(200));
    const regs = (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token })).body.items as unknown[];
    t.equal(regs.length, REGISTRATIONS, 'the bindings the workers stored are the daemon\'s too (one Redis)');
    await t.resolves(waitFor(() => events.length >= REGISTRATIONS), 'a registered event per new contact');
    t.ok(workers.relayed.events > 0, `the workers answered some (${workers.relayed.events} of ${REGISTRATIONS})`);
  });

  t.test('what a worker does not answer is handed to the daemon', async (t) => {
    const peer = await RawPeer.udp(f.ports.udp!);
    t.teardown(() => peer.close());
    const before = workers.relayed.datagrams;
    for (let i = 0; i < 20; i++) {
      const r = await peer.request(invite(peer.localPort));
      t.equal(r.status, 407, "the daemon's call router challenges an INVITE from a phone");
    }
    t.ok(workers.relayed.datagrams > before, 'some INVITEs came through a worker');
  });

  t.test('a worker that dies is replaced', async (t) => {
    const [victim] = workers.pids();
    process.kill(victim!, 'SIGKILL');
    await t.resolves(waitFor(() => workers.pids().length === 2 && !workers.pids().includes(victim!), 10_000));
    const peer = await RawPeer.udp(f.ports.udp!);
    t.teardown(() => peer.close());
    t.equal((await registerFrom(peer, 'after-crash')).status, 200);
  });
});

t.test('workers without Redis, or without the built-in UDP engine, are refused at start', async (t) => {
  await t.rejects(startTestApp(t, 'sqlite', { env: { DIALTONE_SIP_WORKERS: '2' } }), /DIALTONE_SIP_WORKERS: .*DIALTONE_REDIS_URL/);
  await t.rejects(
    startTestApp(t, 'sqlite', { env: { DIALTONE_SIP_WORKERS: '1', DIALTONE_REDIS_URL: 'redis://127.0.0.1:1/', DIALTONE_SIP_TRANSPORTS: 'tcp' } }),
    /DIALTONE_SIP_WORKERS: .*udp/,
  );
});

async function waitFor(ok: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
