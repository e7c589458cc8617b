/**
 * Wrong activation codes, counted per device and per source address over a
 * window. A device past its limit is refused until the window ends. A
 * source past its limit refuses only the devices that have keyed wrong codes
 * themselves, so one device's failures behind a shared NAT never block
 * another device's activation.
 */
export interface WrongCodeLimits {
  perDevice: number;
  perSource: number;
  windowMs: number;
}

export const WRONG_CODE_LIMITS: WrongCodeLimits = { perDevice: 9, perSource: 30, windowMs: 60 * 60_000 };

/** Counters kept before old ones are swept, so a flood of sources cannot grow them without end. */
const SWEEP_AT = 10_000;

type Counter = { count: number; until: number };

export class WrongCodes {
  private readonly devices = new Map<string, Counter>();
  private readonly sources = new Map<string, Counter>();

  constructor(private readonly limits: WrongCodeLimits = WRONG_CODE_LIMITS) {}

  blocked(deviceId: string, source: string, now: number): boolean {
    const device = live(this.devices.get(deviceId), now);
    if (device >= this.limits.perDevice) return true;
    return device > 0 && live(this.sources.get(source), now) >= this.limits.perSource;
  }

  failed(deviceId: string, source: string, now: number): void {
    this.bump(this.devices, deviceId, now);
    this.bump(this.sources, source, now);
  }

  /** An activated device starts clean, should it ever be reset to pending. */
  succeeded(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  private bump(map: Map<string, Counter>, key: string, now: number): void {
    if (map.size >= SWEEP_AT) for (const [k, c] of map) if (c.until <= now) map.delete(k);
    const c = map.get(key);
    if (c && c.until > now) c.count++;
    else map.set(key, { count: 1, until: now + this.limits.windowMs });
  }
}

function live(c: Counter | undefined, now: number): number {
  return c && c.until > now ? c.count : 0;
}
