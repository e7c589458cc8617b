import crypto from 'node:crypto';

/**
 * Nonces dialtone issues and later recognises without storing them: the
 * issue time and a random part, signed with HMAC over the realm, so a nonce
 * from one tenant's challenge is worthless for another's, and an old one is
 * `stale` (the phone retries at once) rather than wrong.
 */
export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * A keyed hash rather than an HMAC: an HMAC object costs five times the hash,
 * twice per registration. Cut to 162 of its 256 bits, the signature leaves
 * 94 bits of SHA-256's state unsent, so it cannot be length-extended, and the
 * nonce's fixed format refuses any longer body anyway.
 */
const keys = new WeakMap<Buffer, string>();

function sign(secret: Buffer, realm: string, body: string): string {
  let key = keys.get(secret);
  if (key === undefined) {
    key = secret.toString('hex');
    keys.set(secret, key);
  }
  return crypto.hash('sha256', `${key}\n${realm}\n${body}`, 'base64url').slice(0, 27);
}

/** Random bytes drawn a block at a time: one system call per few hundred challenges, not one each. */
const pool = Buffer.alloc(4096);
let drawn = pool.length;

function randomHex(bytes: number): string {
  if (drawn + bytes > pool.length) {
    crypto.randomFillSync(pool);
    drawn = 0;
  }
  drawn += bytes;
  return pool.toString('hex', drawn - bytes, drawn);
}

/** The issue time of the last nonce this process made. */
let lastIssued = 0;

/**
 * Two nonces issued in one millisecond look equally old to the replay rule
 * (nonce-count.ts), which refuses a nonce not issued after the last one used:
 * a phone answering its second challenge within a millisecond of the first
 * would be challenged again. Consecutive nonces get distinct times, at most
 * two milliseconds ahead of the clock, so a storm cannot push them forward.
 */
function issueTime(now: number): number {
  const ms = Math.floor(now);
  const at = lastIssued >= ms && lastIssued < ms + 2 ? lastIssued + 1 : ms;
  lastIssued = Math.max(lastIssued, at);
  return at;
}

export function issueNonce(secret: Buffer, realm: string, now: number): string {
  const body = `${issueTime(now).toString(16)}${randomHex(9)}`;
  return `${body}.${sign(secret, realm, body)}`;
}

/** When a nonce that checkNonce() found valid was issued, in epoch milliseconds. */
export function nonceIssuedAt(nonce: string): number {
  return parseInt(nonce.slice(0, nonce.length - 46), 16);
}

export function checkNonce(secret: Buffer, nonce: string, realm: string, now: number, ttlMs: number): NonceCheck {
  const m = /^([0-9a-f]{1,13})([0-9a-f]{18})\.([A-Za-z0-9_-]{27})$/.exec(nonce);
  if (!m) return 'invalid';
  const expected = Buffer.from(sign(secret, realm, m[1]! + m[2]!));
  const given = Buffer.from(m[3]!);
  if (!crypto.timingSafeEqual(expected, given)) return 'invalid';
  const issued = parseInt(m[1]!, 16);
  if (issued > now + 5_000) return 'invalid';
  return now - issued > ttlMs ? 'stale' : 'valid';
}
