import crypto from 'node:crypto';
import type { AuthHeader } from 'sip';

/** HTTP digest as SIP uses it (RFC 3261 §22, RFC 7616, RFC 8760), qop=auth only. */
export type DigestAlgorithm = 'MD5' | 'SHA-256';
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'SHA-256'];

export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm: DigestAlgorithm;
  qop: 'auth';
  nc: number;
  /** The nonce count exactly as sent: it is hashed as written. */
  ncText: string;
  cnonce: string;
}

export function unquote(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(v);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : v;
}

function quote(v: string): string {
  return `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The Authorization header as credentials we can check, or the reason it
 * cannot be checked. Only qop=auth is accepted: without a nonce count there is
 * no way to refuse a replayed header.
 */
export function parseCredentials(h: AuthHeader): DigestCredentials | { problem: string } {
  if (!/^digest$/i.test(h.scheme ?? '')) return { problem: 'not a Digest Authorization' };
  const get = (k: string) => unquote(h[k]);
  const algorithmRaw = (get('algorithm') ?? 'MD5').toUpperCase();
  const algorithm = DIGEST_ALGORITHMS.find((a) => a === algorithmRaw);
  if (!algorithm) return { problem: `unsupported algorithm ${algorithmRaw.slice(0, 20)}` };
  const [username, realm, nonce, uri, response, qop, ncText, cnonce] = ['username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce'].map(get);
  if (!username || !realm || !nonce || !uri || !response) return { problem: 'incomplete Authorization' };
  if (qop?.toLowerCase() !== 'auth') return { problem: 'qop=auth is required' };
  if (!ncText || !/^[0-9a-fA-F]{8}$/.test(ncText) || !cnonce) return { problem: 'nc and cnonce are required with qop=auth' };
  if ([username, realm, nonce, uri, response, cnonce].some((v) => v.length > 512)) return { problem: 'Authorization parameter too long' };
  return { username, realm, nonce, uri, response: response.toLowerCase(), algorithm, qop: 'auth', nc: parseInt(ncText, 16), ncText, cnonce };
}

/** One-shot hashing: three per REGISTER, where a Hash object each costs twice the time. */
function hash(algorithm: DigestAlgorithm, s: string): string {
  return crypto.hash(algorithm === 'MD5' ? 'md5' : 'sha256', s, 'hex');
}

/** The expected `response` for these credentials and password. */
export function digestResponse(c: Omit<DigestCredentials, 'response' | 'nc'>, password: string, method: string): string {
  const ha1 = hash(c.algorithm, `${c.username}:${c.realm}:${password}`);
  const ha2 = hash(c.algorithm, `${method}:${c.uri}`);
  return hash(c.algorithm, `${ha1}:${c.nonce}:${c.ncText}:${c.cnonce}:${c.qop}:${ha2}`);
}

export function responseMatches(c: DigestCredentials, password: string, method: string): boolean {
  const expected = Buffer.from(digestResponse(c, password, method));
  const given = Buffer.from(c.response);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

/** One WWW-Authenticate challenge per algorithm, in the configured order. */
export function challenges(order: readonly DigestAlgorithm[], realm: string, nonce: string, stale: boolean): AuthHeader[] {
  return order.map((algorithm) => ({
    scheme: 'Digest',
    realm: quote(realm),
    nonce: quote(nonce),
    algorithm,
    qop: '"auth"',
    ...(stale ? { stale: 'true' } : {}),
  }));
}

/**
 * SIP.js keeps only the last WWW-Authenticate header of a response (its
 * parser replaces rather than appends), where RFC 8760 has clients pick the
 * first they support. For such clients the preferred challenge goes last.
 */
const READS_LAST_CHALLENGE = [/^SIP\.js\//];

export function challengeOrder(configured: readonly DigestAlgorithm[], userAgent: string): readonly DigestAlgorithm[] {
  return READS_LAST_CHALLENGE.some((re) => re.test(userAgent)) ? [...configured].reverse() : configured;
}
