import { type RedisClient, redisClient } from '../../storage/redis-client';
import type { Flow } from '../engine';
import { type Binding, type BindingOwner, type RegisterUpdate, type RemovalReason, normalizeContact } from './bindings';
import { AUTHORIZE_LUA, REGISTER_LUA, SWEEP_LUA } from './redis-store.lua';
import { BUCKETS, RegistrarKeys, bucketOf } from './redis-keys';
import type { AuthorizeAttempt, AuthorizeOutcome, ExpiredBinding, LockKeys, LockLimits, RegisterAttempt, RegisterOutcome, RegistrarStore } from './store';

/** An address of record outlives its last binding by this much, so the sweeper still finds what expired. */
const GRACE_MS = 5 * 60 * 1000;

type Reply = (string | number)[];

type Scripted = RedisClient & {
  dialtoneRegister(numberOfKeys: number, ...args: (string | number)[]): Promise<Reply[]>;
  dialtoneSweep(dueKey: string, prefix: string, now: number, max: number): Promise<string[]>;
  dialtoneAuthorize(nonceKey: string, ...args: (string | number)[]): Promise<AuthorizeOutcome>;
};

/**
 * What the script stores of a binding as JSON (see redis-store.lua.ts), as an
 * array: field names would double what every REGISTER sends Redis and back.
 */
type Rest = [
  contact: string, transport: Flow['transport'], address: string, port: number, connectionId: string | null, userAgent: string, path: string[],
  kind: BindingOwner['kind'], tenantId: string | null, extensionId: string | null, deviceId: string | null,
];

function rest(contact: string, u: RegisterUpdate): string {
  const { source: s, owner: o } = u;
  return JSON.stringify([contact, s.transport, s.address, s.port, s.connectionId ?? null, u.userAgent, u.path, o.kind, o.tenantId, o.extensionId, o.deviceId] satisfies Rest);
}

const LINE = /^(\d+) (\d+) (\d+) (\S+) \S+ /;
/** REGISTERs per script call at most: a script holds Redis for as long as it runs. */
const BATCH_MAX = 64;

const SPACE = /\s/;

interface Pending {
  bucket: number;
  /** The address's key and its bucket's sorted set. */
  keys: [string, string];
  failures: [string, string];
  limits: LockLimits;
  args: (string | number)[];
  resolve(outcome: RegisterOutcome): void;
  reject(err: Error): void;
}

/** A binding line as the script stores it. */
function decodeBinding(line: string): Binding {
  const m = LINE.exec(line);
  if (!m) throw new Error('a SIP binding in Redis is not in the format this dialtone writes');
  const [contact, transport, address, port, connectionId, userAgent, path, kind, tenantId, extensionId, deviceId] = JSON.parse(line.slice(m[0].length)) as Rest;
  const source: Flow = connectionId === null ? { transport, address, port } : { transport, address, port, connectionId };
  return {
    contact, callId: m[4]!, cseq: Number(m[2]), expiresAt: Number(m[1]), registeredAt: Number(m[3]),
    source, userAgent, path, owner: { kind, tenantId, extensionId, deviceId },
  };
}

/** One REGISTER's answer from the script. */
function outcome(r: Reply): RegisterOutcome {
  if (r[0] === 'error') throw new Error(`the REGISTER script failed in Redis: ${String(r[1])}`);
  if (r[0] !== 'ok') return { kind: r[0] as 'locked' | 'replay' | 'out-of-order' | 'too-many' };
  const liveCount = Number(r[1]);
  const bindings: Binding[] = [];
  for (let i = 0; i < liveCount; i++) bindings.push(decodeBinding(String(r[2 + i])));
  const addedAt = 2 + liveCount;
  const added: Binding[] = [];
  for (let i = 0; i < Number(r[addedAt]); i++) added.push(bindings[Number(r[addedAt + 1 + i]) - 1]!);
  const removed: { binding: Binding; reason: RemovalReason }[] = [];
  for (let i = addedAt + 1 + added.length; i < r.length; i += 2) removed.push({ reason: r[i] as RemovalReason, binding: decodeBinding(String(r[i + 1])) });
  return { kind: 'ok', bindings, added, removed };
}

