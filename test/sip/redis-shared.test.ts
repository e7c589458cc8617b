import t from 'tap';
import Redis from 'ioredis';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { redisClient } from '../../daemon/storage/redis-client';
import { REDIS_DEPLOYMENTS } from '../helpers/redis-servers';
import { REDIS_URL, sipFixture } from '../helpers/sip';
import { startTestApp } from '../helpers/app';

/** The shared test Redis has this test's keys removed at the end; the other deployments are the test's own. */
async function forget(domain: string): Promise<void> {
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`dialtone:sip:*${domain}*`);
  if (keys.length > 0) await r.del(...keys);
  await r.quit();
}

for (const d of REDIS_DEPLOYMENTS) t.test(`two dialtone processes on ${d.name} see the same bindings`, { skip: d.skip }, async (t) => {
  const url = await d.start(t);
  // Other tests' refusals from loopback count in the shared test Redis too: they must not lock this one out.
  const f = await sipFixture(t, { DIALTONE_REDIS_URL: url, DIALTONE_SIP_LOCKOUT_SOURCE: '1000000' });
  if (url === REDIS_URL) t.teardown(() => forget(f.domain));
  const other = await startTestApp(t, 'sqlite', { env: { DIALTONE_REDIS_URL: url } });
  await other.app.listen();
  const secondSip = (other.app.components.find((c) => c.name === 'sip') as unknown as { sip: { registrar: { bindings(aor: string): Promise<unknown[]> } } }).sip.registrar;
  const peer = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => peer.close());
  const base = { domain: f.domain, user: f.extension.number, callId: 'shared' };
  const challenge = await peer.request(registerText(peer, base));
  const authorization = answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` });
  t.equal((await peer.request(registerText(peer, { ...base, cseq: 2, authorization }))).status, 200);
  t.equal((await secondSip.bindings(`${f.extension.number}@${f.domain}`)).length, 1, 'the other process lists the binding');
  for (const app of [f.ta, other]) t.match((await app.call('GET', '/readyz')).body, { redis: 'up' }, 'each process finds Redis up');
  const r = redisClient(url, {});
  t.teardown(() => r.quit());
  t.ok(Object.keys(await r.hgetall('dialtone:sip:nodes')).length >= 2, 'both processes entered their SIP address as nodes');
});
