import type { AuthHeader, Message, NameAddr, Via } from 'sip';

/**
 * A faster reading of the header blocks phones send most (REGISTER,
 * OPTIONS, the INVITE to the registration service), giving exactly what the
 * `sip` package's parser gives, or undefined for anything off the common
 * shape so that the caller asks that parser instead. It never decides
 * anything the general parser would decide differently: a differential test
 * holds the two together over a corpus and random mutations of it.
 *
 * At registration-storm rates the general parser's regular expressions and
 * garbage were a tenth of the registrar's time.
 */

// Anything the general parser treats as white space or line structure, other than the single spaces and CRLFs handled here.
const UNUSUAL = /[^\x20-\x7e\x80-\x84\x86-\x9f\xa1-\xff\r\n]|\r(?!\n)|(?<!\r)\n|\r\n[ \t]|\r\n\r\n/;
const REQUEST_LINE = /^([A-Za-z]+) (\S+) SIP\/2\.0$/;
const TOKEN_WORDS = /^[\w\-.!%*+`'~]+(?: [\w\-.!%*+`'~]+)*$/;
const CSEQ = /^(\d+) ([A-Za-z]+)$/;
const DIGITS = /^\d+$/;
const VIA = /^SIP\/(2\.0)\/([^\s;:,]+) ([^\s;:,[\]"]+)(?::(\d+))?/;

const COMPACT = new Map(Object.entries({ i: 'call-id', m: 'contact', e: 'contact-encoding', l: 'content-length', c: 'content-type', f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via' }));

/** Headers whose parsed form the general parser gives in a way not reproduced here. */
const GENERAL_ONLY = new Set(['route', 'record-route', 'path', 'authentication-info', 'refer-to']);

/** The characters of a token (RFC 3261 §25.1) as the package's parser reads them. */
const TOKEN_CHAR = new Uint8Array(256);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.!%*+`\'~') TOKEN_CHAR[c.charCodeAt(0)] = 1;

function tokenEnd(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN_CHAR[c] === 0) break;
    i++;
  }
  return i;
}

/** `;name=value` parameters from `i` to the end of `s`, or undefined when any is unusual. */
function params(s: string, i = 0): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  while (i < s.length) {
    if (s.charCodeAt(i) !== 59) return undefined;
    const nameEnd = tokenEnd(s, ++i);
    if (nameEnd === i) return undefined;
    const name = s.slice(i, nameEnd).toLowerCase();
    if (s.charCodeAt(nameEnd) !== 61) {
      out[name] = null;
      i = nameEnd;
      continue;
    }
    const valueEnd = tokenEnd(s, nameEnd + 1);
    if (valueEnd === nameEnd + 1) return undefined;
    out[name] = s.slice(nameEnd + 1, valueEnd);
    i = valueEnd;
  }
  return out;
}

function via(s: string): Via | undefined {
  if (s.includes(',')) return undefined;
  const m = VIA.exec(s);
  if (!m) return undefined;
  const p = params(s, m[0].length);
  if (!p) return undefined;
  return { version: m[1]!, protocol: m[2]!, host: m[3]!, port: m[4] === undefined ? undefined : Number(m[4]), params: p } as Via;
}

function nameAddr(s: string): NameAddr | undefined {
  if (s.includes(',')) return undefined;
  const open = s.indexOf('<');
  if (open < 0) {
    if (/[\s"<>]/.test(s)) return undefined;
    const semi = s.indexOf(';');
    const uri = semi < 0 ? s : s.slice(0, semi);
    if (uri === '') return undefined;
    const p = semi < 0 ? {} : params(s, semi);
    return p ? { name: undefined, uri, params: p } as NameAddr : undefined;
  }
  const close = s.indexOf('>', open);
  if (close < 0) return undefined;
  const uri = s.slice(open + 1, close);
  if (uri === '' || /[\s<"]/.test(uri)) return undefined;
  let name: string | undefined;
  if (open > 0) {
    if (s.charCodeAt(open - 1) !== 32) return undefined;
    const display = s.slice(0, open - 1);
    if (display.startsWith('"')) {
      if (display.length < 2 || !display.endsWith('"') || /["\\]/.test(display.slice(1, -1))) return undefined;
    } else if (!TOKEN_WORDS.test(display)) {
      return undefined;
    }
    name = display;
  }
  const p = params(s, close + 1);
  return p ? { name, uri, params: p } as NameAddr : undefined;
}

/** An authentication header: a scheme, then `name=value` pairs, quoted values kept quoted. */
function auth(s: string): AuthHeader | undefined {
  const space = s.indexOf(' ');
  if (space <= 0) return undefined;
  const a: AuthHeader = { scheme: s.slice(0, space) };
  let i = space + 1;
  for (;;) {
    const eq = s.indexOf('=', i);
    if (eq <= i || /[\s,"]/.test(s.slice(i, eq))) return undefined;
    let end: number;
    if (s.charCodeAt(eq + 1) === 34) {
      end = s.indexOf('"', eq + 2) + 1;
      if (end === 0 || s.slice(eq + 2, end - 1).includes('\\')) return undefined;
    } else {
      end = eq + 1;
      while (end < s.length) {
        const c = s.charCodeAt(end);
        if (c === 44 || c === 32 || c === 34 || c === 92) break;
        end++;
      }
      if (end === eq + 1) return undefined;
    }
    a[s.slice(i, eq)] = s.slice(eq + 1, end);
    if (end === s.length) return a;
    if (s.charCodeAt(end) !== 44) return undefined;
    i = s.charCodeAt(end + 1) === 32 ? end + 2 : end + 1;
  }
}

/** One header's value in its parsed form, or undefined when the general parser should read the message. */
function header(name: string, value: string, previous: unknown): unknown {
  switch (name) {
    case 'via': {
      const v = via(value);
      return v && [...((previous as Via[] | undefined) ?? []), v];
    }
    case 'to':
    case 'from':
      return nameAddr(value);
    case 'contact': {
      const c = nameAddr(value);
      return c && [...((previous as NameAddr[] | undefined) ?? []), c];
    }
    case 'cseq': {
      const m = CSEQ.exec(value);
      return m ? { seq: Number(m[1]), method: m[2] } : undefined;
    }
    case 'content-length':
      return DIGITS.test(value) ? Number(value) : undefined;
    case 'www-authenticate':
    case 'proxy-authenticate':
    case 'authorization':
    case 'proxy-authorization': {
      const a = auth(value);
      return a && [...((previous as AuthHeader[] | undefined) ?? []), a];
    }
    default:
      return previous ? `${previous as string},${value}` : value;
  }
}

/** The parsed header block (without its blank line), or undefined to use the general parser. */
export function quickParse(head: string): Message | undefined {
  if (UNUSUAL.test(head)) return undefined;
  const lines = head.split('\r\n');
  const first = REQUEST_LINE.exec(lines[0]!);
  if (!first || first[1]!.includes('%')) return undefined;
  const headers: Record<string, unknown> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    let end = colon;
    while (end > 0 && line.charCodeAt(end - 1) === 32) end--;
    const raw = line.slice(0, end);
    if (raw === '' || raw.includes(' ') || raw.includes('%')) return undefined;
    const lower = raw.toLowerCase();
    const name = COMPACT.get(lower) ?? lower;
    // Names every object has are read oddly by the general parser (its lookups find Object's own): left to it.
    if (GENERAL_ONLY.has(name) || name in Object.prototype) return undefined;
    let start = colon + 1;
    while (start < line.length && line.charCodeAt(start) === 32) start++;
    const value = line.slice(start);
    if (value !== '' && value.charCodeAt(value.length - 1) === 32) return undefined;
    const parsed = header(name, value, headers[name]);
    if (parsed === undefined) return undefined;
    headers[name] = parsed;
  }
  return { method: first[1]!, uri: first[2]!, version: '2.0', headers, content: '' };
}
