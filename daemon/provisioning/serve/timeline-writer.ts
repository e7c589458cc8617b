import type { Knex } from 'knex';
import { newId, now } from '../../core/ids';
import type { Logger } from '../../core/log';
import { type DeviceEvent, trimDeviceEvents } from '../events';

const FLUSH_MS = 100;
const FLUSH_AT = 500;
const TRIM_FROM = 20;

const clip = (s: string | null | undefined, n: number) => (s === null || s === undefined ? null : s.slice(0, n));

/**
 * Fetch entries for the device timeline and last-seen stamps, written in one
 * transaction every 100 ms instead of two writes per request: on SQLite each
 * write is a commit, and commits, not rendering, bounded the request rate.
 * Readers of the timeline call flush() first, so they always see every fetch.
 */
export class TimelineWriter {
  private events: Record<string, unknown>[] = [];
  private seen = new Map<string, { at: string; source: string }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly knex: Knex, private readonly log: Logger) {}

  add(deviceId: string, e: DeviceEvent): void {
    const at = e.at ?? now();
    this.events.push({
      id: newId(), device_id: deviceId, at, kind: e.kind, transport: e.transport ?? null, file: clip(e.file, 255), source: clip(e.source, 64),
      user_agent: clip(e.userAgent, 255), result: clip(e.result, 32), detail: clip(e.detail, 255),
    });
    if (e.kind === 'fetch' && e.source) this.seen.set(deviceId, { at, source: e.source.slice(0, 64) });
    if (this.events.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const events = this.events;
    const seen = this.seen;
    this.events = [];
    this.seen = new Map();
    this.running = this.running.then(async () => {
      if (events.length === 0) return;
      try {
        await this.knex.transaction(async (trx) => {
          await trx.batchInsert('device_events', events, 100);
          for (const [id, s] of seen) await trx('devices').where('id', id).update({ last_seen_at: s.at, last_source: s.source });
        });
        // The busiest devices of the batch are the ones a flood would grow: keep their timelines bounded.
        const counts = new Map<string, number>();
        for (const e of events) counts.set(e.device_id as string, (counts.get(e.device_id as string) ?? 0) + 1);
        const busiest = [...counts].filter(([, n]) => n >= TRIM_FROM).sort((a, b) => b[1] - a[1]).slice(0, 3);
        for (const [id] of busiest) await trimDeviceEvents(this.knex, id);
      } catch (err) {
        this.log.error({ err, events: events.length }, 'provisioning: could not write the device timeline');
      }
    });
    return this.running;
  }
}
