import t from 'tap';
import { Problems } from '../../daemon/core/errors';
import { validateKeys } from '../../daemon/admin/domain/keys';
import { startTestApp } from '../helpers/app';
import { provisioning } from './clients';
import { provisionedExtension } from './fixtures';

const check = (v: unknown) => {
  const p = new Problems();
  const keys = validateKeys(p, 'keys', v);
  return { keys, problems: p.list.map((x) => `${x.field}: ${x.reason}`) };
};

t.test('keys are checked field by field, and every problem is named', async (t) => {
  t.same(check([{ index: 1, type: 'park', value: '701' }]).keys, [{ index: 1, type: 'park', value: '701', label: '', module: 0 }], 'label and module default');
  t.same(check([{ index: 3, type: 'blf', value: '1002', label: 'Bob', module: 2 }]).problems, [], 'a key on the second expansion module');
  const cases: [unknown, RegExp][] = [
    ['nope', /^keys: must be a list/],
    [[42], /^keys\.0: must be \{index/],
    [[{ index: 0, type: 'blf', value: '1' }], /^keys\.0\.index: must be 1 to 64/],
    [[{ index: 1, type: 'macro', value: '1' }], /^keys\.0\.type: must be one of line, blf, speed-dial, park/],
    [[{ index: 1, type: 'speed-dial', value: 'rm -rf /' }], /^keys\.0\.value: must be/],
    [[{ index: 1, type: 'line', value: '12' }], /^keys\.0\.value: must be the line number/],
    [[{ index: 1, type: 'blf', value: '1', label: 'a\nb' }], /^keys\.0\.label: must be at most 32 printable/],
    [[{ index: 1, type: 'blf', value: '1', label: 'x'.repeat(33) }], /^keys\.0\.label/],
    [[{ index: 1, type: 'blf', value: '1', module: 7 }], /^keys\.0\.module: must be 0/],
    [[{ index: 1, type: 'blf', value: '1', colour: 'red' }], /^keys\.0\.colour: is not a key field/],
    [[{ index: 1, type: 'blf', value: '1' }, { index: 1, type: 'park', value: '2' }], /^keys\.1\.index: key 1 is given twice/],
    [Array.from({ length: 500 }, (_, i) => ({ index: 1, type: 'blf', value: String(i), module: 0 })), /^keys: must be a list/],
  ];
  for (const [input, problem] of cases) {
    const r = check(input);
    t.match(r.problems[0], problem, JSON.stringify(input).slice(0, 80));
  }
  t.same(check([{ index: 1, type: 'blf', value: '1' }, { index: 1, type: 'blf', value: '1', module: 1 }]).problems, [], 'the same index on the phone and on a module');
});

t.test('keys set per extension through the API reach the phone; a device override still wins', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const keys = [
    { index: 1, type: 'line', value: '1', label: 'Me' },
    { index: 2, type: 'blf', value: '1002', label: 'Bob' },
    { index: 3, type: 'park', value: '701', label: 'Park' },
    { index: 1, type: 'speed-dial', value: '+15551234', label: 'Desk', module: 1 },
  ];
  const patched = await ta.call('PATCH', `/api/v1/extensions/${f.extension.id}`, { token: f.token, body: { keys } });
  t.equal(patched.status, 200, patched.raw);
  t.same(patched.body.keys.map((k: { module: number }) => k.module), [0, 0, 0, 1], 'stored with their module');
  const bad = await ta.call('PATCH', `/api/v1/extensions/${f.extension.id}`, { token: f.token, body: { keys: [{ index: 1, type: 'intercom', value: '1' }] } });
  t.equal(bad.status, 400);
  t.match(JSON.stringify(bad.body), 'keys.0.type', 'the bad field is named');
  t.same((await ta.call('GET', `/api/v1/extensions/${f.extension.id}`, { token: f.token })).body.keys.length, 4, 'and nothing was half-written');

  const dev = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S', extensionId: f.extension.id } });
  t.equal(dev.status, 201);
  const file = async () => (await provisioning(ta).files.fetch({ name: '0015654aa937.cfg', transport: 'tftp', source: '127.0.0.1' }));
  let got = await file();
  const body = () => (got.status === 'ok' ? got.file.body.toString() : '');
  t.match(body(), 'linekey.2.type = 16\nlinekey.2.line = 1\nlinekey.2.value = 1002\nlinekey.2.label = Bob\nlinekey.2.extension = **', 'a BLF with the default pickup code');
  t.match(body(), 'linekey.3.type = 10\nlinekey.3.line = 1\nlinekey.3.value = 701', 'a park key');
  t.match(body(), 'expansion_module.1.key.1.type = 13', 'a speed dial on the expansion module');

  await ta.call('PATCH', `/api/v1/extensions/${f.extension.id}`, { token: f.token, body: { keys: [{ index: 5, type: 'blf', value: '1003', label: 'Carol' }] } });
  got = await file();
  t.match(body(), 'linekey.5.value = 1003', 'a change to the extension re-renders the file');
  t.notMatch(body(), 'linekey.2.', 'and the old keys are gone');
  await ta.call('PATCH', `/api/v1/devices/${dev.body.id}`, { token: f.token, body: { overrides: { keys: [{ index: 7, type: 'speed-dial', value: '*97', label: 'VM' }], pickupPrefix: '*8' } } });
  got = await file();
  t.match(body(), 'linekey.7.value = *97', "the device's own keys win over the extension's");
  t.notMatch(body(), 'linekey.5.', 'replacing them wholesale');
  const badPrefix = await ta.call('PATCH', `/api/v1/devices/${dev.body.id}`, { token: f.token, body: { overrides: { pickupPrefix: 'pick up' } } });
  t.equal(badPrefix.status, 400);
  t.match(JSON.stringify(badPrefix.body), 'overrides.pickupPrefix');
});
