import type { LockKeys } from './store';

/**
 * Addresses of record fall into this many buckets, each a Redis Cluster hash
 * slot of its own: a script may touch only keys of one slot, and the
 * sweeper's script reaches every address due in its sorted set, so an
 * address and the set it is due in share the bucket's hash tag. Sixteen
 * spread the registrar's load over a cluster's masters (with three, each
 * holds several) while the sweeper makes only sixteen calls a round.
 * Changing the number moves every address: bindings under the old layout
 * are then not read, as after any change of key names.
 */
export const BUCKETS = 16;

/** FNV-1a over the UTF-16 code units: cheap on the REGISTER path, and the same in every process. */
export function bucketOf(aor: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < aor.length; i++) h = Math.imul(h ^ aor.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

/**
 * The registrar's key names under a prefix. `{r<bucket>}` and `{fail}` are
 * Redis Cluster hash tags (only the first `{…}` of a key is hashed, so
 * nothing in an address of record can move it). The failure counters of one
 * REGISTER (its source's and its user's) would each be in a slot of their
 * own, apart from its address; they all share one slot instead, so a batch
 * reads all of its counters with one MGET and a failure counts both with one
 * MULTI. A single server ignores the tags: the layout is the same there.
 */
export class RegistrarKeys {
  constructor(readonly prefix: string) {}

  /** What the sweeper's script puts before an address of record to name its key. */
  aorPrefix(bucket: number): string {
    return `${this.prefix}{r${bucket}}:reg:`;
  }

  aor(aor: string): string {
    return `${this.aorPrefix(bucketOf(aor))}${aor}`;
  }

  /** The sorted set of when each address of the bucket next has a binding to expire. */
  due(bucket: number): string {
    return `${this.prefix}{r${bucket}}:reg-due`;
  }

  failures(keys: LockKeys): [source: string, user: string] {
    return [`${this.prefix}{fail}:src:${keys.source}`, `${this.prefix}{fail}:user:${keys.user}`];
  }

  /** The last nonce an identity's requests other than REGISTER were authenticated with; one key, any slot. */
  authNonce(key: string): string {
    return `${this.prefix}auth-nonce:${key}`;
  }
}
