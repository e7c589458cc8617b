import t from 'tap';
import { RenderCache, renderedFile } from '../../daemon/provisioning/cache';

// A cached file that is a slice of Node's shared 8 kB pool keeps the whole block alive: with 10,000 phones
// fetching once an hour, a node's memory grew by about 8 kB per fetch instead of the file's size.
t.test('a rendered file owns exactly its bytes, so a cache of them holds no more than their size', async (t) => {
  const texts = ['#!version:1.0.0.1\naccount.1.enable = 1\n', 'account.1.label = Zoë Ørsted ☎\n'.repeat(20)];
  for (const text of texts) {
    const file = renderedFile(text, 'text/plain', '2026-12-06T07:00:00Z', 'full', 'yealink');
    t.equal(file.body.toString('utf8'), text, 'the body is the text, in UTF-8');
    t.equal(file.body.buffer.byteLength, Buffer.byteLength(text, 'utf8'), 'its memory is its own and no larger');
  }
});

t.test('the cache hands back the file it was given, until a record it was built from changes', async (t) => {
  const cache = new RenderCache();
  const file = renderedFile('a = 1\n', 'text/plain', '2026-12-06T07:00:00Z', 'full', 'yealink');
  cache.set('mac.cfg', file, ['device-1', 'extension-1']);
  t.equal(cache.get('mac.cfg'), file);
  cache.invalidate('extension-1');
  t.equal(cache.get('mac.cfg'), null, 'a change to its extension drops it');
});
