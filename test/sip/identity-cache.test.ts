import crypto from 'node:crypto';
import t, { type Test } from 'tap';
import { ChangeFeed, type Change } from '../../daemon/core/changes';
import { createLogger } from '../../daemon/core/log';
import type { SipIdentity } from '../../daemon/sip/identity';
import { IdentityCache } from '../../daemon/sip/registrar/identity-cache';
import { staleBy } from '../../daemon/sip/registrar/identity-invalidation';
import { extensionIdentities } from '../../daemon/sip/extension-identity';
import { hearChanges, relayChanges } from '../../daemon/ops/change-relay';
import type { SipComponent } from '../../daemon/sip/component';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { REDIS_DEPLOYMENTS, SKIP_REDIS_SERVER, startRedisCluster } from '../helpers/redis-servers';
import { REDIS_URL, sipFixture } from '../helpers/sip';

const identity = (extensionId: string, tenantId = 'tenant-1', password = 'secret'): SipIdentity => ({
  kind: 'extension', tenantId, extensionId, deviceId: null, username: `u-${extensionId}`, password, realm: 'a.test', aor: `${extensionId}@a.test`,
});

/** A lookup that counts its calls and answers from a table the test changes. */
function source(table: Map<string, SipIdentity>) {
  const counted = { calls: 0 };
  const lookup = async (domain: string, username: string) => {
    counted.calls++;
    return table.get(`${domain}/${username}`) ?? null;
  };
  return { counted, lookup };
}

const change = (kind: Change['kind'], id: string, action: Change['action']): Change => ({ kind, id, tenantId: 'tenant-1', action, actor: 'operator' });

t.test('which changes make a cached identity stale', async (t) => {
  t.same(staleBy(change('extension', 'e1', 'credentials')), { extensionId: 'e1' });
  t.same(staleBy(change('extension', 'e1', 'updated')), { extensionId: 'e1' }, 'renumbered');
  t.same(staleBy(change('extension', 'e1', 'reassigned')), { extensionId: 'e1' });
  t.same(staleBy(change('tenant', 't1', 'updated')), { tenantId: 't1' });
  t.same(staleBy(change('tenant', 't1', 'disabled')), { tenantId: 't1' });
  t.equal(staleBy(change('extension', 'e1', 'created')), null, 'a new extension was never cached');
  t.equal(staleBy(change('device', 'd1', 'reassigned')), null, 'a phone is not a SIP identity');
  t.equal(staleBy(change('site', 's1', 'updated')), null);
});

t.test('the cache answers from memory until told to forget', async (t) => {
  const table = new Map([['a.test/u1', identity('e1')], ['a.test/u2', identity('e2')], ['b.test/u3', identity('e3', 'tenant-2')]]);
  const { counted, lookup } = source(table);
  const cache = new IdentityCache();
  const cached = cache.wrap(lookup);
  t.equal((await cached('a.test', 'u1'))?.extensionId, 'e1');
  t.equal((await cached('A.TEST', 'u1'))?.extensionId, 'e1', 'the domain is case-insensitive');
  t.equal(counted.calls, 1, 'the second lookup came from memory');

  table.set('a.test/u1', identity('e1', 'tenant-1', 'rotated'));
  cache.forgetExtension('e1');
  t.equal((await cached('a.test', 'u1'))?.password, 'rotated', 'a forgotten extension is read again');

  await cached('a.test', 'u2');
  await cached('b.test', 'u3');
  const before = counted.calls;
  cache.forgetTenant('tenant-1');
  await cached('a.test', 'u1');
  await cached('a.test', 'u2');
  await cached('b.test', 'u3');
  t.equal(counted.calls - before, 2, 'the tenant\'s two extensions are read again, the other tenant\'s is not');

  t.equal(await cached('a.test', 'nobody'), null);
  t.equal(await cached('a.test', 'nobody'), null);
  t.equal(counted.calls - before, 4, 'an unknown user is never remembered as unknown: it may be created any moment');
});

t.test('a lookup that began before a change does not keep what it read', async (t) => {
  let release!: () => void;
  const cache = new IdentityCache();
  let calls = 0;
  const cached = cache.wrap(async () => {
    calls++;
    if (calls === 1) await new Promise<void>((r) => (release = r));
    return identity('e1', 'tenant-1', calls === 1 ? 'old' : 'new');
  });
  const slow = cached('a.test', 'u1');
  await new Promise((r) => setImmediate(r));
  cache.forgetExtension('e1');
  release();
  t.equal((await slow)?.password, 'old', 'the lookup in flight answers what it read');
  t.equal((await cached('a.test', 'u1'))?.password, 'new', 'but that was not kept');
  t.equal(cache.size, 1);
});

