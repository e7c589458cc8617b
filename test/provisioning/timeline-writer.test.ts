import t, { type Test } from 'tap';
import { createLogger } from '../../daemon/core/log';
import { SecretBox } from '../../daemon/crypto/secret-box';
import { deviceEvents, trimDeviceEvents } from '../../daemon/provisioning/events';
import type { Mac } from '../../daemon/provisioning/mac';
import { REPEAT_WINDOW_MS, TimelineWriter } from '../../daemon/provisioning/serve/timeline-writer';
import { newDeviceRow } from '../../daemon/provisioning/store/devices';
import { migrate } from '../../daemon/storage/database';
import { startTestApp } from '../helpers/app';
import { databaseKinds, openTestDatabase } from '../helpers/databases';
import { provisionedExtension } from './fixtures';

const T0 = Date.parse('2026-11-22T06:00:00.000Z');
const fetched = (result = 'ok', more: { source?: string; userAgent?: string; file?: string } = {}) => ({
  kind: 'fetch' as const, transport: 'http' as const, file: more.file ?? '0015654aa937.cfg', source: more.source ?? '10.0.0.7', userAgent: more.userAgent ?? 'Yealink SIP-T46S', result, detail: null,
});

/** A migrated database of that kind holding one pending phone, whose timeline the tests write. */
async function oneDevice(t: Test, kind: 'sqlite' | 'mysql') {
  const database = await openTestDatabase(t, kind);
  await migrate(database);
  const row = newDeviceRow(new SecretBox(Buffer.alloc(32, 1)), { mac: '0015654aa937' as Mac, tenantId: null, vendor: 'yealink', model: 'T46S', extensionId: null });
  await database.knex('devices').insert(row);
  return { database, knex: database.knex, row };
}

for (const kind of databaseKinds()) {
  t.test(`${kind}: repeated identical fetches are counted on one entry`, async (t) => {
    const { database, knex, row } = await oneDevice(t, kind);
    const id = row.id as string;
    let clock = T0;
    const writer = new TimelineWriter(database, createLogger('silent'), () => clock);
    const read = async () => {
      await writer.flush();
      return (await deviceEvents(knex, id, 100)).reverse();
    };

    for (let i = 0; i < 5; i++, clock += 1000) writer.add(id, fetched());
    let events = await read();
    t.equal(events.length, 1, 'five identical fetches make one entry');
    t.match(events[0], { count: 5, at: '2026-11-22T06:00:00.000Z', lastAt: '2026-11-22T06:00:04.000Z', result: 'ok', source: '10.0.0.7' });
    t.match(await knex('devices').where('id', id).first(), { last_seen_at: '2026-11-22T06:00:04.000Z', last_source: '10.0.0.7' }, 'last seen is the last of the run');

    writer.add(id, fetched());
    clock += 1000;
    events = await read();
    t.equal(events.length, 1, 'a repeat after the entry was written still counts on it');
    t.equal(events[0]!.count, 6);

    writer.add(id, fetched('unauthorized'));
    writer.add(id, fetched());
    writer.add(id, fetched('ok', { source: '10.0.0.8' }));
    writer.add(id, fetched('ok', { source: '10.0.0.8', userAgent: 'curl/8' }));
    writer.add(id, fetched('ok', { source: '10.0.0.8', userAgent: 'curl/8', file: 'y000000000066.cfg' }));
    events = await read();
    t.same(events.map((e) => e.count), [6, 1, 1, 1, 1, 1], 'any difference (result, source, User-Agent, file) is a new entry, and an interrupted run is not resumed');

    clock += REPEAT_WINDOW_MS;
    writer.add(id, fetched('ok', { source: '10.0.0.8', userAgent: 'curl/8', file: 'y000000000066.cfg' }));
    events = await read();
    t.equal(events.length, 7, 'a repeat a minute after the first of its run starts a new entry');

    clock -= 10 * REPEAT_WINDOW_MS;
    writer.add(id, fetched('ok', { source: '10.0.0.8', userAgent: 'curl/8', file: 'y000000000066.cfg' }));
    events = await read();
    t.equal(events.length, 8, 'a clock that went back is not counted on a later entry');
  });
}

