/**
 * G.711 µ-law and A-law to 16-bit linear samples (ITU-T G.711), by table:
 * the in-band DTMF detector listens to what phones send.
 */
function ulaw(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

function alaw(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  let magnitude = ((a & 0x0f) << 4) + 8;
  if (exponent !== 0) magnitude = (magnitude + 0x100) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

const ULAW = Int16Array.from({ length: 256 }, (_, i) => ulaw(i));
const ALAW = Int16Array.from({ length: 256 }, (_, i) => alaw(i));

/** Decodes `payload` into `out` (which must be at least as long); returns the number of samples. */
export function decodeG711(law: 'PCMU' | 'PCMA', payload: Buffer, out: Int16Array): number {
  const table = law === 'PCMU' ? ULAW : ALAW;
  const n = Math.min(payload.length, out.length);
  for (let i = 0; i < n; i++) out[i] = table[payload[i]!]!;
  return n;
}
