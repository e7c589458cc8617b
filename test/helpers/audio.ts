import { decodeG711 } from '../../daemon/media/g711';

/**
 * What a phone's audio path does, for tests: G.711 encoding of linear
 * samples (ITU-T G.711), DTMF tone pairs as a keypad sends them, and
 * finding a prompt in what a phone heard.
 */
const ROW: Record<string, number> = { 1: 697, 2: 697, 3: 697, A: 697, 4: 770, 5: 770, 6: 770, B: 770, 7: 852, 8: 852, 9: 852, C: 852, '*': 941, 0: 941, '#': 941, D: 941 };
const COL: Record<string, number> = { 1: 1209, 4: 1209, 7: 1209, '*': 1209, 2: 1336, 5: 1336, 8: 1336, 0: 1336, 3: 1477, 6: 1477, 9: 1477, '#': 1477, A: 1633, B: 1633, C: 1633, D: 1633 };

export function ulawEncode(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** `ms` of a key's tone pair at `amplitude` per tone (8 kHz), starting at sample `offset` for phase continuity. */
export function dtmfSamples(digit: string, ms: number, amplitude = 6000, offset = 0): number[] {
  const n = (ms * 8000) / 1000;
  return Array.from({ length: n }, (_, i) => {
    const t = (i + offset) / 8000;
    return amplitude * (Math.sin(2 * Math.PI * ROW[digit]! * t) + Math.sin(2 * Math.PI * COL[digit]! * t));
  });
}

export function ulawFrame(samples: number[]): Buffer {
  return Buffer.from(samples.map(ulawEncode));
}

/**
 * Which part of a µ-law prompt is in decoded audio (what a softphone
 * heard): the share of the prompt's 20 ms frames that appear, sample for
 * sample, anywhere in `heard`. Decoders' tables differ by a step or two
 * (baresip's and ours by 2 at most), so a sample counts within 4 of ours;
 * another prompt, or silence, gives about nothing.
 */
export function shareInAudio(heard: Int16Array, prompt: Buffer): number {
  const decoded = new Int16Array(prompt.length);
  decodeG711('PCMU', prompt, decoded);
  const close = (a: number, b: number) => Math.abs(a - b) <= 4;
  let found = 0;
  let total = 0;
  for (let f = 0; f + 160 <= decoded.length; f += 160) {
    const frame = decoded.subarray(f, f + 160);
    // Near-silent frames are in every prompt: they prove nothing.
    if (frame.every((s) => Math.abs(s) < 64)) continue;
    total++;
    search: for (let i = 0; i + 160 <= heard.length; i++) {
      for (let k = 0; k < 160; k++) if (!close(heard[i + k]!, frame[k]!)) continue search;
      found++;
      break;
    }
  }
  return total === 0 ? 0 : found / total;
}
