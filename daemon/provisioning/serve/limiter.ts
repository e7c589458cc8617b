const WINDOW_MS = 60_000;
const MAX_KEYS = 50_000;

interface Window {
  start: number;
  count: number;
  warned: boolean;
}

/**
 * Counts failures per key (a source, or a source with the name or MAC it
 * got wrong) in one-minute windows; a key over the limit is refused until
 * its window ends. Successful fetches of known files never count.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private limit: number, private readonly clock: () => number = Date.now) {}

  private current(key: string): Window {
    const t = this.clock();
    let w = this.windows.get(key);
    if (!w || t - w.start >= WINDOW_MS) {
      if (!w && this.windows.size >= MAX_KEYS) this.prune(t);
      w = { start: t, count: 0, warned: false };
      this.windows.set(key, w);
    }
    return w;
  }

  /** Whether any key has failed lately: while none has, no key need be made to ask about. */
  get idle(): boolean {
    return this.windows.size === 0;
  }

  /** Asked of every authenticated fetch: a key with no failures in its window gets no window made for it. */
  blocked(key: string): boolean {
    const w = this.windows.get(key);
    return w !== undefined && this.clock() - w.start < WINDOW_MS && w.count >= this.limit;
  }

  /** Records a failure; true the first time this window goes over the limit, so the caller logs once, not per packet. */
  fail(key: string): boolean {
    const w = this.current(key);
    w.count++;
    if (w.count >= this.limit && !w.warned) {
      w.warned = true;
      return true;
    }
    return false;
  }

  /** A new limit (SIGHUP) applies to the windows already open, so a source over it is refused at once. */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  private prune(t: number): void {
    for (const [k, w] of this.windows) if (t - w.start >= WINDOW_MS) this.windows.delete(k);
    // Still full: a flood from very many sources or names; forgetting the oldest is better than growing without bound.
    if (this.windows.size >= MAX_KEYS) this.windows.delete(this.windows.keys().next().value!);
  }
}
