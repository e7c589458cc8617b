/**
 * Load shedding for the registrar, as pure rules. Past its ceiling a
 * registrar that takes every REGISTER answers each one later than the phone's
 * retransmission timer (RFC 3261 T1, 500 ms), the retransmissions add to the
 * load and nobody gets registered. Instead, while the process is behind, a
 * REGISTER that starts a registration (no credentials yet) is answered 503
 * with Retry-After at once, and those already answering a challenge go on:
 * they are half done, and finishing them is what brings the backlog down.
 */
export interface Load {
  /** Authenticated REGISTERs waiting on the identity lookup or the store. */
  inFlight: number;
  /** How late the event loop ran a timer, lately, in milliseconds. */
  loopDelayMs: number;
  /** REGISTERs received in the last second or so. */
  perSecond: number;
}

export interface AdmissionLimits {
  /** Above this many in flight, new registrations are refused. */
  inFlight: number;
  /** Above this event-loop delay, new registrations are refused… */
  loopDelayMs: number;
  /** …when they come at least this fast: a slow loop with few phones asking is busy with something else, which refusing them would not help. */
  minPerSecond: number;
}

/** Past twice the limit even an answer to a challenge is refused: the queue would outgrow memory, not just time. */
const HARD_FACTOR = 2;

export const DEFAULT_ADMISSION: AdmissionLimits = { inFlight: 1000, loopDelayMs: 100, minPerSecond: 500 };

export type Admission = 'admit' | 'shed';

export function admit(authenticated: boolean, load: Load, limits: AdmissionLimits): Admission {
  if (load.inFlight >= limits.inFlight * HARD_FACTOR) return 'shed';
  if (authenticated) return 'admit';
  if (load.inFlight >= limits.inFlight) return 'shed';
  return load.loopDelayMs >= limits.loopDelayMs && load.perSecond >= limits.minPerSecond ? 'shed' : 'admit';
}

/** Retry-After seconds for a shed REGISTER: spread over a window, so the refused phones do not all come back in the same second. */
export function retryAfterSeconds(random: number, min = 5, spread = 25): number {
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 0.999999) : 0;
  return min + Math.floor(r * (spread + 1));
}

/** REGISTERs a second, over the last whole second and the one under way. */
export class Arrivals {
  private windowStart = 0;
  private count = 0;
  private last = 0;

  add(now: number): void {
    if (now - this.windowStart >= 1000) {
      this.last = now - this.windowStart >= 2000 ? 0 : this.count;
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
  }

  get perSecond(): number {
    return Math.max(this.last, this.count);
  }
}

/**
 * The event loop's recent lateness: a timer asks to run every `intervalMs`
 * and notes how much later it ran; the figure decays as the loop catches up.
 */
export class LoopDelay {
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private delay = 0;

  constructor(private readonly intervalMs = 20) {}

  get ms(): number {
    return this.delay;
  }

  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const late = Math.max(0, now - this.last - this.intervalMs);
      this.last = now;
      // The latest lateness counts at once when it grows, and fades by half a tick when it shrinks.
      this.delay = late >= this.delay ? late : (this.delay + late) / 2;
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.delay = 0;
  }
}
