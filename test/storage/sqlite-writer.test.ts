import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { openDatabase } from '../../daemon/storage/database';
import { WRITER_NICE } from '../../daemon/storage/sqlite-writer';

async function table(t: Test) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-writer-'));
  const db = openDatabase(`sqlite://${dir}/w.sqlite`);
  t.teardown(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await db.knex.schema.createTable('things', (tb) => {
    tb.string('id').primary();
    tb.integer('n').notNullable();
  });
  return db;
}

t.test('a write is committed, in order, and the daemon\'s own connection reads it once resolved', async (t) => {
  const db = await table(t);
  await db.offLoop!.write([
    { sql: 'INSERT INTO things (id, n) VALUES (?, ?)', rows: [['a', 1], ['b', 2], ["it's; drop table things; --", 3]] },
    { sql: 'UPDATE things SET n = ? WHERE id = ?', rows: [[20, 'b']] },
  ]);
  t.same(await db.knex('things').orderBy('id').select('id', 'n'), [{ id: 'a', n: 1 }, { id: 'b', n: 20 }, { id: "it's; drop table things; --", n: 3 }]);
});

t.test('a failing statement stores nothing of its write, says why, and the next write goes through', async (t) => {
  const db = await table(t);
  await t.rejects(db.offLoop!.write([
    { sql: 'INSERT INTO things (id, n) VALUES (?, ?)', rows: [['x', 1], ['y', 2], ['x', 3]] },
  ]), /UNIQUE constraint failed: things\.id/);
  t.equal((await db.knex('things')).length, 0, 'no row of the failed write');
  await t.rejects(db.offLoop!.write([{ sql: 'INSERT INTO nowhere VALUES (?)', rows: [[1]] }]), /no such table: nowhere/);
  await db.offLoop!.write([{ sql: 'INSERT INTO things (id, n) VALUES (?, ?)', rows: [['z', 9]] }]);
  t.same(await db.knex('things').select('id', 'n'), [{ id: 'z', n: 9 }]);
});

t.test('closing the database waits for the writes in flight', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-writer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const url = `sqlite://${dir}/w.sqlite`;
  const db = openDatabase(url);
  await db.knex.schema.createTable('things', (tb) => {
    tb.string('id').primary();
  });
  const rows = Array.from({ length: 20_000 }, (_, i) => [`r${i}`]);
  const written = db.offLoop!.write([{ sql: 'INSERT INTO things (id) VALUES (?)', rows }]);
  await db.close();
  await written;
  const again = openDatabase(url);
  t.teardown(() => again.close());
  t.equal(Number((await again.knex('things').count({ n: '*' }).first())?.n), 20_000, 'every row was committed before the close finished');
});

t.test('an in-memory database has no writer thread: it could not share the data', async (t) => {
  const db = openDatabase('sqlite::memory:');
  t.teardown(() => db.close());
  t.equal(db.offLoop, null);
});

t.test('the writer thread runs at a lower priority than the event loop, which keeps its own', { skip: process.platform === 'linux' ? false : 'per-thread nice values are Linux\'s' }, async (t) => {
  const db = await table(t);
  const niceOf = (task: string) => Number(fs.readFileSync(`/proc/self/task/${task}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
  const before = new Set(fs.readdirSync('/proc/self/task'));
  const loopNice = niceOf(String(process.pid));
  await db.offLoop!.write([{ sql: 'INSERT INTO things (id, n) VALUES (?, ?)', rows: [['a', 1]] }]);
  const started = fs.readdirSync('/proc/self/task').filter((task) => !before.has(task));
  t.same(started.map(niceOf), [WRITER_NICE], 'one thread started for the writes, at the writer\'s nice value');
  t.equal(niceOf(String(process.pid)), loopNice, 'the event loop\'s thread keeps its own');
});
