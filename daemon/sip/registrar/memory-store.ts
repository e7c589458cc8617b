import { type Binding, mergeBindings } from './bindings';
import { type LastNonce, isReplay } from './nonce-count';
import type { AuthorizeAttempt, AuthorizeOutcome, ExpiredBinding, LockKeys, LockLimits, RegisterAttempt, RegisterOutcome, RegistrarStore } from './store';

interface Aor {
  bindings: Binding[];
  nonce: LastNonce;
  /** When the nonce is no longer valid: until then the entry stays, even with no binding left. */
  nonceUntil: number;
}

/** The registrar's store when no Redis is configured: one process, nothing survives a restart. */
export class MemoryStore implements RegistrarStore {
  private readonly aors = new Map<string, Aor>();
  private readonly counters = new Map<string, { count: number; until: number }>();
  /** The last nonce each identity's calls were authenticated with, apart from its registrations'. */
  private readonly requestNonces = new Map<string, { nonce: LastNonce; until: number }>();

  async register(a: RegisterAttempt): Promise<RegisterOutcome> {
    const now = a.update.now;
    if (this.lockedAt(a.lockKeys, a.limits, now)) return { kind: 'locked' };
    const current = this.aors.get(a.aor);
    const last = current && current.nonceUntil > now ? current.nonce : null;
    if (isReplay(last, a.nonce, a.nc, a.nonceIssuedAt)) return { kind: 'replay' };
    const result = mergeBindings(current?.bindings ?? [], a.update, a.maxContacts);
    if (result.kind !== 'ok') return result;
    this.aors.set(a.aor, { bindings: result.bindings, nonce: { nonce: a.nonce, nc: a.nc, issuedAt: a.nonceIssuedAt }, nonceUntil: a.nonceIssuedAt + a.nonceTtlMs });
    return result;
  }

  async authorize(a: AuthorizeAttempt): Promise<AuthorizeOutcome> {
    if (this.lockedAt(a.lockKeys, a.limits, a.now)) return 'locked';
    const current = this.requestNonces.get(a.key);
    if (isReplay(current && current.until > a.now ? current.nonce : null, a.nonce, a.nc, a.nonceIssuedAt)) return 'replay';
    this.requestNonces.set(a.key, { nonce: { nonce: a.nonce, nc: a.nc, issuedAt: a.nonceIssuedAt }, until: a.nonceIssuedAt + a.nonceTtlMs });
    return 'ok';
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
    return (this.aors.get(aor)?.bindings ?? []).filter((b) => b.expiresAt > now);
  }

  async sweep(now: number, max: number): Promise<ExpiredBinding[]> {
    const out: ExpiredBinding[] = [];
    for (const [aor, entry] of this.aors) {
      entry.bindings = entry.bindings.filter((b) => {
        if (b.expiresAt > now || out.length >= max) return true;
        out.push({ aor, binding: b });
        return false;
      });
      if (entry.bindings.length === 0 && entry.nonceUntil <= now) this.aors.delete(aor);
    }
    for (const [k, v] of this.counters) if (v.until <= now) this.counters.delete(k);
    for (const [k, v] of this.requestNonces) if (v.until <= now) this.requestNonces.delete(k);
    return out;
  }

  async close(): Promise<void> {}
}
