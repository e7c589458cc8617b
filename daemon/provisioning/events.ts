import type { Knex } from 'knex';
import { newId, now } from '../core/ids';

export type DeviceEventKind = 'fetch' | 'registration' | 'resync' | 'created' | 'assigned' | 'call' | 'firmware';

export interface DeviceEvent {
  kind: DeviceEventKind;
  transport?: 'tftp' | 'http' | 'https' | 'sip' | 'api' | null;
  file?: string | null;
  source?: string | null;
  userAgent?: string | null;
  /** `ok`, `not_modified`, `unauthorized`, `not_found`, `rate_limited`, `activation`, `registered`, `sent`, `failed`… */
  result: string;
  detail?: string | null;
  at?: string;
}

export interface DeviceEventView extends Required<Omit<DeviceEvent, 'at'>> {
  id: string;
  /** When it happened; for a run of identical fetches, when the first one came. */
  at: string;
  /** How many identical events this entry stands for (fetches repeated within a minute of the first are counted, not stored again). */
  count: number;
  /** When the last of them came: `at` for a single event. */
  lastAt: string;
  /** For a resync the phone answered: when it then fetched its configuration, or null while it has not. */
  appliedAt?: string | null;
}

const FETCHED = new Set(['ok', 'not_modified']);

/**
 * A resync took effect when the phone fetched its configuration after it:
 * derived from the timeline (newest first) when read, so the fetch path
 * writes nothing extra.
 */
export function markAppliedResyncs(newestFirst: DeviceEventView[]): DeviceEventView[] {
  // Walking from newest to oldest, the last fetch seen is the earliest one after whatever comes next.
  let firstFetchAfter: string | null = null;
  return newestFirst.map((e, i) => {
    if (e.kind === 'fetch' && FETCHED.has(e.result)) firstFetchAfter = e.at;
    if (e.kind !== 'resync' || e.result !== 'sent') return e;
    // A run of fetches that began before the resync and went on after it: its repeats after the resync came
    // before any later entry, and by its last one at the latest (the exact moment is not kept).
    const before = newestFirst.slice(i + 1).find((x) => x.kind === 'fetch' && FETCHED.has(x.result));
    const straddling = before && before.lastAt > e.at ? before.lastAt : null;
    const applied = straddling !== null && (firstFetchAfter === null || straddling < firstFetchAfter) ? straddling : firstFetchAfter;
    return { ...e, appliedAt: applied };
  });
}

// The timeline answers "what happened lately"; older entries are dropped so a flood cannot grow it without bound.
const KEEP_PER_DEVICE = 500;
const TRIM_EVERY = 50;
let sinceTrim = 0;

const clip = (s: string | null | undefined, n: number) => (s === null || s === undefined ? null : s.slice(0, n));

/** One entry in a device's timeline: fetches, registrations, resyncs. Never holds a secret. */
export async function recordDeviceEvent(knex: Knex, deviceId: string, e: DeviceEvent): Promise<void> {
  await knex('device_events').insert({
    id: newId(), device_id: deviceId, at: e.at ?? now(), kind: e.kind, transport: e.transport ?? null,
    file: clip(e.file, 255), source: clip(e.source, 64), user_agent: clip(e.userAgent, 255), result: clip(e.result, 32), detail: clip(e.detail, 255),
  });
  if (++sinceTrim >= TRIM_EVERY) {
    sinceTrim = 0;
    await trimDeviceEvents(knex, deviceId);
  }
}

/**
 * Drops a device's timeline entries beyond the newest KEEP_PER_DEVICE, in the
 * order the timeline is read (time, then id): entries of one millisecond
 * (a batch of registrations) are told apart by their id, so none of the
 * newest is dropped with an older one of the same time.
 */
export async function trimDeviceEvents(knex: Knex, deviceId: string, keep = KEEP_PER_DEVICE): Promise<void> {
  const cutoff = await knex('device_events').where('device_id', deviceId)
    .orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).offset(keep).first('at', 'id');
  if (!cutoff) return;
  await knex('device_events').where('device_id', deviceId)
    .where((q) => q.where('at', '<', cutoff.at).orWhere((same) => same.where('at', cutoff.at).where('id', '<=', cutoff.id)))
    .delete();
}

export async function deviceEvents(knex: Knex, deviceId: string, limit: number): Promise<DeviceEventView[]> {
  const rows = await knex('device_events').where('device_id', deviceId).orderBy([{ column: 'at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
  return markAppliedResyncs(rows.map((r: Record<string, any>) => ({
    id: r.id, at: r.at, kind: r.kind, transport: r.transport ?? null, file: r.file ?? null, source: r.source ?? null,
    userAgent: r.user_agent ?? null, result: r.result, detail: r.detail ?? null, count: Number(r.count ?? 1), lastAt: r.last_at ?? r.at,
  })));
}
