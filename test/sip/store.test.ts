import crypto from 'node:crypto';
import t, { type Test } from 'tap';
import type { RegisterUpdate } from '../../daemon/sip/registrar/bindings';
import { MemoryStore } from '../../daemon/sip/registrar/memory-store';
import { BUCKETS, RegistrarKeys, bucketOf } from '../../daemon/sip/registrar/redis-keys';
import { RedisStore } from '../../daemon/sip/registrar/redis-store';
import type { RegisterAttempt, RegistrarStore } from '../../daemon/sip/registrar/store';
import { redisClient } from '../../daemon/storage/redis-client';
import { REDIS_DEPLOYMENTS, SKIP_REDIS_SERVER } from '../helpers/redis-servers';

const source = { transport: 'udp' as const, address: '127.0.0.1', port: 5070 };
const limits = { source: 3, user: 2 };
const NOW = 1_800_000_000_000;

let issued = NOW - 100_000;

function attempt(o: Partial<RegisterUpdate> & { nc?: number; nonce?: string; issuedAt?: number; aor?: string; maxContacts?: number; user?: string; src?: string } = {}): RegisterAttempt {
  return {
    aor: o.aor ?? '201@a.test',
    update: { contacts: o.contacts ?? [{ contact: 'sip:201@10.0.0.1:5060', expires: 60 }], callId: o.callId ?? 'c1', cseq: o.cseq ?? 1, source, userAgent: 'ua', path: o.path ?? [], owner: { kind: 'extension', tenantId: 't1', extensionId: 'e1', deviceId: null } as const, now: o.now ?? NOW },
    maxContacts: o.maxContacts ?? 3, nonce: o.nonce ?? crypto.randomUUID(), nonceIssuedAt: o.issuedAt ?? ++issued, nc: o.nc ?? 1, nonceTtlMs: 60_000,
    lockKeys: { source: o.src ?? '10.0.0.9', user: o.user ?? 'a.test/u201' }, limits,
  };
}

/** A sweep's report of a part it could not sweep, where none is expected. */
const unexpected = (t: Test) => (err: Error) => t.fail(`a part of the store could not be swept: ${err.message}`);

/** Each Redis deployment started once for this file, on first use. */
const redisKinds = REDIS_DEPLOYMENTS.map((d) => {
  let started: Promise<string> | null = null;
  return { name: d.name, skip: d.skip, url: () => (started ??= d.start(t)) };
});

/** A Redis store under a prefix of its own, with a plain client to look at and tamper with its keys; its keys removed at the end. */
async function redisStore(t: Test, url: string) {
  const prefix = `dialtone:test:${crypto.randomBytes(6).toString('hex')}:`;
  const store = new RedisStore(url, prefix);
  const r = redisClient(url, {});
  t.teardown(async () => {
    await store.close();
    // One server only: the cluster and the sentinel's master are this file's own, gone at its end.
    if (!r.isCluster) {
      const keys = await r.keys(`${prefix}*`);
      if (keys.length > 0) await r.del(...keys);
    }
    await r.quit();
  });
  return { keys: new RegistrarKeys(prefix), store, r };
}

type Factory = (t: Test) => Promise<RegistrarStore>;

const kinds: [string, Factory, string | false][] = [
  ['in memory', async () => new MemoryStore(), false],
  ...redisKinds.map((k) => [`on ${k.name}`, async (t: Test) => (await redisStore(t, await k.url())).store, k.skip] as [string, Factory, string | false]),
];

