/** A MAC as stored: twelve lower-case hex digits, no separators. */
export type Mac = string & { readonly __mac: unique symbol };

const SEPARATED = /^[0-9a-f]{2}([:\-. ]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;
const DOTTED = /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i;

/** Accepts `00:15:65:4A:A9:37`, `00-15-65-4a-a9-37`, `0015.654a.a937` and `0015654aa937`; null for anything else. */
export function parseMac(raw: string): Mac | null {
  const t = raw.trim();
  if (!SEPARATED.test(t) && !DOTTED.test(t)) return null;
  const hex = t.replace(/[:\-. ]/g, '').toLowerCase();
  // All zeros and all ones name no phone: they are the Polycom master file and broadcast.
  if (hex === '000000000000' || hex === 'ffffffffffff') return null;
  return hex as Mac;
}

export function macUpper(mac: Mac): string {
  return mac.toUpperCase();
}

export function macColons(mac: Mac): string {
  return mac.match(/../g)!.join(':');
}
