/**
 * DTMF as phones send it: RFC 4733 telephone-events inside RTP, SIP INFO
 * (application/dtmf-relay or application/dtmf), or tones in the audio. All
 * arrive from a phone that is not yet trusted, so anything malformed reads
 * as "no digit".
 */

const EVENT_DIGITS = '0123456789*#ABCD';
/** The longest duration an event segment can say (RFC 4733 §2.5.1.3): a key held longer continues in a new segment. */
const MAX_DURATION = 0xffff;

export interface KeyPress {
  digit: string;
  /** Packets of one key press share an RTP timestamp; presses from INFO and tones get their own keys. */
  key: string;
  end: boolean;
  /** RFC 4733 only: a segment that reached the longest duration, so a next segment of the same digit continues it. */
  full?: boolean;
}

/** The payload of an RFC 4733 packet (after the RTP header), with the packet's timestamp. */
export function keyPressFromEvent(payload: Buffer, timestamp: number): KeyPress | null {
  if (payload.length < 4) return null;
  const event = payload[0]!;
  if (event >= EVENT_DIGITS.length) return null;
  const duration = payload.readUInt16BE(2);
  return { digit: EVENT_DIGITS[event]!, key: `rtp:${timestamp}`, end: (payload[1]! & 0x80) !== 0, full: duration === MAX_DURATION };
}

/** A SIP INFO body; `seq` (the CSeq) tells presses apart. */
export function keyPressFromInfo(contentType: string, body: string, seq: number): KeyPress | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let signal: string | undefined;
  if (body.length > 256) return null;
  if (type === 'application/dtmf-relay') signal = /^\s*Signal\s*=\s*(\S{1,2})\s*$/im.exec(body)?.[1];
  else if (type === 'application/dtmf') signal = /^\s*(\S{1,2})\s*$/.exec(body)?.[1];
  if (!signal) return null;
  const digit = signal === '10' ? '*' : signal === '11' ? '#' : signal.toUpperCase();
  if (!EVENT_DIGITS.includes(digit) || digit.length !== 1) return null;
  return { digit, key: `info:${seq}`, end: true };
}

/**
 * Turns a stream of key presses into digits: an RTP key press is repeated in
 * several packets (and its end three times), so each press counts once; a key
 * held past the longest event duration goes on in a new segment, which is
 * the same press.
 */
export class DigitCollector {
  private readonly seen = new Set<string>();
  private digits = '';
  private open: KeyPress | null = null;

  constructor(private readonly maxDigits: number) {}

  /** Null for a packet repeating a press already counted; otherwise the entry this press completes, if any. */
  push(press: KeyPress): { entry: string | null } | null {
    if (!this.first(press)) return null;
    if (press.digit === '#') return { entry: this.take() };
    if (press.digit === '*') this.digits = '';
    else if (/[0-9]/.test(press.digit)) this.digits = (this.digits + press.digit).slice(-this.maxDigits);
    return { entry: this.digits.length === this.maxDigits ? this.take() : null };
  }

  /** True when `press` is the first packet of a new key press. */
  private first(press: KeyPress): boolean {
    const open = this.open;
    if (this.seen.has(press.key)) {
      if (open?.key === press.key) this.open = press.end ? null : { ...press, full: press.full || open.full };
      return false;
    }
    if (this.seen.size >= 1000) this.seen.clear();
    this.seen.add(press.key);
    this.open = press.end ? null : press;
    return !(open?.full && open.digit === press.digit);
  }

  private take(): string {
    const d = this.digits;
    this.digits = '';
    return d;
  }
}
