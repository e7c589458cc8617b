import t from 'tap';
import { CacheTrust } from '../../daemon/core/cache-trust';

/** A cache of one map, kept only while trusted, as the caches using CacheTrust keep theirs. */
function cache() {
  const entries = new Map<string, string>();
  let forgotten = 0;
  const trust = new CacheTrust(() => {
    forgotten++;
    entries.clear();
  });
  const keep = (key: string) => {
    if (trust.mayKeep) entries.set(key, key);
  };
  return { entries, trust, keep, forgotten: () => forgotten };
}

t.test('a new cache is trusted and forgets nothing', async (t) => {
  const c = cache();
  t.equal(c.trust.mayKeep, true);
  c.keep('a');
  t.equal(c.entries.size, 1);
  t.equal(c.forgotten(), 0);
});

t.test('distrusted, it drops everything and keeps nothing; trusted again, it starts empty', async (t) => {
  const c = cache();
  c.keep('a');
  c.keep('b');
  c.trust.distrust();
  t.equal(c.trust.mayKeep, false);
  t.equal(c.entries.size, 0, 'everything dropped');
  c.keep('c');
  t.equal(c.entries.size, 0, 'nothing kept');
  c.trust.distrust();
  t.equal(c.trust.mayKeep, false, 'distrusted twice is still distrusted');
  c.trust.trust();
  t.equal(c.trust.mayKeep, true);
  c.keep('d');
  t.same([...c.entries.keys()], ['d'], 'kept again');
});

t.test('trusted, it always starts empty, even when it was not distrusted before', async (t) => {
  const c = cache();
  c.keep('a');
  c.trust.trust();
  t.equal(c.entries.size, 0);
  t.equal(c.trust.mayKeep, true);
});

t.test('the cache is told of each change of trust, in order: dropped before it may keep again', async (t) => {
  const seen: string[] = [];
  const trust = new CacheTrust(() => seen.push(trust.mayKeep ? 'forgot while keeping' : 'forgot while not keeping'));
  trust.distrust();
  trust.trust();
  t.same(seen, ['forgot while not keeping', 'forgot while not keeping'], 'never forgets after it may keep again, nor before it stops keeping');
});
