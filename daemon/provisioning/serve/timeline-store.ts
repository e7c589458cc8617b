import type { Database } from '../../storage/database';
import { type RowUpdate, updateMany } from '../../storage/update-many';
import { devicesForExtensions } from '../store/devices';

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

/** An entry for whichever phone is on an extension (as its own, or on a port of an ATA); not stored when it has none. */
export interface ExtensionEventRow extends Omit<EventRow, 'device_id'> {
  extension_id: string;
}

/** What one flush of the timeline writes: new entries, new counts of stored ones (`[count, last_at]`), devices' `[last_seen_at, last_source]`. */
export interface TimelineBatch {
  inserts: EventRow[];
  forExtensions: ExtensionEventRow[];
  counts: RowUpdate[];
  seen: RowUpdate[];
}

const COLUMNS = ['id', 'device_id', 'at', 'kind', 'transport', 'file', 'source', 'user_agent', 'result', 'detail', 'count', 'last_at'] as const;

const INSERT = `INSERT INTO device_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
const REST = COLUMNS.filter((c) => c !== 'id' && c !== 'device_id');
// An extension is on one phone at most (one-phone-per-extension rule), so the union holds one row or none.
const INSERT_FOR_EXTENSION = `INSERT INTO device_events (${COLUMNS.join(', ')}) SELECT ?, phone.id, ${REST.map(() => '?').join(', ')}
  FROM (SELECT id FROM devices WHERE extension_id = ? UNION ALL SELECT device_id AS id FROM device_ports WHERE extension_id = ?) phone`;
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
      // The phone is found by the thread, in SQL: neither the lookup nor its wait is on the event loop.
      { sql: INSERT_FOR_EXTENSION, rows: batch.forExtensions.map((r) => [r.id, ...REST.map((c) => r[c]), r.extension_id, r.extension_id]) },
      { sql: COUNT, rows: batch.counts.map((u) => [...u.values, u.id]) },
      { sql: SEEN, rows: batch.seen.map((u) => [...u.values, u.id]) },
    ]);
    return;
  }
  // Elsewhere the lookup's wait is not the event loop's, and one query per 500 entries costs it little.
  const phones = batch.forExtensions.length > 0 ? await devicesForExtensions(db.knex, [...new Set(batch.forExtensions.map((r) => r.extension_id))]) : new Map<string, string>();
  const placed: EventRow[] = [];
  for (const { extension_id, ...rest } of batch.forExtensions) {
    const device = phones.get(extension_id);
    if (device) placed.push({ ...rest, device_id: device });
  }
  await db.knex.transaction(async (trx) => {
    await trx.batchInsert('device_events', [...batch.inserts, ...placed], 100);
    await updateMany(trx, 'device_events', ['count', 'last_at'], batch.counts);
    await updateMany(trx, 'devices', ['last_seen_at', 'last_source'], batch.seen);
  });
}