for (const [name, make, skip] of kinds) {
  t.test(`store ${name}`, { skip }, async (t) => {
    const setup = () => make(t);

    t.test('registers, refreshes, lists and unregisters contacts', async (t) => {
      const store = await setup();
      const first = await store.register(attempt());
      t.match(first, { kind: 'ok', added: [{ contact: 'sip:201@10.0.0.1:5060', expiresAt: NOW + 60_000 }], removed: [] });
      const second = await store.register(attempt({ cseq: 2, contacts: [{ contact: 'SIP:201@10.0.0.1:5060', expires: 120 }, { contact: 'sip:201@10.0.0.2', expires: 30 }], now: NOW + 1000 }));
      t.match(second, { kind: 'ok', added: [{ contact: 'sip:201@10.0.0.2' }] });
      if (second.kind === 'ok') t.same(second.bindings.map((b) => b.registeredAt), [NOW, NOW + 1000], 'a refresh keeps the first registration time');
      t.equal((await store.bindings('201@a.test', NOW + 2000)).length, 2);
      const gone = await store.register(attempt({ cseq: 3, contacts: [{ contact: 'sip:201@10.0.0.2', expires: 0 }], now: NOW + 2000 }));
      t.match(gone, { kind: 'ok', removed: [{ reason: 'unregistered', binding: { contact: 'sip:201@10.0.0.2' } }] });
      const all = await store.register(attempt({ cseq: 4, contacts: '*', now: NOW + 3000 }));
      t.match(all, { kind: 'ok', bindings: [], removed: [{ reason: 'unregistered' }] });
      t.same(await store.bindings('201@a.test', NOW + 3000), []);
    });

    t.test('keeps the connection a stream binding came over, and whose binding it is', async (t) => {
      const store = await setup();
      const a = attempt({ contacts: [{ contact: 'sip:201@10.0.0.7:5060;transport=tcp', expires: 60 }] });
      const tcp = { transport: 'tcp' as const, address: '10.0.0.7', port: 40000, connectionId: 'tcp-ab-7' };
      const owner = { kind: 'activation' as const, tenantId: null, extensionId: null, deviceId: 'd9' };
      await store.register({ ...a, update: { ...a.update, source: tcp, owner } });
      const [b] = await store.bindings('201@a.test', NOW);
      t.same(b!.source, tcp);
      t.same(b!.owner, owner);
    });

    t.test('refuses an old CSeq for the same Call-ID', async (t) => {
      const store = await setup();
      await store.register(attempt({ cseq: 5 }));
      t.same(await store.register(attempt({ cseq: 5 })), { kind: 'out-of-order' });
      t.same(await store.register(attempt({ cseq: 4, contacts: '*' })), { kind: 'out-of-order' });
      t.match(await store.register(attempt({ cseq: 1, callId: 'other' })), { kind: 'ok' }, 'another Call-ID may start over');
    });

    t.test('refuses a nonce count already seen, and a nonce older than the last one used', async (t) => {
      const store = await setup();
      t.match(await store.register(attempt({ nonce: 'n1', nc: 1, issuedAt: NOW - 5000 })), { kind: 'ok' });
      t.same(await store.register(attempt({ nonce: 'n1', nc: 1, issuedAt: NOW - 5000, cseq: 2 })), { kind: 'replay' });
      t.match(await store.register(attempt({ nonce: 'n1', nc: 2, issuedAt: NOW - 5000, cseq: 3 })), { kind: 'ok' });
      t.match(await store.register(attempt({ nonce: 'n2', nc: 1, issuedAt: NOW - 4000, cseq: 4 })), { kind: 'ok' }, 'a newer nonce');
      t.same(await store.register(attempt({ nonce: 'n1', nc: 3, issuedAt: NOW - 5000, cseq: 5 })), { kind: 'replay' }, 'the older one, even with a higher count');
      t.same(await store.register(attempt({ nonce: 'n0', nc: 1, issuedAt: NOW - 4000, cseq: 6 })), { kind: 'replay' }, 'another issued at the same time');
      t.match(await store.register(attempt({ aor: 'other@a.test', nonce: 'n1', nc: 3, issuedAt: NOW - 5000 })), { kind: 'ok' }, 'another address keeps its own');
    });

    t.test('remembers the nonce after the last binding goes, for as long as it is valid', async (t) => {
      const store = await setup();
      const registered = attempt({ nonce: 'u1', nc: 1, issuedAt: NOW - 1000 });
      t.match(await store.register(registered), { kind: 'ok' });
      t.match(await store.register(attempt({ nonce: 'u1', nc: 2, issuedAt: NOW - 1000, cseq: 2, contacts: '*' })), { kind: 'ok', bindings: [] });
      t.same(await store.register(registered), { kind: 'replay' }, 'the registering request, replayed after the unregistration');
      t.same(await store.sweep(NOW + 120_000, 100, unexpected(t)), [], 'nothing to report');
      t.match(await store.register({ ...registered, update: { ...registered.update, now: NOW + 120_000 } }), { kind: 'ok' }, 'a nonce past its lifetime is forgotten (the registrar refuses it as stale anyway)');
    });

    t.test('keeps a hostile Call-ID, contact and User-Agent exactly as sent', async (t) => {
      const store = await setup();
      const callId = 'a|1|2|3|{"x":1}\u00e9|b@[::1]';
      const contact = 'sip:201@10.0.0.1:5060;x="|b|c"';
      const userAgent = '\nb 1 2 3 x y {}\r\n|ua"\u00ff';
      const first = attempt({ callId, contacts: [{ contact, expires: 60 }] });
      const r = await store.register({ ...first, update: { ...first.update, userAgent } });
      t.match(r, { kind: 'ok', added: [{ contact, callId, userAgent }] });
      const [b] = await store.bindings('201@a.test', NOW);
      t.match(b, { contact, callId, cseq: 1, expiresAt: NOW + 60_000, registeredAt: NOW, userAgent });
      t.same(await store.register(attempt({ callId, cseq: 1, contacts: [{ contact, expires: 60 }] })), { kind: 'out-of-order' }, 'the Call-ID read back compares equal');
    });

    t.test('keeps at most maxContacts, replacing the one closest to expiring', async (t) => {
      const store = await setup();
      await store.register(attempt({ contacts: [{ contact: 'sip:a@h1', expires: 100 }, { contact: 'sip:a@h2', expires: 50 }] }));
      const r = await store.register(attempt({ callId: 'c2', maxContacts: 2, contacts: [{ contact: 'sip:a@h3', expires: 100 }] }));
      t.match(r, { kind: 'ok', removed: [{ reason: 'replaced', binding: { contact: 'sip:a@h2' } }] });
      if (r.kind === 'ok') t.same(r.bindings.map((b) => b.contact).sort(), ['sip:a@h1', 'sip:a@h3']);
      t.same(await store.register(attempt({ callId: 'c3', maxContacts: 1, contacts: [{ contact: 'sip:a@x', expires: 9 }, { contact: 'sip:a@y', expires: 9 }] })), { kind: 'too-many' });
    });

    t.test('keeps Path and reports expired bindings once', async (t) => {
      const store = await setup();
      await store.register(attempt({ path: ['<sip:edge.test;lr>'], contacts: [{ contact: 'sip:a@h1', expires: 10 }, { contact: 'sip:a@h2', expires: 100 }] }));
      const [b] = await store.bindings('201@a.test', NOW);
      t.same(b!.path, ['<sip:edge.test;lr>']);
      t.same(b!.owner, { kind: 'extension', tenantId: 't1', extensionId: 'e1', deviceId: null });
      const swept = await store.sweep(NOW + 11_000, 100, unexpected(t));
      t.same(swept.map((e) => [e.aor, e.binding.contact, e.binding.owner.extensionId]), [['201@a.test', 'sip:a@h1', 'e1']]);
      t.same(await store.sweep(NOW + 11_000, 100, unexpected(t)), [], 'reported once');
      t.same((await store.bindings('201@a.test', NOW + 11_000)).map((x) => x.contact), ['sip:a@h2']);
    });

    t.test("a call's credentials: nonce counts of their own, the lockout, and none for an emergency call", async (t) => {
      const store = await setup();
      const now = Date.now();
      const call = (o: { nonce: string; nc: number; issuedAt: number; key?: string; user?: string; limits?: typeof limits }) => store.authorize({
        key: o.key ?? '201@a.test', nonce: o.nonce, nonceIssuedAt: o.issuedAt, nc: o.nc, nonceTtlMs: 60_000,
        lockKeys: { source: '10.5.5.5', user: o.user ?? 'a.test/u201' }, limits: o.limits ?? limits, now,
      });
      t.equal(await call({ nonce: 'c1', nc: 1, issuedAt: now - 1000 }), 'ok');
      t.equal(await call({ nonce: 'c1', nc: 1, issuedAt: now - 1000 }), 'replay', 'the same nonce and count again (a stolen header)');
      t.equal(await call({ nonce: 'c1', nc: 2, issuedAt: now - 1000 }), 'ok', 'the next count of that nonce');
      t.equal(await call({ nonce: 'c0', nc: 9, issuedAt: now - 2000 }), 'replay', 'an older nonce');
      t.equal(await call({ nonce: 'c0', nc: 9, issuedAt: now - 2000, key: '202@a.test' }), 'ok', 'another identity keeps its own');
      t.match(await store.register(attempt({ aor: '201@a.test', nonce: 'c1', nc: 1, issuedAt: now - 1000, now })), { kind: 'ok' }, "registrations keep their own nonce counts apart from calls'");
      await store.recordFailure({ source: '10.6.6.6', user: 'a.test/u209' }, 60_000);
      await store.recordFailure({ source: '10.6.6.6', user: 'a.test/u209' }, 60_000);
      t.equal(await call({ nonce: 'c5', nc: 1, issuedAt: now - 500, key: '209@a.test', user: 'a.test/u209' }), 'locked', 'a locked-out user');
      t.equal(await call({ nonce: 'c6', nc: 1, issuedAt: now - 400, key: '209@a.test', user: 'a.test/u209', limits: { source: Number.MAX_SAFE_INTEGER, user: Number.MAX_SAFE_INTEGER } }), 'ok', 'passes with no limits (an emergency call)');
    });

    t.test('counts failures per source and per user, apart', async (t) => {
      const store = await setup();
      const now = Date.now();
      const tryAs = (user: string, src: string, callId: string) => store.register(attempt({ user, src, callId, now }));
      await store.recordFailure({ source: '10.9.9.9', user: 'a.test/victim' }, 60_000);
      t.match(await tryAs('a.test/victim', '10.1.1.1', 'v1'), { kind: 'ok' }, 'one failure is below the limit');
      await store.recordFailure({ source: '10.9.9.9', user: 'a.test/victim' }, 60_000);
      t.same(await tryAs('a.test/victim', '10.1.1.1', 'v2'), { kind: 'locked' }, 'the user reaches its limit, from any source');
      t.match(await tryAs('a.test/other', '10.9.9.9', 'o1'), { kind: 'ok' }, 'other users from that source still pass');
      await store.recordFailure({ source: '10.9.9.9', user: 'a.test/third' }, 60_000);
      t.same(await tryAs('a.test/fourth', '10.9.9.9', 'f1'), { kind: 'locked' }, 'the source reaches its limit');
      t.match(await tryAs('a.test/fourth', '10.2.2.2', 'f2'), { kind: 'ok' }, 'that user from another source passes');
    });

    t.test('many addresses registered in one turn are each listed, and swept once, a little at a time', async (t) => {
      const store = await setup();
      const aors = Array.from({ length: 200 }, (_, i) => `m${i}@a.test`);
      t.equal(new Set(aors.map(bucketOf)).size, BUCKETS, 'the addresses fall in every bucket');
      const results = await Promise.all(aors.map((aor, i) => store.register(attempt({ aor, src: `10.7.${i >> 8}.${i & 255}`, user: `a.test/m${i}`, contacts: [{ contact: `sip:m${i}@h`, expires: 10 + (i % 3) }] }))));
      t.ok(results.every((x, i) => x.kind === 'ok' && x.added[0]?.contact === `sip:m${i}@h`), 'each answered on its own');
      const listed = await Promise.all(aors.map((aor) => store.bindings(aor, NOW)));
      t.ok(listed.every((b, i) => b.length === 1 && b[0]!.contact === `sip:m${i}@h`), 'each listed');
      const swept: string[] = [];
      for (let round = 0; round < 50; round++) {
        const some = await store.sweep(NOW + 13_000, 30, unexpected(t));
        if (some.length === 0) break;
        t.ok(some.length <= 30, `a sweep reports at most as many as asked (${some.length})`);
        swept.push(...some.map((e) => `${e.aor} ${e.binding.contact}`));
      }
      t.equal(swept.length, 200, 'every binding reported');
      t.same([...swept].sort(), aors.map((aor, i) => `${aor} sip:m${i}@h`).sort(), 'each once');
    });
  });
}