t.test('hostile values are clipped before they are compared and stored', async (t) => {
  const { database, knex, row } = await oneDevice(t, 'sqlite');
  let clock = T0;
  // Entries of one instant are listed in no particular order: each comes a second after the one before.
  const writer = new TimelineWriter(database, createLogger('silent'), () => (clock += 1000));
  const long = 'A'.repeat(255);
  writer.add(row.id as string, fetched('ok', { userAgent: `${long}first`, file: `${'f'.repeat(300)}.cfg` }));
  writer.add(row.id as string, fetched('ok', { userAgent: `${long}second`, file: `${'f'.repeat(300)}.cfg` }));
  writer.add(row.id as string, { ...fetched(), result: 'x'.repeat(100), detail: "'); drop table devices; --".repeat(20) });
  await writer.flush();
  const events = await deviceEvents(knex, row.id as string, 10);
  t.equal(events.length, 2);
  t.match(events[1], { count: 2, userAgent: long, file: 'f'.repeat(255) }, 'User-Agents equal in what is kept count as one');
  t.equal(events[0]!.result.length, 32);
  t.equal(events[0]!.detail!.length, 255);
  t.ok(await knex('devices').where('id', row.id as string).first(), 'nothing in a value reaches the SQL');
});

t.test('the events API shows a polling phone as one entry with its count', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await provisionedExtension(ta);
  const ua = { 'user-agent': 'Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37' };
  const created = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S', extensionId: f.extension.id } });
  t.equal((await ta.call('GET', '/prov/0015654aa937.cfg', { headers: ua })).status, 200);
  for (let i = 0; i < 4; i++) t.equal((await ta.call('GET', '/prov/0015654aa937.cfg', { headers: ua })).status, 401);
  const events = await ta.call('GET', `/api/v1/devices/${created.body.id}/events`, { token: f.token });
  const fetches = events.body.items.filter((e: { kind: string }) => e.kind === 'fetch');
  t.match(fetches, [{ result: 'unauthorized', count: 4, detail: 'no credentials' }, { result: 'ok', count: 1 }]);
  t.ok(fetches[0].lastAt >= fetches[0].at && fetches[1].lastAt === fetches[1].at, 'lastAt is the last of the run');
  const doc = await ta.call('GET', '/api/docs/json');
  const schema = doc.body.paths['/api/v1/devices/{id}/events'].get.responses['200'].content['application/json'].schema;
  t.match(schema.properties.items.items.properties, { count: { type: 'integer' }, lastAt: { type: 'string' } }, 'documented in the OpenAPI document');
});