t.test('distrusted, the cache neither answers nor keeps; trusted again, it starts empty', async (t) => {
  const table = new Map([['a.test/u1', identity('e1')]]);
  const { counted, lookup } = source(table);
  const cache = new IdentityCache();
  const cached = cache.wrap(lookup);
  await cached('a.test', 'u1');
  cache.distrust();
  await cached('a.test', 'u1');
  await cached('a.test', 'u1');
  t.equal(counted.calls, 3);
  t.equal(cache.size, 0);
  cache.trust();
  await cached('a.test', 'u1');
  await cached('a.test', 'u1');
  t.equal(counted.calls, 4);
});

t.test('the cache holds at most its limit, dropping the oldest; a renamed identity replaces its old entry', async (t) => {
  const cache = new IdentityCache({ maxEntries: 2 });
  const table = new Map([['a.test/u1', identity('e1')], ['a.test/u2', identity('e2')], ['a.test/u3', identity('e3')], ['a.test/u1b', identity('e1')]]);
  const { counted, lookup } = source(table);
  const cached = cache.wrap(lookup);
  await cached('a.test', 'u1');
  await cached('a.test', 'u2');
  await cached('a.test', 'u3');
  t.equal(cache.size, 2);
  await cached('a.test', 'u1');
  t.equal(counted.calls, 4, 'the oldest went');
  await cached('a.test', 'u1b');
  t.equal(cache.size, 2, 'one entry per extension');
});

t.test('on the change feed, a change from any process is forgotten; while the feed is deaf nothing is kept', async (t) => {
  const table = new Map([['a.test/u1', identity('e1')], ['a.test/u2', identity('e2')], ['b.test/u3', identity('e3', 'tenant-2')]]);
  const { counted, lookup } = source(table);
  const feed = new ChangeFeed();
  const identities = extensionIdentities({ knex: null as never, secrets: null as never, changes: feed });
  const cached = identities.cache.wrap(lookup);
  const readAll = async () => {
    await cached('a.test', 'u1');
    await cached('a.test', 'u2');
    await cached('b.test', 'u3');
  };
  await readAll();
  t.equal(identities.cache.size, 3, 'without a relay the feed is never deaf, so identities are kept');
  feed.publish(change('extension', 'e1', 'credentials'));
  t.equal(identities.cache.size, 2, 'a change committed in this process is forgotten at once');
  feed.publishFromElsewhere(change('extension', 'e2', 'reassigned'));
  t.equal(identities.cache.size, 1, 'and one committed in another process');
  feed.publish(change('device', 'd1', 'reassigned'));
  feed.publishFromElsewhere(change('site', 's1', 'updated'));
  t.equal(identities.cache.size, 1, 'changes that make no identity stale forget nothing');
  feed.publishFromElsewhere({ ...change('tenant', 'tenant-2', 'updated'), tenantId: 'tenant-2' });
  t.equal(identities.cache.size, 0, 'a tenant change forgets its extensions');

  await readAll();
  feed.deaf();
  t.equal(identities.cache.size, 0, 'deaf: everything is dropped');
  const before = counted.calls;
  await readAll();
  t.equal(identities.cache.size, 0, 'and nothing is kept');
  t.equal(counted.calls - before, 3, 'every lookup goes to the source');
  feed.hearing();
  await readAll();
  t.equal(identities.cache.size, 3, 'hearing again, identities are kept again');

  identities.close();
  t.equal(identities.cache.size, 0, 'closed: everything is dropped');
  await readAll();
  t.equal(identities.cache.size, 0, 'and nothing is kept, since no change would be heard');
  feed.hearing();
  feed.deaf();
  feed.hearing();
  await readAll();
  t.equal(identities.cache.size, 0, 'whatever the feed says afterwards');
});

t.test('a cache that starts on a feed already deaf keeps nothing until it hears', async (t) => {
  const { lookup } = source(new Map([['a.test/u1', identity('e1')]]));
  const feed = new ChangeFeed();
  feed.deaf();
  const identities = extensionIdentities({ knex: null as never, secrets: null as never, changes: feed });
  const cached = identities.cache.wrap(lookup);
  t.equal((await cached('a.test', 'u1'))?.extensionId, 'e1', 'answered');
  t.equal(identities.cache.size, 0, 'but not kept');
  feed.hearing();
  await cached('a.test', 'u1');
  t.equal(identities.cache.size, 1);
});

/**
 * The processes of a test through Redis, each wired as the daemon wires it:
 * the one that commits changes relays them; another node relays its own and
 * hears the others'; a registrar worker only hears.
 */
function processes(t: Test, redisUrl: string) {
  const opts = { redisUrl, log: createLogger('silent'), channel: `dialtone:test:changes-${crypto.randomBytes(4).toString('hex')}` };
  const committing = new ChangeFeed();
  const links: { start(): void; close(): unknown }[] = [relayChanges(committing, opts)];
  const hearing = (kind: 'node' | 'worker') => {
    const feed = new ChangeFeed();
    links.push(kind === 'node' ? relayChanges(feed, opts) : hearChanges(feed, opts));
    const identities = extensionIdentities({ knex: null as never, secrets: null as never, changes: feed });
    t.teardown(() => identities.close());
    return identities;
  };
  const node = hearing('node');
  const worker = hearing('worker');
  for (const link of links) link.start();
  t.teardown(async () => {
    for (const link of links) await link.close();
  });
  return { committing, node, worker };
}

