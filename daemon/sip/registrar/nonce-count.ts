/**
 * Replay protection (RFC 7616 §3.4) by the last nonce an address of record
 * was authenticated with: the same nonce must come with a higher count, and
 * another one must have been issued after it. Remembering one nonce per
 * address keeps the registrar's state bounded whatever its clients do. A
 * client still using an older nonce (a second phone on the same extension)
 * is challenged again and answers with a fresh one, as phones do.
 */
export interface LastNonce {
  nonce: string;
  nc: number;
  issuedAt: number;
}

export function isReplay(last: LastNonce | null, nonce: string, nc: number, issuedAt: number): boolean {
  if (!last) return false;
  return last.nonce === nonce ? nc <= last.nc : issuedAt <= last.issuedAt;
}