for (const kind of databaseKinds()) {
  t.test(`${kind}: every entry written under load is stored, and the rest at shutdown`, async (t) => {
    const database = await openTestDatabase(t, kind);
    await migrate(database);
    const box = new SecretBox(Buffer.alloc(32, 1));
    const rows = Array.from({ length: 200 }, (_, i) => newDeviceRow(box, { mac: `001565${i.toString(16).padStart(6, '0')}` as Mac, tenantId: null, vendor: 'yealink', model: 'T46S', extensionId: null }));
    await database.knex.batchInsert('devices', rows, 100);
    const ids = rows.map((r) => r.id as string);
    let clock = T0;
    const writer = new TimelineWriter(database, createLogger('silent'), () => clock);
    // 12,000 fetches from ever-changing sources: more new entries than one batch holds.
    const total = 12_000;
    for (let i = 0; i < total; i++) {
      const device = ids[i % ids.length]!;
      writer.add(device, fetched('ok', { source: `10.0.${Math.floor(i / 250)}.${i % 250}` }));
      clock += 1;
      // Now and then the event loop turns, as it does between requests, and batches already handed over are written meanwhile.
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    // What the component's stop() does at shutdown.
    await writer.flush();
    const stored = await database.knex('device_events').select(database.knex.raw('count(*) as n'), database.knex.raw('sum(count) as fetches')).first();
    t.equal(Number(stored.fetches), total, 'every fetch is in the timeline, as an entry or in a count');
    t.ok(Number(stored.n) > 5000, `more than one batch of entries (${stored.n})`);
    const seen = await database.knex('devices').whereNull('last_seen_at').count({ n: '*' }).first();
    t.equal(Number(seen?.n), 0, 'every device has its last-seen stamp');
  });
}

t.test('sqlite: a large batch is written beside the event loop, which turns meanwhile', async (t) => {
  const database = await openTestDatabase(t, 'sqlite');
  await migrate(database);
  const row = newDeviceRow(new SecretBox(Buffer.alloc(32, 1)), { mac: '0015654aa937' as Mac, tenantId: null, vendor: 'yealink', model: 'T46S', extensionId: null });
  await database.knex('devices').insert(row);
  const { storeTimeline } = await import('../../daemon/provisioning/serve/timeline-store');
  const inserts = Array.from({ length: 20_000 }, (_, i) => ({
    id: `e${i}`, device_id: row.id as string, at: new Date(T0 + i).toISOString(), kind: 'fetch', transport: 'http', file: 'x.cfg', source: `10.0.0.${i % 250}`,
    user_agent: 'ua', result: 'ok', detail: null, count: 1, last_at: new Date(T0 + i).toISOString(),
  }));
  let turns = 0;
  let writing = true;
  const tick = () => {
    turns++;
    if (writing) setImmediate(tick);
  };
  setImmediate(tick);
  await storeTimeline(database, { inserts, forExtensions: [], counts: [], seen: [{ id: row.id as string, values: [new Date(T0).toISOString(), '10.0.0.1'] }] });
  writing = false;
  t.ok(turns > 1, `the event loop turned ${turns} times during the write`);
  const n = await database.knex('device_events').count({ n: '*' }).first();
  t.equal(Number(n?.n), 20_000, 'and every row is there');
});

for (const kind of databaseKinds()) {
  t.test(`${kind}: events of an extension land on the phone that is on it, found once per batch`, async (t) => {
    const ta = await startTestApp(t, kind);
    const f = await provisionedExtension(ta);
    const knex = ta.app.runtime.db.knex;
    const extension = async (number: string) => (await ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number, userId: f.user.id } })).body.id as string;
    const [onPort, withoutPhone] = [await extension('1002'), await extension('1003')];
    const phone = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S', extensionId: f.extension.id } });
    const ata = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '000b82aabbcc', model: 'HT802' } });
    t.equal(ata.status, 201);
    await knex('device_ports').insert({ device_id: ata.body.id, port: 2, extension_id: onPort });

    let clock = T0;
    const writer = new TimelineWriter(ta.app.runtime.db, createLogger('silent'), () => clock);
    const registrations = async (deviceId: string) => (await deviceEvents(knex, deviceId, 10)).filter((e) => e.kind === 'registration');
    const registered = (contact: string) => ({ kind: 'registration' as const, transport: 'sip' as const, source: 'udp:10.0.0.7:5060', userAgent: 'Yealink', result: 'registered', detail: contact });
    for (let i = 0; i < 3; i++, clock += 1000) writer.addForExtension(f.extension.id, registered('sip:1001@10.0.0.7'));
    writer.addForExtension(onPort, registered('sip:1002@10.0.0.8'));
    writer.addForExtension(withoutPhone, registered('sip:1003@10.0.0.9'));
    writer.addForExtension('no-such-extension', registered('sip:x@10.0.0.9'));
    await writer.flush();

    t.match(await registrations(phone.body.id), [{ kind: 'registration', result: 'registered', detail: 'sip:1001@10.0.0.7', count: 3 }], 'three identical events are one entry on the phone');
    t.match(await registrations(ata.body.id), [{ detail: 'sip:1002@10.0.0.8', count: 1 }], 'an extension on a port of an ATA writes to the ATA');
    t.equal((await knex('device_events').where('kind', 'registration')).length, 2, 'an extension without a phone, or unknown, writes nothing');

    writer.addForExtension(f.extension.id, registered('sip:1001@10.0.0.7'));
    writer.addForExtension(withoutPhone, registered('sip:1003@10.0.0.9'));
    await writer.flush();
    t.match(await registrations(phone.body.id), [{ count: 4 }], 'a repeat after the write counts on the stored entry');

    // A phone flapping between contacts makes a new entry each time: its timeline stays bounded all the same.
    for (let i = 0; i < 600; i++, clock += 10) writer.addForExtension(onPort, { ...registered(`sip:1002@10.0.${i >> 8}.${i & 255}`), at: new Date(clock).toISOString() });
    await writer.flush();
    t.equal((await knex('device_events').where('device_id', ata.body.id)).length, 500, 'the ATA keeps its newest 500 entries');
  });
}

for (const kind of databaseKinds()) {
  t.test(`${kind}: trimming keeps exactly the newest entries, entries of one millisecond included`, async (t) => {
    const { knex, row } = await oneDevice(t, kind);
    const id = row.id as string;
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    // Six entries, four of them in one millisecond: the newest four by (time, id) are kept.
    const rows = ['a1', 'a2', 'b1', 'b2', 'b3', 'b4'].map((n, i) => ({ id: `${n}-${id}`.slice(0, 36), device_id: id, at: at(i < 2 ? i : 5), kind: 'fetch', result: 'ok' }));
    await knex('device_events').insert(rows);
    const newest = (await deviceEvents(knex, id, 4)).map((e) => e.id);
    await trimDeviceEvents(knex, id, 4);
    t.same((await deviceEvents(knex, id, 100)).map((e) => e.id), newest, 'the four newest, as the timeline reads them');
    await trimDeviceEvents(knex, id, 3);
    t.same((await deviceEvents(knex, id, 100)).map((e) => e.id), newest.slice(0, 3), 'one of the same millisecond dropped, the others kept');
  });
}
