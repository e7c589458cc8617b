/**
 * RTP (RFC 3550) as the registration service needs it: read what a phone
 * sends, without trusting a byte of it, and write our own audio packets.
 */

/** Larger than any audio or event packet a phone sends over an ordinary MTU. */
export const MAX_PACKET = 1500;

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** RTCP packet types (RFC 3550, 4585): a phone multiplexing RTCP on the RTP port (RFC 5761) sends these. */
function isRtcpType(secondByte: number): boolean {
  return secondByte >= 192 && secondByte <= 223;
}

/** An RTP packet, or null for anything that is not one (RTCP included). */
export function readRtp(b: Buffer): RtpPacket | null {
  if (b.length < 12 || b.length > MAX_PACKET) return null;
  const first = b[0]!;
  if (first >> 6 !== 2 || isRtcpType(b[1]!)) return null;
  let offset = 12 + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (b.length < offset + 4) return null;
    offset += 4 + b.readUInt16BE(offset + 2) * 4;
  }
  let end = b.length;
  if (first & 0x20) {
    const padding = b[b.length - 1]!;
    if (padding === 0) return null;
    end -= padding;
  }
  if (end < offset) return null;
  return {
    payloadType: b[1]! & 0x7f,
    marker: (b[1]! & 0x80) !== 0,
    sequence: b.readUInt16BE(2),
    timestamp: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(offset, end),
  };
}

/** Writes a packet header into `out` (12 bytes) followed by `payload`; returns the bytes written. */
export function writeRtp(out: Buffer, h: { payloadType: number; marker: boolean; sequence: number; timestamp: number; ssrc: number }, payload: Buffer): number {
  out[0] = 0x80;
  out[1] = (h.marker ? 0x80 : 0) | h.payloadType;
  out.writeUInt16BE(h.sequence & 0xffff, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  payload.copy(out, 12);
  return 12 + payload.length;
}
