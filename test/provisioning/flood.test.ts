import t from 'tap';
import { startTestApp } from '../helpers/app';
import { provisioning } from './clients';

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
