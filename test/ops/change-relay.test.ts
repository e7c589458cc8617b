import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import Redis from 'ioredis';
import t from 'tap';
import { type CacheListener, type Change, ChangeFeed } from '../../daemon/core/changes';
import { createLogger } from '../../daemon/core/log';
import { decodeChange, encodeChange, relayChanges } from '../../daemon/ops/change-relay';
import { RenderCache, renderedFile } from '../../daemon/provisioning/cache';
import { startRedis, until } from '../helpers/nodes';
import { REDIS_URL } from '../helpers/sip';

const log = createLogger('silent');
const skip = REDIS_URL ? false : 'DIALTONE_TEST_REDIS_URL is not set';
const change = (id: string, over: Partial<Change> = {}): Change => ({ kind: 'extension', id, tenantId: 'tenant-1', action: 'updated', actor: 'token:abc', ...over });

t.test('a change survives the channel as it was, and nothing else is taken for one', async (t) => {
  const c = change('e6a1c1b4-1d4f-4c0e-9d51-3c6f2d1a7b10', { actor: 'user:42' });
  t.same(decodeChange(encodeChange('ab12cd34', c)), { node: 'ab12cd34', change: c });
  const padded = `{"__proto__":{"admin":true},"password":"x",${encodeChange('ab12cd34', c).slice(1)}`;
  const decoded = decodeChange(padded);
  t.same(decoded, { node: 'ab12cd34', change: c }, 'unknown fields are dropped, not carried');
  t.notOk('change' in decoded && Object.hasOwn(decoded.change, '__proto__'));

  const valid = { node: 'ab12cd34', kind: 'tenant', id: 't1', tenantId: 't1', action: 'created', actor: 'operator' };
  const hostile: [string, RegExp][] = [
    ['', /not JSON/],
    ['e t1', /not JSON/],
    ['{"node":', /not JSON/],
    ['null', /not a JSON object/],
    ['[1,2]', /not a JSON object/],
    ['"a string"', /not a JSON object/],
    ['42', /not a JSON object/],
    [JSON.stringify({ ...valid, node: 'AB12' }), /^node:/],
    [JSON.stringify({ ...valid, node: 'x'.repeat(33) }), /^node:/],
    [JSON.stringify({ ...valid, node: undefined }), /^node:/],
    [JSON.stringify({ ...valid, kind: 'everything' }), /^kind:/],
    [JSON.stringify({ ...valid, kind: 'toString' }), /^kind:/],
    [JSON.stringify({ ...valid, kind: ['tenant'] }), /^kind:/],
    [JSON.stringify({ ...valid, action: 'deleted' }), /^action:/],
    [JSON.stringify({ ...valid, action: null }), /^action:/],
    [JSON.stringify({ ...valid, id: '' }), /^id:/],
    [JSON.stringify({ ...valid, id: 'a b' }), /^id:/],
    [JSON.stringify({ ...valid, id: 'e1\n' }), /^id:/],
    [JSON.stringify({ ...valid, id: 'x'.repeat(65) }), /^id:/],
    [JSON.stringify({ ...valid, id: 7 }), /^id:/],
    [JSON.stringify({ ...valid, id: { $ne: null } }), /^id:/],
    [JSON.stringify({ ...valid, tenantId: 'é' }), /^tenantId:/],
    [JSON.stringify({ ...valid, tenantId: undefined }), /^tenantId:/],
    [JSON.stringify({ ...valid, actor: '' }), /^actor:/],
    [JSON.stringify({ ...valid, actor: 'a\u0000b' }), /^actor:/],
    [JSON.stringify({ ...valid, actor: 'y'.repeat(201) }), /^actor:/],
    [JSON.stringify({ ...valid, actor: 'z'.repeat(2000) }), /longer than/],
    ['{'.repeat(100_000), /longer than/],
  ];
  for (const [message, reason] of hostile) {
    const decoded = decodeChange(message);
    t.ok('error' in decoded, `refused: ${message.slice(0, 60)}`);
    if ('error' in decoded) t.match(decoded.error, reason, `and says why: ${decoded.error}`);
  }
});

/** A cache's view of the feed: every change it hears, and whether it can hear other processes. */
function recorder(feed: ChangeFeed) {
  const heard: Change[] = [];
  const states: string[] = [];
  const listener: CacheListener = {
    change: (c) => void heard.push(c),
    deaf: () => void states.push('deaf'),
    hearing: () => void states.push('hearing'),
  };
  const stop = feed.subscribeEverywhere(listener);
  return { heard, states, stop, hears: () => states.at(-1) !== 'deaf' };
}

