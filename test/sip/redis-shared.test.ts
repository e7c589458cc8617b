import t from 'tap';
import Redis from 'ioredis';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { REDIS_URL, sipFixture } from '../helpers/sip';
import { startTestApp } from '../helpers/app';

t.test('two dialtone processes on one Redis see the same bindings', { skip: REDIS_URL ? false : 'DIALTONE_TEST_REDIS_URL is unset' }, async (t) => {
  const f = await sipFixture(t, { DIALTONE_REDIS_URL: REDIS_URL });
  t.teardown(async () => {
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`dialtone:sip:*${f.domain}*`);
    if (keys.length > 0) await r.del(...keys);
    await r.quit();
  });
  const other = await startTestApp(t, 'sqlite', { env: { DIALTONE_REDIS_URL: REDIS_URL } });
  await other.app.listen();
  const secondSip = (other.app.components.find((c) => c.name === 'sip') as unknown as { sip: { registrar: { bindings(aor: string): Promise<unknown[]> } } }).sip.registrar;
  const peer = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => peer.close());
  const base = { domain: f.domain, user: f.extension.number, callId: 'shared' };
  const challenge = await peer.request(registerText(peer, base));
  const authorization = answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` });
  t.equal((await peer.request(registerText(peer, { ...base, cseq: 2, authorization }))).status, 200);
  t.equal((await secondSip.bindings(`${f.extension.number}@${f.domain}`)).length, 1, 'the other process lists the binding');
});