for (const kind of redisKinds) {
  t.test(`store on ${kind.name}: keys and batches`, { skip: kind.skip }, async (t) => {
    t.test('a key of another type under its name does not stop the sweeper', async (t) => {
      const { keys, store, r } = await redisStore(t, await kind.url());
      const bucket = bucketOf('bad@a.test');
      const good = Array.from({ length: 100 }, (_, i) => `good${i}@a.test`).find((aor) => bucketOf(aor) === bucket)!;
      await store.register(attempt({ aor: good, contacts: [{ contact: 'sip:g@h', expires: 10 }] }));
      await r.hset(keys.aor('bad@a.test'), 'x', 'y');
      await r.zadd(keys.due(bucket), NOW, 'bad@a.test');
      const swept = await store.sweep(NOW + 11_000, 100, unexpected(t));
      t.same(swept.map((e) => [e.aor, e.binding.contact]), [[good, 'sip:g@h']]);
      t.same(await r.zrange(keys.due(bucket), 0, -1), [], 'the foreign key is no longer due');
      t.match(await store.register(attempt({ aor: 'bad@a.test' })), { kind: 'ok' }, 'a REGISTER replaces it');
      await t.rejects(store.register(attempt({ aor: 'x@a.test', callId: 'two words' })), /Call-ID holds white space/, 'white space the registrar should have refused is not stored');
    });

    t.test('a bucket whose due set is broken is told about, and the other buckets are swept', async (t) => {
      const { keys, store, r } = await redisStore(t, await kind.url());
      const broken = bucketOf('b@a.test');
      const aors = Array.from({ length: 200 }, (_, i) => `s${i}@a.test`).filter((aor) => bucketOf(aor) !== broken).slice(0, 40);
      await Promise.all(aors.map((aor) => store.register(attempt({ aor, contacts: [{ contact: `sip:${aor}`, expires: 10 }] }))));
      await r.set(keys.due(broken), 'not a sorted set');
      const failures: Error[] = [];
      const swept: string[] = [];
      for (let i = 0; i < 2 && swept.length < aors.length; i++) swept.push(...(await store.sweep(NOW + 11_000, 1000, (err) => failures.push(err))).map((e) => e.aor));
      t.same(swept.sort(), [...aors].sort(), 'every other bucket\'s expired binding is reported');
      t.ok(failures.length >= 1 && failures.every((e) => /WRONGTYPE/.test(e.message)), 'the broken bucket is reported');
    });

    t.test('a line it cannot read is dropped, not trusted', async (t) => {
      const { keys, store, r } = await redisStore(t, await kind.url());
      await store.register(attempt({ contacts: [{ contact: 'sip:g@h', expires: 10 }] }));
      await r.append(keys.aor('201@a.test'), '\nw 0 0\n{"contact":"sip:evil@h"}\n\u0000junk');
      t.same((await store.bindings('201@a.test', NOW)).map((b) => b.contact), ['sip:g@h']);
      t.match(await store.register(attempt({ cseq: 2, contacts: [{ contact: 'sip:h@h', expires: 10 }] })), { kind: 'ok', bindings: [{ contact: 'sip:g@h' }, { contact: 'sip:h@h' }] });
      t.equal((await r.get(keys.aor('201@a.test')))!.split('\n').length, 3, 'the unreadable lines are gone: the nonce and the two bindings are left');
    });

    t.test('REGISTERs made together go in batches, each its own step', async (t) => {
      const { keys, store, r } = await redisStore(t, await kind.url());
      // The sorted set of one bucket made unusable: that bucket's REGISTERs fail in the script, and only they.
      const broken = bucketOf('b@a.test');
      await r.set(keys.due(broken), 'not a sorted set');
      await r.set(keys.failures({ source: '10.6.6.6', user: 'x' })[0], 'not a count');
      const aors = Array.from({ length: 200 }, (_, i) => `u${i}@a.test`).filter((aor) => bucketOf(aor) !== broken).slice(0, 150);
      const many = aors.map((aor, i) => store.register(attempt({ aor, contacts: [{ contact: `sip:u${i}@h`, expires: 60 }] })));
      const same = [1, 2, 3].map((cseq) => store.register(attempt({ aor: 'same@a.test', cseq, contacts: [{ contact: `sip:s${cseq}@h`, expires: 60 }] })));
      const failing = t.rejects(store.register(attempt({ aor: 'b@a.test' })), /REGISTER script failed/, 'a REGISTER that fails in the script fails alone');
      const unreadable = t.rejects(store.register(attempt({ aor: 'c@a.test', src: '10.6.6.6' })), /failure counter in Redis is not a number/, 'a failure counter that is not a number fails its REGISTER, and only it');
      const results = await Promise.all(many);
      t.ok(results.every((x, i) => x.kind === 'ok' && x.added[0]?.contact === `sip:u${i}@h`), 'each gets its own answer, across more than one script call');
      t.not(bucketOf('same@a.test'), broken);
      t.same((await Promise.all(same)).map((x) => (x.kind === 'ok' ? x.bindings.length : x.kind)), [1, 2, 3], 'one address registered three times in one batch, in order');
      await failing;
      await unreadable;
      t.equal((await store.bindings(aors[149]!, NOW)).length, 1);
    });
  });
}

