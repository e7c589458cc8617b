import { newId } from '../../core/ids';
import type { Logger } from '../../core/log';
import { type DeviceEvent, trimDeviceEvents } from '../events';
import type { Database } from '../../storage/database';
import { devicesForExtensions } from '../store/devices';
import { type EventRow, type ExtensionEventRow, storeTimeline } from './timeline-store';

// One write a second: on MariaDB each is a round of queries, on SQLite a batch for the writer thread.
const FLUSH_MS = 1000;
// A boot storm's first fetches are each a new entry: batches this small keep each one's turn on the event loop
// (rows built, handed to the writer) short, where 5,000 at a time stretched the p99 of every fetch around it.
const FLUSH_AT = 500;
const TRIM_FROM = 20;
/** Identical fetches of one device within this long of the first one are counted on that entry. */
export const REPEAT_WINDOW_MS = 60_000;
// Counts of runs that ended are written this often when no new entry brings a flush sooner.
const SWEEP_MS = 5_000;

const clip = (s: string | null | undefined, n: number) => (s === null || s === undefined ? null : s.slice(0, n));

interface Run {
  /** Where `open` keeps it: the device, or the extension whose phone is not yet known. */
  key: string;
  /** Null until the batch finds the phone on `extensionId`. */
  deviceId: string | null;
  extensionId: string | null;
  id: string;
  at: string;
  startMs: number;
  kind: DeviceEvent['kind'];
  transport: string | null;
  file: string | null;
  source: string | null;
  userAgent: string | null;
  result: string;
  detail: string | null;
  count: number;
  /** Kept as a number: turning every repeat's time into text would cost more than counting it. */
  lastMs: number;
  /** How many of `count` the database holds: 0 until the entry is inserted. */
  stored: number;
  /** In `dirty` already: a repeat need not look the set up again. */
  dirty: boolean;
}

const sameEvent = (r: Run, kind: string, transport: string | null, file: string | null, source: string | null, userAgent: string | null, result: string, detail: string | null) =>
  r.kind === kind && r.transport === transport && r.file === file && r.source === source && r.userAgent === userAgent && r.result === result && r.detail === detail;

/**
 * Fetch entries for the device timeline and last-seen stamps, written in one
 * transaction a second instead of two writes per request: on SQLite each
 * write is a commit, and commits, not rendering, bounded the request rate.
 * A phone polling the same file with the same answer would still cost a row
 * per poll, so a repeat within REPEAT_WINDOW_MS of the first is counted on
 * that entry (`count`, `last_at`) and the count is written once the run ends.
 * Readers call flush() first, so they always see every fetch and every count.
 */
