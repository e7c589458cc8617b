import type { Database } from '../../storage/database';
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

const COLUMNS = ['id', 'device_id', 'at', 'kind', 'transport', 'file', 'source', 'user_agent', 'result', 'detail', 'count', 'last_at'] as const;

const INSERT = `INSERT INTO device_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
const COUNT = 'UPDATE device_events SET count = ?, last_at = ? WHERE id = ?';
const SEEN = 'UPDATE devices SET last_seen_at = ?, last_source = ? WHERE id = ?';

/**
 * Writes one batch. On a SQLite file the statements run on the database's
 * writer thread (`offLoop`), so that neither they nor the commits' waits for
 * the disk hold the event loop; elsewhere in one transaction of the query builder.
 */
export async function storeTimeline(db: Pick<Database, 'knex' | 'offLoop'>, batch: TimelineBatch): Promise<void> {
  if (db.offLoop) {
    await db.offLoop.write([
      { sql: INSERT, rows: batch.inserts.map((r) => COLUMNS.map((c) => r[c])) },
      { sql: COUNT, rows: batch.counts.map((u) => [...u.values, u.id]) },
      { sql: SEEN, rows: batch.seen.map((u) => [...u.values, u.id]) },
    ]);
    return;
  }
  await db.knex.transaction(async (trx) => {
    await trx.batchInsert('device_events', batch.inserts, 100);
    await updateMany(trx, 'device_events', ['count', 'last_at'], batch.counts);
    await updateMany(trx, 'devices', ['last_seen_at', 'last_source'], batch.seen);
  });
}
