import { type Binding, mergeBindings } from './bindings';
import type { ExpiredBinding, LockKeys, LockLimits, RegisterAttempt, RegisterOutcome, RegistrarStore } from './store';

/** The registrar's store when no Redis is configured: one process, nothing survives a restart. */
export class MemoryStore implements RegistrarStore {
  private readonly aors = new Map<string, Binding[]>();
  private readonly counters = new Map<string, { count: number; until: number }>();
  private readonly nonceCounts = new Map<string, { nc: number; until: number }>();

  async register(a: RegisterAttempt): Promise<RegisterOutcome> {
    const now = a.update.now;
    if (this.lockedAt(a.lockKeys, a.limits, now)) return { kind: 'locked' };
    const seen = this.nonceCounts.get(a.nonce);
    if (seen && seen.until > now && seen.nc >= a.nc) return { kind: 'replay' };
    const result = mergeBindings(this.aors.get(a.aor) ?? [], a.update, a.maxContacts);
    if (result.kind !== 'ok') return result;
    this.nonceCounts.set(a.nonce, { nc: a.nc, until: now + a.nonceTtlMs });
    if (result.bindings.length > 0) this.aors.set(a.aor, result.bindings);
    else this.aors.delete(a.aor);
    return result;
  }

  async recordFailure(keys: LockKeys, coolDownMs: number): Promise<void> {
    const now = Date.now();
    for (const key of [`src:${keys.source}`, `user:${keys.user}`]) {
      const c = this.counters.get(key);
      if (c && c.until > now) c.count += 1;
      else this.counters.set(key, { count: 1, until: now + coolDownMs });
    }
  }

  private lockedAt(keys: LockKeys, limits: LockLimits, now: number): boolean {
    const count = (key: string) => {
      const c = this.counters.get(key);
      return c && c.until > now ? c.count : 0;
    };
    return count(`src:${keys.source}`) >= limits.source || count(`user:${keys.user}`) >= limits.user;
  }

  async bindings(aor: string, now: number): Promise<Binding[]> {
    return (this.aors.get(aor) ?? []).filter((b) => b.expiresAt > now);
  }

  async sweep(now: number, max: number): Promise<ExpiredBinding[]> {
    const out: ExpiredBinding[] = [];
    for (const [aor, list] of this.aors) {
      const keep = list.filter((b) => {
        if (b.expiresAt > now || out.length >= max) return true;
        out.push({ aor, binding: b });
        return false;
      });
      if (keep.length === 0) this.aors.delete(aor);
      else this.aors.set(aor, keep);
    }
    for (const [k, v] of this.nonceCounts) if (v.until <= now) this.nonceCounts.delete(k);
    for (const [k, v] of this.counters) if (v.until <= now) this.counters.delete(k);
    return out;
  }

  async close(): Promise<void> {}
}