export class TimelineWriter {
  // The latest run of each device, oldest first, so ended runs are found at the front.
  private readonly open = new Map<string, Run>();
  private inserts: Run[] = [];
  // Runs already in the database whose count grew since it was written.
  private dirty = new Set<Run>();
  private timer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly db: Pick<Database, 'knex' | 'offLoop'>, private readonly log: Logger, private readonly clock: () => number = Date.now) {}

  add(deviceId: string, e: DeviceEvent): void {
    this.append(deviceId, deviceId, null, e);
  }

  /**
   * An event of whichever phone is on the extension (registrations): which
   * one is looked up once per batch, not once per event on the path that
   * answers the phone.
   */
  addForExtension(extensionId: string, e: DeviceEvent): void {
    this.append(`extension ${extensionId}`, null, extensionId, e);
  }

  private append(key: string, deviceId: string | null, extensionId: string | null, e: DeviceEvent): void {
    const ms = e.at ? Date.parse(e.at) : this.clock();
    const transport = e.transport ?? null;
    const file = clip(e.file, 255);
    const source = clip(e.source, 64);
    const userAgent = clip(e.userAgent, 255);
    const result = e.result.slice(0, 32);
    const detail = clip(e.detail, 255);
    const run = this.open.get(key);
    if (run && ms - run.startMs < REPEAT_WINDOW_MS && ms >= run.startMs && sameEvent(run, e.kind, transport, file, source, userAgent, result, detail)) {
      run.count++;
      run.lastMs = ms;
      if (run.stored > 0) {
        if (!run.dirty) {
          run.dirty = true;
          this.dirty.add(run);
        }
        this.sweepTimer ??= setTimeout(() => void this.write(false), SWEEP_MS);
      }
      return;
    }
    if (run) this.open.delete(key);
    const next: Run = { key, deviceId, extensionId, id: newId(), at: e.at ?? new Date(ms).toISOString(), startMs: ms, kind: e.kind, transport, file, source, userAgent, result, detail, count: 1, lastMs: ms, stored: 0, dirty: false };
    this.open.set(key, next);
    this.inserts.push(next);
    if (this.inserts.length >= FLUSH_AT) void this.write(false);
    else this.timer ??= setTimeout(() => void this.write(false), FLUSH_MS);
  }

  /** Writes everything, counts of runs still going included. */
  flush(): Promise<void> {
    return this.write(true);
  }

  private write(everything: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.timer = null;
    this.sweepTimer = null;
    const inserts = this.inserts;
    this.inserts = [];
    const updates: Run[] = [];
    const t = this.clock();
    for (const [key, run] of this.open) {
      if (t - run.startMs < REPEAT_WINDOW_MS) break;
      this.open.delete(key);
    }
    for (const run of this.dirty) if (everything || this.open.get(run.key) !== run) updates.push(run);
    for (const run of updates) {
      this.dirty.delete(run);
      run.dirty = false;
    }
    if (this.dirty.size > 0) this.sweepTimer = setTimeout(() => void this.write(false), SWEEP_MS);
    this.running = this.running.then(async () => {
      if (inserts.length === 0 && updates.length === 0) return;
      // Taken now, not when add() ran: repeats that came in since are written with the entry.
      const lastAt = (r: Run) => (r.lastMs === r.startMs ? r.at : new Date(r.lastMs).toISOString());
      const row = (r: Run) => ({
        id: r.id, at: r.at, kind: r.kind, transport: r.transport, file: r.file, source: r.source,
        user_agent: r.userAgent, result: r.result, detail: r.detail, count: r.count, last_at: lastAt(r),
      });
      const rows: EventRow[] = [];
      const forExtensions: ExtensionEventRow[] = [];
      for (const r of inserts) {
        if (r.deviceId !== null) rows.push({ ...row(r), device_id: r.deviceId });
        else forExtensions.push({ ...row(r), extension_id: r.extensionId! });
      }
      const counts = updates.map((r) => ({ id: r.id, values: [r.count, lastAt(r)] }));
      const seen = new Map<string, [string, string]>();
      for (const r of [...updates, ...inserts]) if (r.kind === 'fetch' && r.source && r.deviceId) seen.set(r.deviceId, [lastAt(r), r.source]);
      for (const r of [...inserts, ...updates]) r.stored = r.count;
      try {
        await storeTimeline(this.db, { inserts: rows, forExtensions, counts, seen: [...seen].map(([id, values]) => ({ id, values })) });
        // The busiest phones of the batch are the ones a flood would grow (a phone flapping between two contacts): keep their timelines bounded.
        const perPhone = new Map<string, { run: Run; n: number }>();
        for (const r of inserts) {
          const seenFor = perPhone.get(r.key);
          if (seenFor) seenFor.n++;
          else perPhone.set(r.key, { run: r, n: 1 });
        }
        const busiest = [...perPhone.values()].filter((p) => p.n >= TRIM_FROM).sort((a, b) => b.n - a.n).slice(0, 3);
        for (const { run } of busiest) {
          const id = run.deviceId ?? (await devicesForExtensions(this.db.knex, [run.extensionId!])).get(run.extensionId!);
          if (id) await trimDeviceEvents(this.db.knex, id);
        }
      } catch (err) {
        this.log.error({ err, events: rows.length }, 'provisioning: could not write the device timeline');
      }
    });
    return this.running;
  }
}
