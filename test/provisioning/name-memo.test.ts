import t from 'tap';
import type { FetchResult } from '../../daemon/provisioning/serve/fetch';
import { startTestApp } from '../helpers/app';
import { provisioning } from './clients';
import { provisionedExtension } from './fixtures';
import { SAMPLE_DEVICES } from './samples';

const text = (r: FetchResult) => (r.status === 'ok' ? r.file.body.toString('utf8') : r.status);

t.test('what a name was found to be follows every change to the device, its files and the User-Agent', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const { mac } = SAMPLE_DEVICES.yealink;
  const dev = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac, model: 'T46S', extensionId: f.extension.id } });
  const files = provisioning(ta).files;
  const fetch = async (userAgent?: string) => text(await files.fetch({ name: `${mac}.cfg`, transport: 'tftp', source: '10.0.0.1', userAgent }));

  const rotate = async () => t.equal((await ta.call('POST', `/api/v1/extensions/${f.extension.id}/rotate-credentials`, { token: f.token })).status, 204);
  const yealink = await fetch();
  t.match(yealink, /^#!version/, 'a Yealink file for the Yealink phone');
  t.equal(await fetch(), yealink, 'asked again, the same file');
  t.equal((await ta.call('PATCH', `/api/v1/devices/${dev.body.id}`, { token: f.token, body: { model: 'X5U' } })).status, 200);
  const fanvil = await fetch();
  t.match(fanvil, /^<<VOIP CONFIG FILE>>/, 'the phone became a Fanvil: the name now gives a Fanvil file');
  // A name two vendors share is rendered by the rule the User-Agent chose, each vendor's file cached apart.
  t.match(await fetch(SAMPLE_DEVICES.yealink.ua), /^#!version/, 'asked by a Yealink User-Agent, a Yealink file');
  t.equal(await fetch(), fanvil, 'asked with no User-Agent again, the Fanvil file it had');
  await rotate();
  const again = await fetch();
  t.match(again, /^<<VOIP CONFIG FILE>>/, 'rendered again with no User-Agent, a Fanvil file');
  t.not(again, fanvil, 'with the new SIP credentials');
  t.match(await fetch(SAMPLE_DEVICES.yealink.ua), /^#!version/, 'and the Yealink one too');
});

t.test('a flood of made-up names neither grows the memory of names without bound nor mixes them up', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const files = provisioning(ta).files;
  // Each from its own address, so that the failures never reach the limit per source.
  const fetch = (name: string, i: number) => files.fetch({ name, transport: 'tftp', source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
  const first = await fetch('../../etc/passwd', 0);
  t.match(first, { status: 'forbidden', reason: 'path traversal' });
  for (let i = 1; i <= 40_000; i++) {
    const r = await fetch(`made up ${i}.cfg`, i);
    if (r.status !== 'forbidden') t.fail(`made up ${i}: ${r.status}`);
  }
  t.match(await fetch('../../etc/passwd', 40_001), { status: 'forbidden', reason: 'path traversal' }, 'an early name, long since forgotten, is judged the same');
  t.match(await fetch('made up 39999.cfg', 40_002), { status: 'forbidden', reason: 'characters outside the allowed set' });
  t.match(await fetch('y000000000066.cfg', 40_003), { status: 'ok' }, 'a real name still resolves');
});