/** The script's separators are white space: what the registrar lets through never holds any. */
function word(what: string, value: string): string {
  if (value === '' || SPACE.test(value)) throw new Error(`${what} holds white space; the registrar should have refused it`);
  return value;
}

/**
 * Whether failure counts (as MGET answers them) reach the limits. A counter
 * that is not a number was not written by dialtone: the attempt fails rather
 * than pass a lockout it cannot read.
 */
function isLocked([source, user]: (string | null)[], limits: LockLimits): boolean {
  const count = (v: string | null | undefined) => {
    if (v == null) return 0;
    if (!/^-?\d{1,19}$/.test(v)) throw new Error('a SIP failure counter in Redis is not a number; it was not written by dialtone');
    return Number(v);
  };
  return count(source) >= limits.source || count(user) >= limits.user;
}

/**
 * Bindings in Redis, shared by every dialtone process on it: a string per
 * address of record (its last nonce and its bindings) that expires after
 * both, a sorted set of next expiries per bucket of addresses for the
 * sweeper, and counters that expire on their own (key names in
 * redis-keys.ts). One server, a Redis Cluster or a master found through
 * Sentinel, with the same keys.
 */
export class RedisStore implements RegistrarStore {
  private readonly redis: Scripted;
  private readonly keys: RegistrarKeys;
  /** REGISTERs waiting for the end of this turn of the event loop, to go to Redis in one script call. */
  private pending: Pending[] = [];
  /** The bucket the next sweep starts with, so a backlog in one cannot starve the others. */
  private sweepFrom = 0;

