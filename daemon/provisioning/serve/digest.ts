import crypto from 'node:crypto';
import { safeEqual } from '../../crypto/random';

export const REALM = 'dialtone-provisioning';
const NONCE_TTL_MS = 10 * 60_000;

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

/** Parses `Digest a="b", c=d` into its parameters; null when the header is not a digest. */
export function parseDigest(header: string): Record<string, string> | null {
  const m = /^Digest\s+(.+)$/is.exec(header);
  if (!m || header.length > 2048) return null;
  const out: Record<string, string> = {};
  const re = /([a-z0-9-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/gi;
  for (const p of m[1]!.matchAll(re)) out[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return out;
}

/**
 * HTTP digest (RFC 7616, MD5, qop=auth) for phones, which mostly speak
 * nothing newer. Nonces are stateless: a time and an HMAC of it, so any
 * dialtone process started with the same key accepts them until they expire.
 */
export class DigestAuth {
  private readonly key: Buffer;

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

  private nonceValid(nonce: string): boolean {
    const [t, mac] = nonce.split('.');
    if (!t || !mac || !/^[0-9a-f]{1,16}$/.test(t)) return false;
    const expected = crypto.createHmac('sha256', this.key).update(t).digest('base64url');
    if (!safeEqual(mac, expected)) return false;
    const age = this.clock() - parseInt(t, 16);
    return age >= 0 && age <= NONCE_TTL_MS;
  }

  /** The username the request proves, given a way to find a password for it; null when it proves nothing. */
  verify(header: string | undefined, method: string, opts: { basicAllowed: boolean; password: (username: string) => string | null }): string | null {
    if (!header) return null;
    if (/^Basic\s/i.test(header)) {
      if (!opts.basicAllowed) return null;
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i < 0) return null;
      const user = decoded.slice(0, i);
      const expected = opts.password(user);
      return expected !== null && safeEqual(decoded.slice(i + 1), expected) ? user : null;
    }
    const d = parseDigest(header);
    if (!d || !d.username || !d.nonce || !d.uri || !d.response || d.realm !== REALM) return null;
    if (d.algorithm && d.algorithm.toUpperCase() !== 'MD5') return null;
    if (!this.nonceValid(d.nonce)) return null;
    const password = opts.password(d.username);
    if (password === null) return null;
    const ha1 = md5(`${d.username}:${REALM}:${password}`);
    const ha2 = md5(`${method}:${d.uri}`);
    const expected = d.qop === 'auth' ? md5(`${ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:auth:${ha2}`) : md5(`${ha1}:${d.nonce}:${ha2}`);
    return safeEqual(d.response.toLowerCase(), expected) ? d.username : null;
  }
}
