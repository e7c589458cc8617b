import crypto from 'node:crypto';
import Redis from 'ioredis';
import t from 'tap';
import type { BindingEvent } from '../../daemon/sip/registrar/registrar';
import type { SipComponent } from '../../daemon/sip/component';
import { CHANGE_CHANNEL, decodeChange } from '../../daemon/ops/change-relay';
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
  // Failures (the rotated credentials below) count per source address in the shared Redis: this test's must neither lock it out nor linger for others.
  const f = await sipFixture(t, { DIALTONE_REDIS_URL: REDIS_URL!, DIALTONE_SIP_WORKERS: '2', DIALTONE_SIP_MAX_CONTACTS: '100', DIALTONE_SIP_LOCKOUT_SOURCE: '1000000', DIALTONE_SIP_LOCKOUT_SECONDS: '1' });
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

  t.test('credentials rotated in the daemon are refused by every worker once the change is announced', async (t) => {
    const old = f.creds;
    // The announcement reaches this listener in the same PUBLISH as the workers': past it, it is theirs to read.
    const listener = new Redis(REDIS_URL);
    t.teardown(() => listener.disconnect());
    await listener.subscribe(CHANGE_CHANNEL);
    const announced = new Promise<void>((resolve) => listener.on('message', (_channel: string, message: string) => {
      const heard = decodeChange(message);
      if ('change' in heard && heard.change.kind === 'extension' && heard.change.id === f.extension.id && heard.change.action === 'credentials') resolve();
    }));
    t.equal((await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/rotate-credentials`, { token: f.token })).status, 204);
    await announced;
    f.creds = (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/sip-credentials`, { token: f.token })).body;
    // Fresh sockets, so the kernel spreads them over the daemon and both workers, each of which had the old identity in memory.
    const peers = await Promise.all(Array.from({ length: 8 }, () => RawPeer.udp(f.ports.udp!)));
    t.teardown(() => peers.forEach((p) => p.close()));
    const statuses = await Promise.all(peers.map(async (peer, i) => {
      const challenge = await peer.request(registerText(peer, { ...base, callId: `rotated-${i}` }));
      const authorization = answer(challenge, { username: old.username, password: old.password, uri: `sip:${f.domain}` });
      return (await peer.request(registerText(peer, { ...base, callId: `rotated-${i}`, cseq: 2, authorization }))).status;
    }));
    t.same(statuses, Array(8).fill(403), statuses.join(' '));
  });

  t.test('a worker that dies is replaced', async (t) => {
    const [victim] = workers.pids();
    process.kill(victim!, 'SIGKILL');
    await t.resolves(waitFor(() => workers.pids().length === 2 && !workers.pids().includes(victim!), 10_000));
    const peer = await RawPeer.udp(f.ports.udp!);
    t.teardown(() => peer.close());
    t.equal((await registerFrom(peer, 'after-crash')).status, 200);
  });

  // Last: the node does not come back from it.
  t.test('on a drain the workers refuse new registrations as the daemon does, so phones go to another node', async (t) => {
    await component.drain!();
    const peers = await Promise.all(Array.from({ length: 40 }, () => RawPeer.udp(f.ports.udp!)));
    t.teardown(() => peers.forEach((p) => p.close()));
    const answers = await Promise.all(peers.map((peer, i) => peer.request(registerText(peer, { ...base, callId: `draining-${i}` }))));
    t.same(answers.map((a) => a.status), Array(40).fill(503), 'no process of the node challenges a new REGISTER');
    t.ok(answers.every((a) => Number(a.headers['retry-after']) >= 1), 'each with a Retry-After');
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
