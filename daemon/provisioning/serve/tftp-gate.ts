const RRQ = 1;
const ERROR = 5;
// RFC 2347: the code that ends a request whose options the server will not accept.
const OPTION_REFUSED = 8;

/** What the listening port does with a datagram before the tftp package reads it. */
export type Screening = { action: 'pass' } | { action: 'drop' } | { action: 'refuse'; code: number; message: string };

// The options the tftp package negotiates, with the values it accepts (RFC 2348, 2349, 7440; rollover is a draft).
const OPTION_RULES: Record<string, { ok(v: number): boolean; accepted: string }> = {
  blksize: { ok: (v) => v >= 8 && v <= 65464, accepted: '8 to 65464' },
  tsize: { ok: (v) => v === 0, accepted: '0 in a read request' },
  windowsize: { ok: (v) => v >= 1 && v <= 65535, accepted: '1 to 65535' },
  rollover: { ok: (v) => v === 0 || v === 1, accepted: '0 or 1' },
};

/** The NUL-terminated strings after the opcode, or null when the last one has no terminator. */
function strings(packet: Buffer): string[] | null {
  const out: string[] = [];
  let start = 2;
  while (start < packet.length) {
    const end = packet.indexOf(0, start);
    if (end < 0) return null;
    out.push(packet.toString('latin1', start, end));
    start = end + 1;
  }
  return out;
}

/**
 * An ERROR packet is never answered (RFC 1350: it is neither acknowledged
 * nor retransmitted, and answering one lets two servers bounce errors
 * forever). A read request with an option value the server cannot accept is
 * refused with error 8 naming the option, so the phone's log says what to
 * fix; anything else, well formed or not, is left to the tftp package.
 */
export function screenDatagram(packet: Buffer): Screening {
  if (packet.length >= 2 && packet.readUInt16BE(0) === ERROR) return { action: 'drop' };
  if (packet.length < 2 || packet.readUInt16BE(0) !== RRQ || packet.length > 512) return { action: 'pass' };
  const fields = strings(packet);
  if (fields === null || fields.length < 2 || fields.length % 2 !== 0) return { action: 'pass' };
  for (let i = 2; i < fields.length; i += 2) {
    const name = fields[i]!.toLowerCase();
    const rule = OPTION_RULES[name];
    if (!rule) continue;
    const raw = fields[i + 1]!;
    if (!/^\d{1,10}$/.test(raw) || !rule.ok(Number(raw))) {
      const shown = raw.length > 20 ? `${raw.slice(0, 20)}...` : raw;
      return { action: 'refuse', code: OPTION_REFUSED, message: `Option ${name} ${JSON.stringify(shown)} refused: must be ${rule.accepted}` };
    }
  }
  return { action: 'pass' };
}

/** An ERROR packet (RFC 1350) of that code and text; the text is kept to ASCII so it fits one datagram. */
export function errorPacket(code: number, message: string): Buffer {
  const text = Buffer.from(message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200), 'latin1');
  const head = Buffer.alloc(4);
  head.writeUInt16BE(ERROR, 0);
  head.writeUInt16BE(code, 2);
  return Buffer.concat([head, text, Buffer.from([0])]);
}
