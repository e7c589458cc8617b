import type { Binding, MergeResult, RegisterUpdate } from './bindings';

/**
 * Where bindings, nonce counts and failure counters live: in the process, or
 * in Redis shared by several dialtone processes. Both implementations pass
 * the same test suite.
 */
export interface RegisterAttempt {
  aor: string;
  update: RegisterUpdate;
  maxContacts: number;
  /** The nonce the credentials used, when it was issued, its count, and how long to remember it (see nonce-count.ts). */
  nonce: string;
  nonceIssuedAt: number;
  nc: number;
  nonceTtlMs: number;
  /** Failure counters that refuse the attempt when at or past the limit. */
  lockKeys: LockKeys;
  limits: LockLimits;
}

export interface LockKeys {
  source: string;
  user: string;
}

export interface LockLimits {
  source: number;
  user: number;
}

export type RegisterOutcome = MergeResult | { kind: 'locked' } | { kind: 'replay' };

/** A request other than REGISTER, authenticated: the lockout, then its nonce count checked and recorded as one step. */
export interface AuthorizeAttempt {
  /** Whose last nonce is kept (the identity's address of record), apart from its registrations'. */
  key: string;
  nonce: string;
  nonceIssuedAt: number;
  nc: number;
  nonceTtlMs: number;
  lockKeys: LockKeys;
  limits: LockLimits;
  now: number;
}

export type AuthorizeOutcome = 'ok' | 'locked' | 'replay';

export interface ExpiredBinding {
  aor: string;
  binding: Binding;
}

export interface RegistrarStore {
  /** Lock check, then nonce-count check and binding merge as one step (for Redis, one round trip each per batch of REGISTERs). */
  register(attempt: RegisterAttempt): Promise<RegisterOutcome>;
  authorize(attempt: AuthorizeAttempt): Promise<AuthorizeOutcome>;
  /** Counts a failed authentication against both keys for `coolDownMs`. */
  recordFailure(keys: LockKeys, coolDownMs: number): Promise<void>;
  bindings(aor: string, now: number): Promise<Binding[]>;
  /**
   * Removes bindings past their expiry, each reported by exactly one caller.
   * A part of the store that cannot be swept (a Redis key of another type
   * where a bucket's due set belongs) is told to `failed` and the rest is
   * swept: what was swept is reported, never lost with a rejection.
   */
  sweep(now: number, max: number, failed: (err: Error) => void): Promise<ExpiredBinding[]>;
  close(): Promise<void>;
}
