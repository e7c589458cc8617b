import crypto from 'node:crypto';
import { safeEqual } from '../../crypto/random';

export const REALM = 'dialtone-provisioning';
const NONCE_TTL_MS = 10 * 60_000;

// One-shot hashing (Node 20.12+) costs a fraction of a Hash object per call.
const md5 = (s: string) => crypto.hash('md5', s, 'hex');

/** Where a parser puts each parameter it reads. */
interface ParameterSink {
  set(key: string, value: string): void;
}

/** Parses `Digest a="b", c=d` into its parameters; null when the header is not a digest. */
export function parseDigest(header: string): Record<string, string> | null {
  if (header.length > 2048) return null;
  const out: Record<string, string> = {};
  return scanCleanDigest(header, { set: (k, v) => (out[k] = v) }) ? out : parseAnyDigest(header);
}

function parseAnyDigest(header: string): Record<string, string> | null {
  const m = /^Digest\s+(.+)$/is.exec(header);
  if (!m) return null;
  const out: Record<string, string> = {};
  const re = /([a-z0-9-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  for (const p of m[1]!.matchAll(re)) out[p[1]!.toLowerCase()] = p[2] === undefined ? p[3]! : p[2].includes('\\') ? p[2].replace(/\\(.)/g, '$1') : p[2];
  return out;
}

/** The parameters verify() reads, in an object of one shape: they are read on every request. */
class DigestFields implements ParameterSink {
  username: string | undefined = undefined;
  realm: string | undefined = undefined;
  nonce: string | undefined = undefined;
  uri: string | undefined = undefined;
  response: string | undefined = undefined;
  algorithm: string | undefined = undefined;
  qop: string | undefined = undefined;
  nc: string | undefined = undefined;
  cnonce: string | undefined = undefined;

  set(key: string, value: string): void {
    switch (key) {
      case 'username': this.username = value; break;
      case 'realm': this.realm = value; break;
      case 'nonce': this.nonce = value; break;
      case 'uri': this.uri = value; break;
      case 'response': this.response = value; break;
      case 'algorithm': this.algorithm = value; break;
      case 'qop': this.qop = value; break;
      case 'nc': this.nc = value; break;
      case 'cnonce': this.cnonce = value; break;
      default:
    }
  }
}

/** parseDigest's answer as DigestFields, parameters it does not use left out. */
function digestFields(header: string): DigestFields | null {
  if (header.length > 2048) return null;
  const fields = new DigestFields();
  if (scanCleanDigest(header, fields)) return fields;
  const any = parseAnyDigest(header);
  if (!any) return null;
  const again = new DigestFields();
  for (const [k, v] of Object.entries(any)) again.set(k, v);
  return again;
}

const SP = 32;
const TAB = 9;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const SCHEME = 'digest';
const isKeyChar = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45;

/**
 * The usual header, as phones and curl send it (`key=value` or `key="value"`
 * separated by commas and spaces, printable ASCII, no escapes), in one pass
 * without regular expressions: it is parsed on every request. Anything else
 * gives false, with some parameters perhaps already given to the sink, and
 * parseAnyDigest decides, so both ways give the same answer.
 */
function scanCleanDigest(header: string, sink: ParameterSink): boolean {
  if (header.length < 8 || (header.charCodeAt(6) !== SP && header.charCodeAt(6) !== TAB)) return false;
  // The scheme in any case: `| 0x20` lowers an ASCII letter, and only the two cases of a letter give that letter.
  for (let k = 0; k < 6; k++) if ((header.charCodeAt(k) | 0x20) !== SCHEME.charCodeAt(k)) return false;
  const n = header.length;
  let i = 7;
  while (i < n) {
    const c = header.charCodeAt(i);
    if (c === SP || c === TAB || c === COMMA) {
      i++;
      continue;
    }
    const keyStart = i;
    while (i < n && isKeyChar(header.charCodeAt(i))) i++;
    if (i === keyStart) return false;
    const key = header.slice(keyStart, i).toLowerCase();
    while (i < n && (header.charCodeAt(i) === SP || header.charCodeAt(i) === TAB)) i++;
    if (header.charCodeAt(i) !== EQUALS) return false;
    i++;
    while (i < n && (header.charCodeAt(i) === SP || header.charCodeAt(i) === TAB)) i++;
    if (header.charCodeAt(i) === QUOTE) {
      const close = header.indexOf('"', i + 1);
      if (close < 0) return false;
      const value = header.slice(i + 1, close);
      if (value.includes('\\')) return false;
      sink.set(key, value);
      i = close + 1;
      continue;
    }
    const valueStart = i;
    for (let v = header.charCodeAt(i); i < n && v !== SP && v !== TAB && v !== COMMA; v = header.charCodeAt(++i)) {
      if (v < 33 || v > 126) return false;
    }
    if (i === valueStart) return false;
    sink.set(key, header.slice(valueStart, i));
  }
  return true;
}

/** safeEqual without the two buffers it makes: the time depends on the lengths only. This runs on every request. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A device's provisioning password with its digest HA1, worked out once per password rather than per request. */
export interface DigestSecret {
  password: string;
  ha1: string;
}

export function digestSecret(username: string, password: string): DigestSecret {
  return { password, ha1: md5(`${username}:${REALM}:${password}`) };
}

// Nonces whose HMAC was checked already (phones reuse one nonce for many requests), and HA2s of the
// method and URI pairs that proved a device: a phone asks for the same few files again and again.
const VERIFIED_NONCES = 4096;
// Above the number of files a large site's phones ask for: past it, every request would evict one and hash again.
const PROVED_URIS = 32_768;

/** A header that proved a secret, and until when it may be taken as proof again without checking. */
interface Proof {
  header: string;
  method: string;
  username: string;
  nonceTime: number;
}

/**
 * HTTP digest (RFC 7616, MD5, qop=auth) for phones, which mostly speak
 * nothing newer. Nonces are stateless: a time and an HMAC of it, so any
 * dialtone process started with the same key accepts them until they expire.
 */
export class DigestAuth {
  private readonly key: Buffer;
  // Nonce → the time it carries; only ever holds nonces whose HMAC matched, so a forged one never skips the check.
  private readonly verified = new Map<string, number>();
  // Only filled after a response matched, so guessing does not fill it.
  private readonly ha2s = new Map<string, string>();
  // The last header that proved each secret: a phone sends the very same header for every fetch until its nonce
  // goes stale, and while the nonce is fresh the same text proves the same thing, so it is not parsed and hashed again.
  // A secret is a device record's, so a changed password is a new key.
  private readonly proofs = new WeakMap<DigestSecret, Proof>();

  constructor(key: Buffer = crypto.randomBytes(32), private readonly clock: () => number = Date.now) {
    this.key = key;
  }

  nonce(): string {
    const t = this.clock().toString(16);
    return `${t}.${crypto.createHmac('sha256', this.key).update(t).digest('base64url')}`;
  }

  challenge(opts: { basic: boolean }): string[] {
    const digest = `Digest realm="${REALM}", qop="auth", algorithm=MD5, nonce="${this.nonce()}"`;
    return opts.basic ? [digest, `Basic realm="${REALM}"`] : [digest];
  }

  /** The time a genuine nonce carries, or null for a forged or malformed one. */
  private nonceTime(nonce: string): number | null {
    const known = this.verified.get(nonce);
    if (known !== undefined) return known;
    const parts = nonce.split('.');
    const [t, mac] = parts;
    if (parts.length !== 2 || !t || !mac || !/^[0-9a-f]{1,16}$/.test(t)) return null;
    const expected = crypto.createHmac('sha256', this.key).update(t).digest('base64url');
    if (!safeEqual(mac, expected)) return null;
    const time = parseInt(t, 16);
    if (this.verified.size >= VERIFIED_NONCES) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(nonce, time);
    return time;
  }

  private fresh(time: number): boolean {
    const age = this.clock() - time;
    return age >= 0 && age <= NONCE_TTL_MS;
  }

  /**
   * The username the request proves, given a way to find the secret for it; null when it proves nothing.
   * `expected` is the secret the caller expects to be proved (a device's file): a header that proved it
   * before, with the same method and a nonce still fresh, proves it again at once.
   */
  verify(header: string | undefined, method: string, opts: { basicAllowed: boolean; secret: (username: string) => DigestSecret | null; expected?: DigestSecret | undefined }): string | null {
    if (!header) return null;
    const proof = opts.expected && this.proofs.get(opts.expected);
    if (proof && proof.header === header && proof.method === method && this.fresh(proof.nonceTime)) return proof.username;
    if (/^Basic\s/i.test(header)) {
      if (!opts.basicAllowed) return null;
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) return null;
      const user = decoded.slice(0, i);
      const expected = opts.secret(user);
      return expected !== null && safeEqual(decoded.slice(i + 1), expected.password) ? user : null;
    }
    const d = digestFields(header);
    if (!d || !d.username || !d.nonce || !d.uri || !d.response || d.realm !== REALM) return null;
    if (d.algorithm && d.algorithm.toUpperCase() !== 'MD5') return null;
    const nonceTime = this.nonceTime(d.nonce);
    if (nonceTime === null) return null;
    if (!this.fresh(nonceTime)) {
      this.verified.delete(d.nonce);
      return null;
    }
    const secret = opts.secret(d.username);
    if (secret === null) return null;
    const a2 = `${method}:${d.uri}`;
    const ha2 = this.ha2s.get(a2) ?? md5(a2);
    const expected = d.qop === 'auth' ? md5(`${secret.ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:auth:${ha2}`) : md5(`${secret.ha1}:${d.nonce}:${ha2}`);
    if (!sameText(d.response.toLowerCase(), expected)) return null;
    if (!this.ha2s.has(a2)) {
      if (this.ha2s.size >= PROVED_URIS) this.ha2s.delete(this.ha2s.keys().next().value!);
      this.ha2s.set(a2, ha2);
    }
    if (secret === opts.expected) this.proofs.set(secret, { header, method, username: d.username, nonceTime });
    return d.username;
  }
}
