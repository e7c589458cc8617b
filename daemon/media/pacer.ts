import { performance } from 'node:perf_hooks';

/**
 * One clock for the audio of every call: each 20 ms tick, every stream
 * sends its frame in one batch. Ticks are counted from a monotonic origin,
 * so timer lateness never accumulates into drift; after a stall (a long GC,
 * a busy event loop) the frames that were due meanwhile are skipped, never
 * sent in a burst that a phone's jitter buffer would throw away.
 */
export const FRAME_MS = 20;

export interface PacedStream {
  /** Sends this tick's frame; `skipped` frames fell due during a stall and are not sent. */
  frame(skipped: number): void;
}

/** Where a tick stands: which one is due at `now`, how many were missed since `last`, how long to the next. */
export function tickPlan(origin: number, last: number, now: number): { tick: number; skipped: number; delay: number } {
  const tick = Math.max(last + 1, Math.floor((now - origin) / FRAME_MS));
  return { tick, skipped: tick - last - 1, delay: Math.max(0, origin + (tick + 1) * FRAME_MS - now) };
}

export class Pacer {
  private readonly streams = new Set<PacedStream>();
  private timer: NodeJS.Timeout | null = null;
  private origin = 0;
  private last = 0;

  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  get count(): number {
    return this.streams.size;
  }

  add(s: PacedStream): void {
    this.streams.add(s);
    if (this.timer === null) {
      this.origin = performance.now();
      this.last = 0;
      this.timer = setTimeout(() => this.tick(), FRAME_MS);
    }
  }

  remove(s: PacedStream): void {
    this.streams.delete(s);
    if (this.streams.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const plan = tickPlan(this.origin, this.last, performance.now());
    this.last = plan.tick;
    for (const s of this.streams) {
      try {
        s.frame(plan.skipped);
      } catch (err) {
        this.onError(err);
      }
    }
    if (this.streams.size > 0) this.timer = setTimeout(() => this.tick(), plan.delay);
    else this.timer = null;
  }
}
