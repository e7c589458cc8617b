import type { Knex } from 'knex';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Devices removed per pass at the most: a pass holds a transaction. */
const PASS_MAX = 500;

/**
 * Removes pending devices (made when an unknown MAC asked for its files, and
 * never given to a tenant or an extension) that have not asked for anything
 * for `days` days, with their timelines. Without this, every MAC a scan or a
 * phone passing through ever tried stays in the devices table for good.
 * Devices an administrator entered (with a tenant) are never removed.
 * Returns the ids of the devices removed (and of any bound in the same
 * instant, which are kept: their caches are only refreshed).
 */
export async function expirePendingDevices(knex: Knex, days: number, now = Date.now()): Promise<string[]> {
  const cutoff = new Date(now - days * DAY_MS).toISOString();
  const stale = (q: Knex.QueryBuilder) => q.whereNull('tenant_id').whereNull('extension_id').whereRaw('COALESCE(last_seen_at, created_at) < ?', [cutoff]);
  return knex.transaction(async (trx) => {
    const ids = (await stale(trx('devices').select('id')).orderBy('id').limit(PASS_MAX)).map((r: { id: string }) => r.id);
    if (ids.length === 0) return [];
    // The conditions again at deletion: a device bound in the meantime keeps its timeline.
    await trx('device_events').whereIn('device_id', stale(trx('devices').select('id').whereIn('id', ids))).delete();
    await stale(trx('devices').whereIn('id', ids)).delete();
    return ids;
  });
}