for (const d of REDIS_DEPLOYMENTS) t.test(`identities forgotten across processes through ${d.name}`, { skip: d.skip }, async (t) => {
  const table = new Map([['a.test/u1', identity('e1')], ['a.test/u2', identity('e2', 'tenant-2')]]);
  const { committing, node, worker } = processes(t, await d.start(t));
  for (const [name, other] of [['another node', node], ['a registrar worker', worker]] as const) {
    const { counted, lookup } = source(table);
    const cached = other.cache.wrap(lookup);
    await waitFor(async () => {
      await cached('a.test', 'u1');
      return other.cache.size === 1;
    });
    await cached('a.test', 'u2');
    const before = counted.calls;
    committing.publish(change('extension', 'e1', 'credentials'));
    await waitFor(async () => {
      await cached('a.test', 'u1');
      return counted.calls > before;
    });
    await cached('a.test', 'u2');
    t.equal(counted.calls, before + 1, `only the changed extension was forgotten in ${name}`);
    committing.publish({ ...change('tenant', 'tenant-2', 'updated'), tenantId: 'tenant-2' });
    await waitFor(() => other.cache.size === 1);
    t.pass(`a tenant change reached ${name} too`);
  }
});

t.test('with a Redis Cluster, the listening connection moves to another server when its own dies, distrusting meanwhile', { skip: SKIP_REDIS_SERVER }, async (t) => {
  const cluster = await startRedisCluster(t);
  const table = new Map([['a.test/u1', identity('e1')]]);
  const { committing, worker } = processes(t, cluster.url);
  const { counted, lookup } = source(table);
  const cached = worker.cache.wrap(lookup);
  await waitFor(async () => {
    await cached('a.test', 'u1');
    return worker.cache.size === 1;
  });
  // The listening connection is on the first server the URL names.
  await cluster.kill(cluster.ports[0]!);
  await waitFor(() => worker.cache.size === 0);
  t.pass('the cache was dropped when its server died');
  await waitFor(async () => {
    await cached('a.test', 'u1');
    return worker.cache.size === 1;
  });
  t.pass('and trusted again once listening on another server');
  const before = counted.calls;
  await waitFor(async () => {
    committing.publish(change('extension', 'e1', 'credentials'));
    await cached('a.test', 'u1');
    return counted.calls > before;
  });
  t.pass('a change announced now reaches it');
});

for (const [storeName, storeEnv] of [['memory', {}], ['redis', REDIS_URL ? { DIALTONE_REDIS_URL: REDIS_URL } : null]] as const) {
  t.test(`a stale identity never authenticates (${storeName} store)`, { skip: storeEnv ? false : 'DIALTONE_TEST_REDIS_URL is unset' }, async (t) => {
    // Refusals count per source address, in Redis shared with other tests: they must neither lock this test out nor linger.
    const f = await sipFixture(t, { ...storeEnv, DIALTONE_SIP_LOCKOUT_SOURCE: '1000000', DIALTONE_SIP_LOCKOUT_SECONDS: '1' });
    const component = f.ta.app.components.find((c) => c.name === 'sip') as SipComponent;
    const peer = await RawPeer.udp(f.ports.udp!);
    t.teardown(() => peer.close());
    let call = 0;
    const register = async (user: string, creds: { username: string; password: string }) => {
      const callId = `stale-${++call}`;
      const challenge = await peer.request(registerText(peer, { domain: f.domain, user, callId }));
      return (await peer.request(registerText(peer, { domain: f.domain, user, callId, cseq: 2, authorization: answer(challenge, { ...creds, uri: `sip:${f.domain}` }) }))).status;
    };
    // With Redis the cache is used once its subscription is confirmed.
    await waitFor(async () => (await register(f.extension.number, f.creds)) === 200 && component.identities.cache.size === 1);

    t.test('after the credentials are rotated, the old ones are refused', async (t) => {
      t.equal((await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/rotate-credentials`, { token: f.token })).status, 204);
      t.equal(await register(f.extension.number, f.creds), 403, 'old username and password');
      const fresh = (await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/sip-credentials`, { token: f.token })).body;
      t.equal(await register(f.extension.number, fresh), 200, 'the new ones work');
      f.creds = fresh;
    });

    t.test('after the extension is renumbered, its old number is not its address', async (t) => {
      t.equal(await register(f.extension.number, f.creds), 200);
      t.equal((await f.ta.call('PATCH', `/api/v1/extensions/${f.extension.id}`, { token: f.token, body: { number: '299' } })).status, 200);
      t.equal(await register(f.extension.number, f.creds), 403, 'the old number');
      t.equal(await register('299', f.creds), 200, 'the new number');
    });
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
