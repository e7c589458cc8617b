/**
 * DTMF as phones send it: RFC 4733 telephone-events inside RTP, or SIP INFO
 * (application/dtmf-relay or application/dtmf). Both arrive from a phone that
 * is not yet trusted, so anything malformed reads as "no digit".
 */

const EVENT_DIGITS = '0123456789*#ABCD';

export interface KeyPress {
  digit: string;
  /** Events of one key press share an RTP timestamp; presses from INFO get a sequence number instead. */
  key: string;
  end: boolean;
}

/** One RTP packet: version 2, the negotiated telephone-event payload type, a 4-byte event. */
export function keyPressFromRtp(packet: Buffer, telephoneEventPt: number): KeyPress | null {
  if (packet.length < 12 + 4 || packet.length > 1500) return null;
  const first = packet.readUInt8(0);
  if (first >> 6 !== 2) return null;
  const csrcCount = first & 0x0f;
  const hasExtension = (first & 0x10) !== 0;
  const pt = packet.readUInt8(1) & 0x7f;
  if (pt !== telephoneEventPt) return null;
  let offset = 12 + csrcCount * 4;
  if (hasExtension) {
    if (packet.length < offset + 4) return null;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  if (packet.length < offset + 4) return null;
  const event = packet.readUInt8(offset);
  if (event >= EVENT_DIGITS.length) return null;
  const end = (packet.readUInt8(offset + 1) & 0x80) !== 0;
  return { digit: EVENT_DIGITS[event]!, key: `rtp:${packet.readUInt32BE(4)}`, end };
}

/** A SIP INFO body; `seq` (the CSeq) tells presses apart. */
export function keyPressFromInfo(contentType: string, body: string, seq: number): KeyPress | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') signal = /^\s*Signal\s*=\s*(\S{1,2})\s*$/im.exec(body)?.[1];
  else if (type === 'application/dtmf') signal = /^\s*(\S{1,2})\s*$/.exec(body)?.[1];
  if (!signal) return null;
  const digit = signal === '10' ? '*' : signal === '11' ? '#' : signal.toUpperCase();
  if (!EVENT_DIGITS.includes(digit) || digit.length !== 1) return null;
  return { digit, key: `info:${seq}`, end: true };
}

/**
 * Turns a stream of key presses into digits: an RTP key press is repeated in
 * several packets (and its end three times), so each press counts once.
 */
export class DigitCollector {
  private readonly seen = new Set<string>();
  private digits = '';

  constructor(private readonly maxDigits: number) {}

  push(press: KeyPress): string | null {
    if (this.seen.has(press.key)) return null;
    this.seen.add(press.key);
    if (this.seen.size > 1000) this.seen.clear();
    if (press.digit === '#') return this.take();
    if (press.digit === '*') {
      this.digits = '';
      return null;
    }
    if (!/[0-9]/.test(press.digit)) return null;
    this.digits = (this.digits + press.digit).slice(-this.maxDigits);
    return this.digits.length === this.maxDigits ? this.take() : null;
  }

  private take(): string {
    const d = this.digits;
    this.digits = '';
    return d;
  }
}
