/**
 * The one kind of request the raw lane answers itself: an HTTP/1.1 GET or
 * HEAD with no body, whose head is plain printable ASCII in the strict
 * grammar. Anything else is handed to node:http, whose parser is the
 * reference for every case this one does not accept.
 */
export interface RequestHead {
  method: 'GET' | 'HEAD';
  /** The request target exactly as sent (origin-form, printable ASCII, no spaces). */
  target: string;
  authorization: string | undefined;
  userAgent: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  /** The client asked for the connection to be closed after the answer. */
  close: boolean;
  /** Bytes of the head, blank line included: where the next request starts. */
  length: number;
}

/** The head is not complete yet and may still become one this parser accepts. */
export const INCOMPLETE = 0;
/** node:http must have this request (and the rest of the connection). */
export const HAND_OVER = 1;

/** node:http's default limit; a longer head is handed over for node:http to refuse. */
export const MAX_HEAD = 16 * 1024;
const MAX_FIELDS = 100;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Whether text[from, end) holds anything but HTAB, printable ASCII and CR LF
 * pairs: control bytes, NUL, obs-text, a bare CR or a bare LF. A CR at `end`
 * itself is taken as the start of a pair. One pass, run on every head.
 */
function unusual(text: string, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 32 && c <= 126) continue;
    if (c === 9) continue;
    if (c === 13 && (i + 1 === end || text.charCodeAt(i + 1) === 10)) {
      i++;
      continue;
    }
    return true;
  }
  return false;
}

/** The fields a head's parse acts on. */
const enum Field { Other, Host, ContentLength, Connection, Refused, Authorization, UserAgent, IfNoneMatch, IfModifiedSince }

const FIELDS: [string, Field][] = [
  ['host', Field.Host], ['content-length', Field.ContentLength], ['connection', Field.Connection],
  ['transfer-encoding', Field.Refused], ['expect', Field.Refused], ['upgrade', Field.Refused],
  ['authorization', Field.Authorization], ['user-agent', Field.UserAgent], ['if-none-match', Field.IfNoneMatch], ['if-modified-since', Field.IfModifiedSince],
];
// By length: most names are told apart by their length, and no name is lower-cased (a new string) to be matched.
const FIELDS_BY_LENGTH: [string, Field][][] = [];
for (const f of FIELDS) (FIELDS_BY_LENGTH[f[0].length] ??= []).push(f);

/** Which of FIELDS a token names, in any case: `| 0x20` lowers an ASCII letter, and among token characters only a letter's two cases give that letter. */
function fieldOf(name: string): Field {
  const candidates = FIELDS_BY_LENGTH[name.length];
  if (candidates === undefined) return Field.Other;
  next: for (const [lower, field] of candidates) {
    for (let i = 0; i < lower.length; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) continue next;
    return field;
  }
  return Field.Other;
}

const READ_ONCE = { [Field.Authorization]: 'authorization', [Field.UserAgent]: 'userAgent', [Field.IfNoneMatch]: 'ifNoneMatch', [Field.IfModifiedSince]: 'ifModifiedSince' } as const;

const isOws = (c: number) => c === 32 || c === 9;

function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOws(s.charCodeAt(start))) start++;
  while (end > start && isOws(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function startsWithAny(target: string, prefixes: readonly string[]): boolean {
  for (const p of prefixes) if (target.startsWith(p)) return true;
  return false;
}

/**
 * Parses the head that starts at `from` in `text` (a buffer read as latin1,
 * one character per byte), given the target prefixes the lane answers.
 */
export function parseRequestHead(text: string, from: number, prefixes: readonly string[]): RequestHead | typeof INCOMPLETE | typeof HAND_OVER {
  const end = text.indexOf('\r\n\r\n', from);
  if (end < 0) return incomplete(text, from, prefixes);
  if (end + 4 - from > MAX_HEAD) return HAND_OVER;
  if (unusual(text, from, end + 2)) return HAND_OVER;
  const head = text.slice(from, end + 2);
  const lineEnd = head.indexOf('\r\n');
  const line = head.slice(0, lineEnd);
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  if (sp1 < 0 || sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0 || line.slice(sp2 + 1) !== 'HTTP/1.1') return HAND_OVER;
  const method = line.slice(0, sp1);
  if (method !== 'GET' && method !== 'HEAD') return HAND_OVER;
  const target = line.slice(sp1 + 1, sp2);
  if (!startsWithAny(target, prefixes)) return HAND_OVER;
  const req: RequestHead = { method, target, authorization: undefined, userAgent: undefined, ifNoneMatch: undefined, ifModifiedSince: undefined, close: false, length: end + 4 - from };
  let host = false;
  let contentLength = false;
  let connection = false;
  let fields = 0;
  for (let at = lineEnd + 2; at < head.length; ) {
    const next = head.indexOf('\r\n', at);
    const field = head.slice(at, next);
    at = next + 2;
    if (++fields > MAX_FIELDS) return HAND_OVER;
    const colon = field.indexOf(':');
    // A leading space or tab is obs-fold; a name must be a token right up to the colon.
    if (colon <= 0) return HAND_OVER;
    const name = field.slice(0, colon);
    if (!TOKEN.test(name)) return HAND_OVER;
    const value = trimOws(field.slice(colon + 1));
    const kind = fieldOf(name);
    switch (kind) {
      case Field.Other:
        break;
      case Field.Host:
        if (host) return HAND_OVER;
        host = true;
        break;
      case Field.ContentLength:
        // A GET's body is refused elsewhere; only an explicit empty one is answered here.
        if (contentLength || value !== '0') return HAND_OVER;
        contentLength = true;
        break;
      case Field.Connection: {
        if (connection) return HAND_OVER;
        connection = true;
        const v = value.toLowerCase();
        if (v === 'close') req.close = true;
        else if (v !== 'keep-alive') return HAND_OVER;
        break;
      }
      case Field.Refused:
        return HAND_OVER;
      default: {
        const read = READ_ONCE[kind];
        if (req[read] !== undefined) return HAND_OVER;
        req[read] = value;
      }
    }
  }
  // HTTP/1.1 requires Host; node:http answers its absence with 400.
  return host ? req : HAND_OVER;
}

/** What a partial head can still become: handed over as soon as it cannot be one of ours. */
function incomplete(text: string, from: number, prefixes: readonly string[]): typeof INCOMPLETE | typeof HAND_OVER {
  if (text.length - from > MAX_HEAD) return HAND_OVER;
  const sofar = text.slice(from, from + 64);
  const fits = (method: string) => prefixes.some((p) => {
    const start = `${method} ${p}`;
    return sofar.length < start.length ? start.startsWith(sofar) : sofar.startsWith(start);
  });
  if (!fits('GET') && !fits('HEAD')) return HAND_OVER;
  // A bare LF or a control byte already seen will not turn into an acceptable head.
  return unusual(text, from, text.length) ? HAND_OVER : INCOMPLETE;
}
