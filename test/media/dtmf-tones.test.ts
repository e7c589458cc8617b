import t from 'tap';
import { ToneDetector, toneIn } from '../../daemon/media/dtmf-tones';
import { decodeG711 } from '../../daemon/media/g711';
import { dtmfSamples, ulawFrame } from '../helpers/audio';

/** Samples as the detector gets them: encoded to µ-law by the phone, decoded by us. */
function heard(samples: number[]): Int16Array {
  const out = new Int16Array(samples.length);
  decodeG711('PCMU', ulawFrame(samples), out);
  return out;
}

function blocks(samples: number[]): Int16Array[] {
  const out: Int16Array[] = [];
  for (let i = 0; i + 160 <= samples.length; i += 160) out.push(heard(samples.slice(i, i + 160)));
  return out;
}

t.test('every key is heard in G.711 audio', async (t) => {
  for (const digit of '0123456789*#ABCD') t.equal(toneIn(heard(dtmfSamples(digit, 20)), 160), digit, digit);
  t.equal(toneIn(heard(dtmfSamples('5', 20, 600)), 160), '5', 'a quiet key');
});

t.test('silence, a single tone, noise and chords are not keys', async (t) => {
  t.equal(toneIn(heard(new Array(160).fill(0)), 160), null, 'silence');
  t.equal(toneIn(heard(Array.from({ length: 160 }, (_, i) => 8000 * Math.sin((2 * Math.PI * 697 * i) / 8000))), 160), null, 'one tone of a pair');
  let seed = 7;
  const noise = Array.from({ length: 160 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 20000);
  t.equal(toneIn(heard(noise), 160), null, 'noise');
  const chord = dtmfSamples('1', 20).map((s, i) => s + 6000 * Math.sin((2 * Math.PI * 440 * i) / 8000) + 6000 * Math.sin((2 * Math.PI * 2500 * i) / 8000));
  t.equal(toneIn(heard(chord), 160), null, 'a key drowned in other sound');
  const twisted = Array.from({ length: 160 }, (_, i) => 12000 * Math.sin((2 * Math.PI * 697 * i) / 8000) + 800 * Math.sin((2 * Math.PI * 1209 * i) / 8000));
  t.equal(toneIn(heard(twisted), 160), null, 'one tone far louder than the other');
  t.equal(toneIn(new Int16Array(160), 20), null, 'too few samples');
});

t.test('a key press counts once, after two blocks, and again only after a pause', async (t) => {
  const d = new ToneDetector();
  const press = (digit: string, ms: number) => blocks(dtmfSamples(digit, ms)).map((b) => d.push(b, 160));
  t.same(press('4', 100), [null, '4', null, null, null], 'reported once, at 40 ms');
  t.same(press('4', 100), [null, null, null, null, null], 'held without a pause: the same press');
  t.same(blocks(new Array(160).fill(0)).map((b) => d.push(b, 160)), [null]);
  t.same(press('4', 60), [null, '4', null], 'after a pause: a new press');
  t.same(press('7', 40), [null, '7'], 'another key straight after');
  t.same(press('1', 20), [null], 'a 20 ms blip is not a key');
});
