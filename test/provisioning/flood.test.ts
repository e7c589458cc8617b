import t from 'tap';
import { startTestApp } from '../helpers/app';
import { provisioning } from './clients';
import { PER_DEVICE_FILE, fleet } from './fleet';

t.test('unknown MACs from many sources are bounded as a whole', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '2' } });
  const files = provisioning(ta).files;
  const results = [];
  for (let i = 0; i < 80; i++) {
    const mac = `000b82${i.toString(16).padStart(6, '0')}`;
    results.push((await files.fetch({ name: `Grandstream/cfg${mac}.xml`, transport: 'http', source: `10.0.${i >> 8}.${i & 255}` })).status);
  }
  const pending = await ta.call('GET', '/api/v1/devices?status=pending&limit=500', { token: ta.operatorToken });
  t.equal(pending.body.total, 40, 'twenty times the per-source limit, then no more new devices this minute');
  t.equal(results.filter((s) => s === 'rate_limited').length, 40);
  t.equal(results.filter((s) => s === 'ok').length, 40);
});

t.test('failures count per source and name, and per source and MAC, never against the neighbours', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '3' } });
  const files = provisioning(ta).files;
  const f = await fleet(ta);
  const [a, b] = [f.devices[1]!, f.devices[2]!];
  const fileA = PER_DEVICE_FILE[a.vendor]!(a.mac);
  const fileB = PER_DEVICE_FILE[b.vendor]!(b.mac);
  for (const name of [fileA, fileB]) t.equal((await files.fetch({ name, transport: 'http', source: '10.1.1.1' })).status, 'ok', `${name}: first fetch hands out the credentials`);
  const wrong = 'Digest username="nobody", realm="dialtone-provisioning", nonce="x", uri="/", response="0"';
  const statuses = [];
  for (let i = 0; i < 5; i++) statuses.push((await files.fetch({ name: fileA, transport: 'http', source: '10.1.1.1', authorization: wrong })).status);
  t.same(statuses, ['unauthorized', 'unauthorized', 'unauthorized', 'rate_limited', 'rate_limited'], 'wrong credentials for one device are cut off from that source');
  t.equal((await files.fetch({ name: fileB, transport: 'http', source: '10.1.1.1', authorization: wrong })).status, 'unauthorized', 'another device from the same source is still answered');
  t.equal((await files.fetch({ name: fileA, transport: 'http', source: '10.9.9.9', authorization: wrong })).status, 'unauthorized', 'and the same device from another source');

  const missing = [];
  for (let i = 0; i < 5; i++) missing.push((await files.fetch({ name: 'SIPDefault.cnf', transport: 'tftp', source: '10.2.2.2' })).status);
  t.same(missing, ['not_found', 'not_found', 'not_found', 'rate_limited', 'rate_limited'], 'one name asked for again and again is cut off');
  t.equal((await files.fetch({ name: 'XMLDefault.cnf.xml', transport: 'tftp', source: '10.2.2.2' })).status, 'not_found', 'another unknown name is still answered as not found');
  const scan = [];
  for (let i = 0; i < 70; i++) scan.push((await files.fetch({ name: `made-up-${i}.cfg`, transport: 'tftp', source: '10.3.3.3' })).status);
  t.equal(scan.filter((s) => s === 'not_found').length, 60, 'a scan of made-up names is cut off after twenty times the limit');
  t.equal((await files.fetch({ name: PER_DEVICE_FILE[a.vendor]!(a.mac), transport: 'tftp', source: '10.3.3.3' })).status, 'ok', "while that source's known devices are still served");
});
