import Redis from 'ioredis';
import type { Binding } from './bindings';
import { REGISTER_LUA, SWEEP_LUA } from './redis-store.lua';
import type { ExpiredBinding, LockKeys, RegisterAttempt, RegisterOutcome, RegistrarStore } from './store';

/** An AOR's key outlives its last binding by this much, so the sweeper still finds what expired. */
const GRACE_MS = 5 * 60 * 1000;

type Scripted = Redis & {
  dialtoneRegister(k1: string, k2: string, k3: string, k4: string, k5: string, attempt: string, grace: number): Promise<string>;
  dialtoneSweep(k1: string, prefix: string, now: number, max: number, grace: number): Promise<string>;
};

/** Cjson writes an empty array as {}: lists coming back are read as lists whatever their shape. */
function list<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

function binding(b: Binding): Binding {
  return { ...b, path: list<string>(b.path) };
}

/**
 * Bindings in Redis, shared by every dialtone process on it: one JSON value
 * per address of record that expires with its last binding, a sorted set of
 * next expiries for the sweeper, and counters that expire on their own.
 */
export class RedisStore implements RegistrarStore {
  private readonly redis: Scripted;

  constructor(url: string, private readonly prefix = 'dialtone:sip:') {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: true });
    redis.defineCommand('dialtoneRegister', { numberOfKeys: 5, lua: REGISTER_LUA });
    redis.defineCommand('dialtoneSweep', { numberOfKeys: 1, lua: SWEEP_LUA });
    this.redis = redis as Scripted;
  }

  private key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  async register(a: RegisterAttempt): Promise<RegisterOutcome> {
    const raw = await this.redis.dialtoneRegister(
      this.key('aor', a.aor), this.key('nc', a.nonce), this.key('fail', 'src', a.lockKeys.source), this.key('fail', 'user', a.lockKeys.user), this.key('exp'),
      JSON.stringify({ aor: a.aor, update: a.update, maxContacts: a.maxContacts, nc: a.nc, nonceTtlMs: a.nonceTtlMs, limits: a.limits }), GRACE_MS,
    );
    const r = JSON.parse(raw) as RegisterOutcome;
    if (r.kind !== 'ok') return r;
    return {
      kind: 'ok',
      bindings: list<Binding>(r.bindings).map(binding),
      added: list<Binding>(r.added).map(binding),
      removed: list<{ binding: Binding; reason: 'expired' }>(r.removed).map((x) => ({ ...x, binding: binding(x.binding) })),
    };
  }

  async recordFailure(keys: LockKeys, coolDownMs: number): Promise<void> {
    const src = this.key('fail', 'src', keys.source);
    const user = this.key('fail', 'user', keys.user);
    await this.redis.multi().incr(src).pexpire(src, coolDownMs, 'NX').incr(user).pexpire(user, coolDownMs, 'NX').exec();
  }

  async bindings(aor: string, now: number): Promise<Binding[]> {
    const raw = await this.redis.get(this.key('aor', aor));
    return raw ? list<Binding>(JSON.parse(raw)).map(binding).filter((b) => b.expiresAt > now) : [];
  }

  async sweep(now: number, max: number): Promise<ExpiredBinding[]> {
    const raw = await this.redis.dialtoneSweep(this.key('exp'), this.prefix, now, max, GRACE_MS);
    return list<ExpiredBinding>(JSON.parse(raw)).map((e) => ({ aor: e.aor, binding: binding(e.binding) }));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