t.test('store on a Redis Cluster: one batch of addresses on all three masters', { skip: SKIP_REDIS_SERVER }, async (t) => {
  const { keys, store, r } = await redisStore(t, await redisKinds.find((k) => k.name === 'a Redis Cluster')!.url());
  const slots = await r.cluster('SLOTS');
  const master = async (key: string) => {
    const slot = await r.cluster('KEYSLOT', key) as number;
    return slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
  };
  const aors = Array.from({ length: 60 }, (_, i) => `c${i}@a.test`);
  t.equal(new Set(await Promise.all(aors.map((aor) => master(keys.aor(aor))))).size, 3, 'the addresses are held by all three masters');
  const results = await Promise.all(aors.map((aor, i) => store.register(attempt({ aor, user: `a.test/c${i}`, contacts: [{ contact: `sip:c${i}@h`, expires: 10 }] }))));
  t.ok(results.every((x) => x.kind === 'ok'), 'every REGISTER of the turn succeeds');
  t.ok((await Promise.all(aors.map((aor) => store.bindings(aor, NOW)))).every((b) => b.length === 1), 'each is listed');
  t.equal((await store.sweep(NOW + 11_000, 1000, unexpected(t))).length, 60, 'each is swept');
  await store.recordFailure({ source: '10.8.8.8', user: 'a.test/c1' }, 60_000);
  await store.recordFailure({ source: '10.8.8.8', user: 'a.test/c1' }, 60_000);
  t.same(await store.register(attempt({ aor: 'c1@a.test', user: 'a.test/c1', cseq: 2 })), { kind: 'locked' }, 'failures counted across slots lock the user out');
});
