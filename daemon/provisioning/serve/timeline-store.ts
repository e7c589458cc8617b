import type { Knex } from 'knex';
import { type RowUpdate, updateMany } from '../../storage/update-many';

/** One device_events row, as inserted. */
export interface EventRow {
  id: string;
  device_id: string;
  at: string;
  kind: string;
  transport: string | null;
  file: string | null;
  source: string | null;
  user_agent: string | null;
  result: string;
  detail: string | null;
  count: number;
  last_at: string;
}

/** What one flush of the timeline writes: new entries, new counts of stored ones (`[count, last_at]`), devices' `[last_seen_at, last_source]`. */
export interface TimelineBatch {
  inserts: EventRow[];
  counts: RowUpdate[];
  seen: RowUpdate[];
}

/** The better-sqlite3 connection, as far as this module uses it. */
interface SqliteConnection {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction(fn: () => void): () => void;
}

const COLUMNS = ['id', 'device_id', 'at', 'kind', 'transport', 'file', 'source', 'user_agent', 'result', 'detail', 'count', 'last_at'] as const;

// Prepared once per connection: through the query builder, each batch of a hundred rows was a new statement to compile.
const prepared = new WeakMap<SqliteConnection, { insert: ReturnType<SqliteConnection['prepare']>; count: ReturnType<SqliteConnection['prepare']>; seen: ReturnType<SqliteConnection['prepare']> }>();

function statements(conn: SqliteConnection) {
  let s = prepared.get(conn);
  if (!s) {
    s = {
      insert: conn.prepare(`INSERT INTO device_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`),
      count: conn.prepare('UPDATE device_events SET count = ?, last_at = ? WHERE id = ?'),
      seen: conn.prepare('UPDATE devices SET last_seen_at = ?, last_source = ? WHERE id = ?'),
    };
    prepared.set(conn, s);
  }
  return s;
}

/** How long one SQLite transaction of a batch may hold the event loop before the rest waits for the next turn. */
const SLICE_MS = 4;

/**
 * Writes one batch. On SQLite the statements run on the connection itself,
 * prepared once (through the query builder a batch of 10,000 new entries took
 * 650 ms of the event loop; this way about 120 ms), and in slices: each
 * transaction stops after SLICE_MS and the next one starts on a later turn of
 * the event loop, so requests that came in meanwhile are answered between
 * slices rather than after the whole batch. Resolves once every slice is committed.
 */
export async function storeTimeline(knex: Knex, batch: TimelineBatch): Promise<void> {
  if ((knex.client as { driverName?: string }).driverName === 'better-sqlite3') {
    const work: ['insert' | 'count' | 'seen', unknown[]][] = [
      ...batch.inserts.map((r): ['insert', unknown[]] => ['insert', COLUMNS.map((c) => r[c])]),
      ...batch.counts.map((u): ['count', unknown[]] => ['count', [...u.values, u.id]]),
      ...batch.seen.map((u): ['seen', unknown[]] => ['seen', [...u.values, u.id]]),
    ];
    for (let next = 0; next < work.length;) {
      if (next > 0) await new Promise((resolve) => setImmediate(resolve));
      const conn = (await knex.client.acquireConnection()) as SqliteConnection;
      try {
        const s = statements(conn);
        conn.transaction(() => {
          const until = performance.now() + SLICE_MS;
          do {
            const [statement, params] = work[next++]!;
            s[statement].run(...params);
          } while (next < work.length && performance.now() < until);
        })();
      } finally {
        await knex.client.releaseConnection(conn);
      }
    }
    return;
  }
  await knex.transaction(async (trx) => {
    await trx.batchInsert('device_events', batch.inserts, 100);
    await updateMany(trx, 'device_events', ['count', 'last_at'], batch.counts);
    await updateMany(trx, 'devices', ['last_seen_at', 'last_source'], batch.seen);
  });
}