t.test('two processes on one Redis: caches hear every change, side effects only their own', { skip }, async (t) => {
  const channel = `dialtone:test:changes-${crypto.randomBytes(4).toString('hex')}`;
  const feeds = [new ChangeFeed(), new ChangeFeed()] as const;
  const relays = feeds.map((feed) => relayChanges(feed, { redisUrl: REDIS_URL, log, channel }));
  const caches = feeds.map(recorder);
  const sideEffects = feeds.map((feed) => {
    const ran: Change[] = [];
    feed.subscribe((c) => void ran.push(c));
    return ran;
  });
  t.same(caches.map((c) => c.states), [['deaf'], ['deaf']], 'deaf until subscribed');
  // A raw client: it publishes what a hostile or broken process could, and sees everything said on the channel.
  const raw = new Redis(REDIS_URL);
  const watcher = new Redis(REDIS_URL);
  const said: string[] = [];
  watcher.on('message', (_c: string, m: string) => void said.push(m));
  await watcher.subscribe(channel);
  t.teardown(async () => {
    for (const r of relays) await r.close();
    raw.disconnect();
    watcher.disconnect();
  });
  for (const r of relays) r.start();
  await until('both relays to hear the channel', () => caches.every((c) => c.hears()));
  t.same(caches.map((c) => c.states), [['deaf', 'hearing'], ['deaf', 'hearing']]);
  t.not(relays[0]!.node, relays[1]!.node, 'each process has a node id of its own');

  const carried = (fragment: string) => until(`the channel to carry ${fragment}`, () => said.some((m) => m.includes(fragment)));
  // Published by another "process" once Redis has taken what came before: whoever hears it has received that too.
  let sentinels = 0;
  const sentinel = async () => {
    const s = change(`sentinel-${++sentinels}`);
    await raw.publish(channel, encodeChange('f00d', s));
    await until('both processes to hear the sentinel', () => caches.every((c) => c.heard.some((h) => h.id === s.id)));
    return s;
  };

  const x = change('e1', { action: 'credentials' });
  feeds[0].publish(x);
  t.same(caches[0]!.heard, [x], 'the committing process\'s caches hear it at once');
  t.same(sideEffects[0], [x], 'and its side effects run there');
  await until('the other process to hear it', () => caches[1]!.heard.length > 0);
  t.same(caches[1]!.heard, [x], 'the other process\'s caches hear it');
  await carried('"e1"');
  const s1 = await sentinel();
  t.same(caches[0]!.heard, [x, s1], 'a process does not hear its own change back from Redis');
  t.same(sideEffects, [[x], []], 'side effects ran once, in the process that committed the change');
  t.same(caches[1]!.heard, [x, s1]);

  for (const message of ['garbage', '{"node":"f00d"}', JSON.stringify({ ...JSON.parse(encodeChange('f00d', change('e9'))), kind: 'nuke' }), '\u0000'.repeat(5000), '[]']) {
    await raw.publish(channel, message);
  }
  const s2 = await sentinel();
  t.same(caches[1]!.heard, [x, s1, s2], 'unreadable messages are ignored');
  t.same(sideEffects, [[x], []], 'no side effect ran for anything heard from elsewhere');
  await raw.publish(channel, 'the end');
  await until('the last message to come round', () => said.includes('the end'));
  t.equal(said.filter((m) => m.includes('sentinel-')).length, 2, 'nothing heard from elsewhere was published again');
  t.equal(said.filter((m) => m.includes('"e1"')).length, 1, 'the committed change was published once');

  // A cache that throws on a change from elsewhere breaks neither the relay nor the other caches.
  const stop = feeds[1].subscribeEverywhere({ change: () => { throw new Error('broken cache'); }, deaf: () => {}, hearing: () => {} });
  feeds[0].publish(change('e2'));
  await carried('"e2"');
  const s3 = await sentinel();
  stop();
  t.same(caches[1]!.heard.map((c) => c.id), ['e1', s1.id, s2.id, 'e2', s3.id], 'the relay goes on after a cache threw');
});

t.test('a change made while another process\'s subscription is down: it keeps nothing meanwhile, and is told when it hears again', async (t) => {
  const redis = await startRedis(t);
  const url = `redis://127.0.0.1:${redis.port}/0`;
  const feeds = [new ChangeFeed(), new ChangeFeed()] as const;
  const relays = feeds.map((feed) => relayChanges(feed, { redisUrl: url, log }));
  t.teardown(async () => {
    for (const r of relays) await r.close();
  });
  const b = recorder(feeds[1]);
  // The render cache as provisioning wires it.
  const cache = new RenderCache();
  feeds[1].subscribeEverywhere({ change: (c) => cache.invalidate(c.id), deaf: () => cache.distrust(), hearing: () => cache.trust() });
  const file = renderedFile('a = 1\n', 'text/plain', '2026-12-06T07:00:00Z', 'full', 'yealink');
  cache.set('k', file, ['e1']);
  t.equal(cache.get('k'), null, 'nothing is kept before the subscription is confirmed');
  for (const r of relays) r.start();
  await until('B to hear the channel', () => b.hears());
  cache.set('k', file, ['e1']);
  t.equal(cache.get('k'), file, 'kept once changes are heard');

  let server: ChildProcess = redis.proc;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
  await until('B to know it hears nothing', () => !b.hears());
  t.equal(cache.get('k'), null, 'the cache dropped everything when the subscription went');
  cache.set('k', file, ['e1']);
  t.equal(cache.get('k'), null, 'and keeps nothing while it is down');
  // Unheard by B: after this, it must not rely on anything it kept before.
  feeds[0].publish(change('e-missed'));

  server = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const again = new Promise((resolve) => server.once('exit', resolve));
  t.teardown(async () => {
    server.kill('SIGKILL');
    await again;
  });
  await until('B to hear again', () => b.hears(), 60_000);
  t.same(b.states, ['deaf', 'hearing', 'deaf', 'hearing'], 'told when it went deaf and when it heard again');
  cache.set('k', file, ['e1']);
  t.equal(cache.get('k'), file, 'the cache keeps files again');
  feeds[0].publish(change('e1', { action: 'credentials' }));
  await until('the next change to reach B', () => b.heard.some((c) => c.action === 'credentials'));
  t.equal(cache.get('k'), null, 'and drops them on changes from elsewhere');
});
