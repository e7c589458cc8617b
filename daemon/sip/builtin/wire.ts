import sip, { type Message } from 'sip';

/**
 * Turning bytes from the network into SIP messages, refusing what is
 * malformed. Everything here assumes hostile input: sizes are capped before
 * parsing, the parser's exceptions are contained, and a message is only
 * answered (400) when it carries the Via a response needs to be routed.
 */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

export type Parsed =
  | { kind: 'message'; message: Message }
  /** A request that can be answered, but only with this error. */
  | { kind: 'bad'; message: Message; status: 400 | 513; reason: string }
  /** Nothing that can be answered: junk, a broken response, a request without Via. */
  | { kind: 'junk'; reason: string };

const MANDATORY = ['to', 'from', 'call-id', 'cseq'] as const;
const BAD_CALL_ID = /[\s\x00-\x1f\x7f]/;
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/im;
/** The CSeq line as sent: the parser reads `-1 INVITE` as 1 (RFC 3261 §20.16 wants a 32-bit unsigned number). */
const CSEQ_LINE = /^cseq[ \t]*:[ \t]*(.*?)[ \t]*$/im;
const CSEQ_VALUE = /^\d{1,10}[ \t]+[A-Za-z!%*_+`'~.-]+$/;

/** The raw Content-Length of a header block: undefined when absent, NaN when not a number. */
export function rawContentLength(head: string): number | undefined {
  const m = CONTENT_LENGTH.exec(head);
  if (!m) return undefined;
  return /^\d{1,9}$/.test(m[1]!) ? Number(m[1]) : Number.NaN;
}

function parseHead(head: string): Message | undefined {
  try {
    return sip.parse(`${head.replace(/^(\r\n)+/, '')}\r\n\r\n`) ?? undefined;
  } catch {
    return undefined;
  }
}

function routable(m: Message): boolean {
  const via = m.headers.via;
  return Array.isArray(via) && via.length > 0 && typeof via[0]!.host === 'string' && via[0]!.host !== '' && typeof via[0]!.protocol === 'string';
}

function problem(m: Message): string | null {
  for (const h of MANDATORY) if (m.headers[h] === undefined) return `missing ${h} header`;
  // RFC 3261 §25.1: a Call-ID is one or two words; stores use white space as their separator.
  const callId = m.headers['call-id'];
  if (typeof callId !== 'string' || callId === '' || BAD_CALL_ID.test(callId)) return 'bad Call-ID';
  const cseq = m.headers.cseq!;
  if (typeof cseq !== 'object' || !Number.isInteger(cseq.seq) || cseq.seq < 0 || cseq.seq > 2 ** 31 - 1) return 'bad CSeq';
  if (m.method && cseq.method !== m.method) return 'CSeq method does not match the request';
  if (typeof m.headers.to !== 'object' || typeof m.headers.from !== 'object') return 'bad To or From';
  if (m.headers.contact !== undefined && m.headers.contact !== '*' && !Array.isArray(m.headers.contact)) return 'bad Contact';
  if (m.method && sip.parseUri(m.uri ?? '') === undefined && !/^(tel|urn):/i.test(m.uri ?? '')) return 'bad Request-URI';
  return null;
}

/**
 * One whole message: a UDP datagram or a WebSocket frame (RFC 7118).
 * `truncated` says the transport cut the message short.
 */
export function parseMessage(bytes: Buffer | string): Parsed {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  if (head.replace(/^(\r\n)+/, '') === '') return { kind: 'junk', reason: 'empty' };
  const message = parseHead(head);
  if (!message) return { kind: 'junk', reason: 'not SIP' };
  const answerable = message.method !== undefined && message.method !== 'ACK' && routable(message);
  const fail = (reason: string, status: 400 | 513 = 400): Parsed =>
    answerable ? { kind: 'bad', message, status, reason } : { kind: 'junk', reason };
  if (head.length > MAX_HEADER_BYTES) return fail('headers too large', 513);
  if (end < 0) return fail('message truncated before the end of its headers');
  if (!routable(message)) return fail('missing Via');
  const bad = problem(message) ?? (CSEQ_VALUE.test(CSEQ_LINE.exec(head)?.[1] ?? '') ? null : 'bad CSeq');
  if (bad) return fail(bad);
  const length = rawContentLength(head);
  if (length !== undefined && Number.isNaN(length)) return fail('bad Content-Length');
  if (length !== undefined && length > body.length) return fail('body shorter than Content-Length');
  if (body.length > MAX_BODY_BYTES) return fail('body too large', 513);
  message.content = length === undefined ? body : body.slice(0, length);
  return { kind: 'message', message };
}

/**
 * Frames messages on a byte stream (TCP): by Content-Length, with caps so a
 * peer cannot make us buffer without bound. `fatal` means the stream can no
 * longer be framed and must be closed.
 */
export class StreamFramer {
  private buffer = '';

  push(chunk: Buffer): { messages: Parsed[]; fatal: string | null } {
    this.buffer += chunk.toString('latin1');
    const messages: Parsed[] = [];
    for (;;) {
      this.buffer = this.buffer.replace(/^(\r\n)+/, '');
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.buffer.length > MAX_HEADER_BYTES) return { messages, fatal: 'headers too large' };
        return { messages, fatal: null };
      }
      const head = this.buffer.slice(0, end);
      if (head.length > MAX_HEADER_BYTES) return { messages, fatal: 'headers too large' };
      const length = rawContentLength(head) ?? 0;
      if (Number.isNaN(length) || length > MAX_BODY_BYTES) {
        messages.push(parseMessage(`${head}\r\n\r\n`));
        return { messages, fatal: 'bad Content-Length' };
      }
      if (this.buffer.length < end + 4 + length) return { messages, fatal: null };
      messages.push(parseMessage(this.buffer.slice(0, end + 4 + length)));
      this.buffer = this.buffer.slice(end + 4 + length);
    }
  }
}