  constructor(url: string, prefix = 'dialtone:sip:') {
    // The REGISTERs are batched here already: ioredis's own pipelining would only wrap each batch again.
    const redis = redisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: false });
    redis.defineCommand('dialtoneRegister', { lua: REGISTER_LUA });
    redis.defineCommand('dialtoneSweep', { numberOfKeys: 1, lua: SWEEP_LUA });
    redis.defineCommand('dialtoneAuthorize', { numberOfKeys: 1, lua: AUTHORIZE_LUA });
    this.redis = redis as Scripted;
    this.keys = new RegistrarKeys(prefix);
  }

  async register(a: RegisterAttempt): Promise<RegisterOutcome> {
    const u = a.update;
    const bucket = bucketOf(a.aor);
    const args: (string | number)[] = [
      a.aor, u.now, word('nonce', a.nonce), a.nc, a.nonceIssuedAt, a.nonceTtlMs, a.maxContacts, GRACE_MS,
      word('Call-ID', u.callId), u.cseq, u.contacts === '*' ? '*' : '',
    ];
    if (u.contacts !== '*') {
      for (const c of u.contacts) {
        args.push(word('contact', normalizeContact(c.contact)), c.expires, rest(c.contact, u));
      }
    }
    const keys: [string, string] = [this.keys.aor(a.aor), this.keys.due(bucket)];
    const failures = this.keys.failures(a.lockKeys);
    return new Promise((resolve, reject) => {
      if (this.pending.push({ bucket, keys, failures, limits: a.limits, args, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const waiting = this.pending;
    this.pending = [];
    // A script in a cluster reaches one slot: one bucket per batch there. One server takes any mix, so fewer, fuller batches.
    const groups = this.redis.isCluster ? byBucket(waiting) : [waiting];
    for (const group of groups) {
      for (let i = 0; i < group.length; i += BATCH_MAX) void this.send(group.slice(i, i + BATCH_MAX));
    }
  }

  /** One script call for the batch; in a cluster, after the lockout is read (see REGISTER_LUA). */
  private async send(batch: Pending[]): Promise<void> {
    const counted = !this.redis.isCluster;
    const admitted = counted ? batch : await this.admit(batch);
    if (admitted.length === 0) return;
    const keys: string[] = [];
    const argv: (string | number)[] = [counted ? 4 : 2];
    for (const p of admitted) {
      keys.push(...p.keys);
      if (counted) {
        keys.push(...p.failures);
        argv.push(p.args.length + 2, p.limits.source, p.limits.user, ...p.args);
      } else {
        argv.push(p.args.length, ...p.args);
      }
    }
    try {
      const replies = await this.redis.dialtoneRegister(keys.length, ...keys, ...argv);
      admitted.forEach((p, n) => {
        try {
          p.resolve(outcome(replies[n]!));
        } catch (err) {
          p.reject(err as Error);
        }
      });
    } catch (err) {
      admitted.forEach((p) => p.reject(err as Error));
    }
  }

  /**
   * In a cluster, the batch's lockout before its script: the counters cannot
   * be in the script's slot (a source's counter is shared by every address it
   * registers), so they are read together in one MGET, one round trip more
   * per batch. A failure counted between the read and the script is one that
   * came after this REGISTER, as it might have anyway. Resolves the locked
   * ones and answers the rest.
   */
  private async admit(batch: Pending[]): Promise<Pending[]> {
    const admitted: Pending[] = [];
    try {
      const counters = [...new Set(batch.flatMap((p) => p.failures))];
      const got = await this.redis.mget(counters);
      const count = new Map(counters.map((key, i) => [key, got[i] ?? null]));
      for (const p of batch) {
        try {
          if (isLocked(p.failures.map((key) => count.get(key) ?? null), p.limits)) p.resolve({ kind: 'locked' });
          else admitted.push(p);
        } catch (err) {
          p.reject(err as Error);
        }
      }
    } catch (err) {
      batch.forEach((p) => p.reject(err as Error));
      return [];
    }
    return admitted;
  }

  async authorize(a: AuthorizeAttempt): Promise<AuthorizeOutcome> {
    if (isLocked(await this.redis.mget(this.keys.failures(a.lockKeys)), a.limits)) return 'locked';
    return this.redis.dialtoneAuthorize(this.keys.authNonce(a.key), a.now, word('nonce', a.nonce), a.nc, a.nonceIssuedAt, a.nonceTtlMs);
  }

  async recordFailure(keys: LockKeys, coolDownMs: number): Promise<void> {
    const [src, user] = this.keys.failures(keys);
    await this.redis.multi().incr(src).pexpire(src, coolDownMs, 'NX').incr(user).pexpire(user, coolDownMs, 'NX').exec();
  }

  async bindings(aor: string, now: number): Promise<Binding[]> {
    const value = await this.redis.get(this.keys.aor(aor));
    if (!value) return [];
    return value.split('\n').filter((line) => LINE.test(line)).map(decodeBinding).filter((b) => b.expiresAt > now);
  }

  /** Bucket after bucket, until `max` expired bindings are reported or every bucket is done. */
  async sweep(now: number, max: number, failed: (err: Error) => void): Promise<ExpiredBinding[]> {
    const start = this.sweepFrom;
    this.sweepFrom = (start + 1) % BUCKETS;
    const out: ExpiredBinding[] = [];
    for (let n = 0; n < BUCKETS && out.length < max; n++) {
      const bucket = (start + n) % BUCKETS;
      let flat: string[];
      try {
        flat = await this.redis.dialtoneSweep(this.keys.due(bucket), this.keys.aorPrefix(bucket), now, max - out.length);
      } catch (err) {
        // One broken bucket must not keep the bindings of the other fifteen from expiring.
        failed(err as Error);
        continue;
      }
      for (let i = 0; i < flat.length; i += 2) out.push({ aor: flat[i]!, binding: decodeBinding(flat[i + 1]!) });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function byBucket(waiting: Pending[]): Pending[][] {
  const groups = new Map<number, Pending[]>();
  for (const p of waiting) {
    const group = groups.get(p.bucket);
    if (group) group.push(p);
    else groups.set(p.bucket, [p]);
  }
  return [...groups.values()];
}
