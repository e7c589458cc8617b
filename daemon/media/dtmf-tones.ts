/**
 * In-band DTMF (ITU-T Q.23/Q.24) for ATAs and phones that send key presses
 * as audio: a Goertzel filter per DTMF frequency over each 20 ms block of
 * 8 kHz samples. A digit is reported once, after it has sounded for two
 * blocks in a row (40 ms, the shortest a Q.24 receiver must accept), and the
 * next one only after a block without it.
 */
const RATE = 8000;
const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const COEFFICIENTS = [...ROWS, ...COLUMNS].map((f) => 2 * Math.cos((2 * Math.PI * f) / RATE));

/** A tone quieter than this amplitude (about -36 dBm0) is not a key press. */
const MIN_AMPLITUDE = 400;
/** A tone pair is at least this share of the block's energy: speech spreads over many frequencies. */
const MIN_SHARE = 0.6;
/** Twist: one tone of the pair may be this many times stronger than the other in power (8 dB). */
const MAX_TWIST = 6.3;
/** The strongest tone of a group stands out from the group's others by this factor in power. */
const MIN_LEAD = 6;

function goertzel(samples: Int16Array, n: number, coefficient: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = samples[i]! + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

function strongest(powers: number[]): { index: number; lead: boolean } {
  let index = 0;
  for (let i = 1; i < powers.length; i++) if (powers[i]! > powers[index]!) index = i;
  const lead = powers.every((p, i) => i === index || p * MIN_LEAD < powers[index]!);
  return { index, lead };
}

/** The digit sounding in one block of samples, or null. */
export function toneIn(samples: Int16Array, n: number): string | null {
  if (n < 100) return null;
  const powers = COEFFICIENTS.map((c) => goertzel(samples, n, c));
  const row = strongest(powers.slice(0, 4));
  const col = strongest(powers.slice(4));
  const rowPower = powers[row.index]!;
  const colPower = powers[4 + col.index]!;
  // A tone of amplitude A has a Goertzel power of (A n / 2)^2 over n samples.
  const minPower = (MIN_AMPLITUDE * n / 2) ** 2;
  if (!row.lead || !col.lead || rowPower < minPower || colPower < minPower) return null;
  if (rowPower > colPower * MAX_TWIST || colPower > rowPower * MAX_TWIST) return null;
  let energy = 0;
  for (let i = 0; i < n; i++) energy += samples[i]! * samples[i]!;
  // And a power of energy * n / 2, where energy is the sum of its squared samples.
  if ((rowPower + colPower) * 2 < MIN_SHARE * energy * n) return null;
  return KEYS[row.index]![col.index]!;
}

export class ToneDetector {
  private candidate: string | null = null;
  private reported: string | null = null;

  /** Feeds one block; returns a digit the moment it counts as pressed. */
  push(samples: Int16Array, n: number): string | null {
    const digit = toneIn(samples, n);
    const confirmed = digit !== null && digit === this.candidate;
    this.candidate = digit;
    if (digit === null) this.reported = null;
    if (!confirmed || this.reported === digit) return null;
    this.reported = digit;
    return digit;
  }
}
