import Redis from 'ioredis';
import type { Flow } from '../engine';
import { type Binding, type BindingOwner, type RegisterUpdate, type RemovalReason, normalizeContact } from './bindings';
import { AUTHORIZE_LUA, REGISTER_LUA, SWEEP_LUA } from './redis-store.lua';
import type { AuthorizeAttempt, AuthorizeOutcome, ExpiredBinding, LockKeys, RegisterAttempt, RegisterOutcome, RegistrarStore } from './store';

/** An address of record outlives its last binding by this much, so the sweeper still finds what expired. */
const GRACE_MS = 5 * 60 * 1000;

type Reply = (string | number)[];

type Scripted = Redis & {
  dialtoneRegister(numberOfKeys: number, ...args: (string | number)[]): Promise<Reply[]>;
  dialtoneSweep(dueKey: string, prefix: string, now: number, max: number): Promise<string[]>;
  dialtoneAuthorize(src: string, user: string, nonceKey: string, ...args: (string | number)[]): Promise<AuthorizeOutcome>;
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
  keys: string[];
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
 * Bindings in Redis, shared by every dialtone process on it: a string per
 * address of record (its last nonce and its bindings) that expires after
 * both, a sorted set of next expiries for the sweeper, and counters that
 * expire on their own.
 */
export class RedisStore implements RegistrarStore {
  private readonly redis: Scripted;
  /** REGISTERs waiting for the end of this turn of the event loop, to go to Redis in one script call. */
  private pending: Pending[] = [];

  constructor(url: string, private readonly prefix = 'dialtone:sip:') {
    // The REGISTERs are batched here already: ioredis's own pipelining would only wrap each batch again.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true, enableAutoPipelining: false });
    redis.defineCommand('dialtoneRegister', { lua: REGISTER_LUA });
    redis.defineCommand('dialtoneSweep', { numberOfKeys: 1, lua: SWEEP_LUA });
    redis.defineCommand('dialtoneAuthorize', { numberOfKeys: 3, lua: AUTHORIZE_LUA });
    this.redis = redis as Scripted;
  }

  private aorKey(aor: string): string {
    return `${this.prefix}reg:${aor}`;
  }

  private failKeys(keys: LockKeys): [string, string] {
    return [`${this.prefix}fail:src:${keys.source}`, `${this.prefix}fail:user:${keys.user}`];
  }

  async register(a: RegisterAttempt): Promise<RegisterOutcome> {
    const u = a.update;
    const keys = [this.aorKey(a.aor), ...this.failKeys(a.lockKeys), `${this.prefix}reg-due`];
    const args: (string | number)[] = [
      a.aor, u.now, word('nonce', a.nonce), a.nc, a.nonceIssuedAt, a.nonceTtlMs, a.maxContacts, a.limits.source, a.limits.user, GRACE_MS,
      word('Call-ID', u.callId), u.cseq, u.contacts === '*' ? '*' : '',
    ];
    if (u.contacts !== '*') {
      for (const c of u.contacts) {
        args.push(word('contact', normalizeContact(c.contact)), c.expires, rest(c.contact, u));
      }
    }
    return new Promise((resolve, reject) => {
      if (this.pending.push({ keys, args, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const waiting = this.pending;
    this.pending = [];
    for (let i = 0; i < waiting.length; i += BATCH_MAX) {
      const batch = waiting.slice(i, i + BATCH_MAX);
      const keys: string[] = [];
      const argv: (string | number)[] = [];
      for (const p of batch) {
        keys.push(...p.keys);
        argv.push(p.args.length, ...p.args);
      }
      this.redis.dialtoneRegister(keys.length, ...keys, ...argv).then((replies) => {
        batch.forEach((p, n) => {
          try {
            p.resolve(outcome(replies[n]!));
          } catch (err) {
            p.reject(err as Error);
          }
        });
      }, (err: Error) => batch.forEach((p) => p.reject(err)));
    }
  }

  async authorize(a: AuthorizeAttempt): Promise<AuthorizeOutcome> {
    const [src, user] = this.failKeys(a.lockKeys);
    return this.redis.dialtoneAuthorize(src, user, `${this.prefix}auth-nonce:${a.key}`,
      a.now, word('nonce', a.nonce), a.nc, a.nonceIssuedAt, a.nonceTtlMs, a.limits.source, a.limits.user);
  }

  async recordFailure(keys: LockKeys, coolDownMs: number): Promise<void> {
    const [src, user] = this.failKeys(keys);
    await this.redis.multi().incr(src).pexpire(src, coolDownMs, 'NX').incr(user).pexpire(user, coolDownMs, 'NX').exec();
  }

  async bindings(aor: string, now: number): Promise<Binding[]> {
    const value = await this.redis.get(this.aorKey(aor));
    if (!value) return [];
    return value.split('\n').filter((line) => LINE.test(line)).map(decodeBinding).filter((b) => b.expiresAt > now);
  }

  async sweep(now: number, max: number): Promise<ExpiredBinding[]> {
    const flat = await this.redis.dialtoneSweep(`${this.prefix}reg-due`, `${this.prefix}reg:`, now, max);
    const out: ExpiredBinding[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ aor: flat[i]!, binding: decodeBinding(flat[i + 1]!) });
    return out;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
