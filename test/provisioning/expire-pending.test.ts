import t from 'tap';
import type { Mac } from '../../daemon/provisioning/mac';
import { expirePendingDevices } from '../../daemon/provisioning/store/expire-pending';
import { newDeviceRow } from '../../daemon/provisioning/store/devices';
import { startTestApp } from '../helpers/app';
import { databaseKinds } from '../helpers/databases';
import { provisionedExtension } from './fixtures';

const NOW = Date.parse('2026-11-22T09:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW - d * 86_400_000).toISOString();

for (const kind of databaseKinds()) {
  t.test(`${kind}: pending devices that stopped asking are removed with their timelines, and nothing else is`, async (t) => {
    const ta = await startTestApp(t, kind);
    const f = await provisionedExtension(ta);
    const knex = ta.app.runtime.db.knex;
    const device = async (mac: string, o: { tenant?: boolean; extension?: boolean; seen?: string | null; created: string }) => {
      const row = newDeviceRow(ta.app.runtime.secrets, { mac: mac as Mac, tenantId: o.tenant ? f.tenant.id : null, vendor: 'yealink', model: 'T46S', extensionId: o.extension ? f.extension.id : null });
      await knex('devices').insert({ ...row, created_at: o.created, last_seen_at: o.seen ?? null });
      await knex('device_events').insert({ id: `ev-${mac}`, device_id: row.id, at: o.created, kind: 'fetch', transport: 'tftp', file: `${mac}.cfg`, source: '10.0.0.9', user_agent: null, result: 'activation', detail: null });
      return row.id as string;
    };
    const gone = await device('0015650000a1', { seen: daysAgo(31), created: daysAgo(90) });
    const neverSeen = await device('0015650000a2', { seen: null, created: daysAgo(40) });
    const recent = await device('0015650000a3', { seen: daysAgo(2), created: daysAgo(90) });
    const entered = await device('0015650000a4', { tenant: true, seen: null, created: daysAgo(400) });
    const bound = await device('0015650000a5', { tenant: true, extension: true, seen: daysAgo(100), created: daysAgo(400) });
    t.same((await expirePendingDevices(knex, 30, NOW)).sort(), [gone, neverSeen].sort());
    t.same((await knex('devices').select('id').orderBy('id')).map((r: { id: string }) => r.id), [recent, entered, bound].sort(), 'the recent, the entered and the bound stay');
    t.same((await knex('device_events').select('device_id')).map((r: { device_id: string }) => r.device_id).sort(), [recent, entered, bound].sort(), 'with their timelines; the others\' went with them');
    t.same(await expirePendingDevices(knex, 30, NOW), [], 'nothing more to do');
    t.same(await expirePendingDevices(knex, 1, NOW), [recent], 'a shorter lifetime takes the recent one too');
  });
}

t.test('the lifetime is an option: 0 keeps pending devices, junk is refused by name', async (t) => {
  const { loadConfig } = await import('../../daemon/config/load');
  t.equal(loadConfig({}).pendingDeviceDays, 30);
  t.equal(loadConfig({ DIALTONE_PENDING_DEVICE_DAYS: '0' }).pendingDeviceDays, 0);
  for (const junk of ['-1', '3651', '1.5', 'forever', ' 7']) {
    t.throws(() => loadConfig({ DIALTONE_PENDING_DEVICE_DAYS: junk }), { message: /^DIALTONE_PENDING_DEVICE_DAYS: / }, JSON.stringify(junk));
  }
});
