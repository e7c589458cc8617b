import t from 'tap';
import { DigitCollector, type KeyPress, keyPressFromEvent, keyPressFromInfo } from '../../daemon/activation/dtmf';
import { MAX_ATTEMPTS, initialEntry, onDigits, onFailure, onRedemption, opening } from '../../daemon/activation/entry';
import { WrongCodes } from '../../daemon/activation/wrong-codes';

function event(o: { event: number; end?: boolean; duration?: number }): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt8(o.event, 0);
  b.writeUInt8(o.end ? 0x80 | 10 : 10, 1);
  b.writeUInt16BE(o.duration ?? 800, 2);
  return b;
}

t.test('RFC 4733 events become key presses', async (t) => {
  t.same(keyPressFromEvent(event({ event: 5 }), 1000), { digit: '5', key: 'rtp:1000', end: false, full: false });
  t.same(keyPressFromEvent(event({ event: 11, end: true }), 1000), { digit: '#', key: 'rtp:1000', end: true, full: false });
  t.equal(keyPressFromEvent(event({ event: 16 }), 1), null, 'not a DTMF event (a flash)');
  t.equal(keyPressFromEvent(event({ event: 255 }), 1), null);
  t.equal(keyPressFromEvent(Buffer.alloc(3), 1), null, 'truncated');
  t.equal(keyPressFromEvent(event({ event: 3, duration: 0xffff }), 1)?.full, true, 'a segment at the longest duration');
});

t.test('SIP INFO bodies become key presses', async (t) => {
  t.same(keyPressFromInfo('application/dtmf-relay', 'Signal=7\r\nDuration=160\r\n', 3), { digit: '7', key: 'info:3', end: true });
  t.same(keyPressFromInfo('application/dtmf-relay; charset=utf-8', 'Signal= #\r\n', 4)?.digit, '#');
  t.same(keyPressFromInfo('application/dtmf', '11', 5)?.digit, '#');
  t.same(keyPressFromInfo('application/dtmf', '4\r\n', 5)?.digit, '4');
  t.equal(keyPressFromInfo('application/dtmf-relay', 'Signal=77', 6), null);
  t.equal(keyPressFromInfo('text/plain', 'Signal=7', 6), null);
  t.equal(keyPressFromInfo('application/dtmf-relay', '\u0000'.repeat(100), 6), null);
  t.equal(keyPressFromInfo('application/dtmf-relay', `Signal=7\r\n${'x'.repeat(100000)}`, 6), null, 'an oversized body');
});

const entry = (r: { entry: string | null } | null) => r?.entry ?? null;

t.test('a key press counts once however many packets repeat it', async (t) => {
  const c = new DigitCollector(4);
  const presses = ['1', '2', '3'].flatMap((d, i) => [0, 1, 2, 3, 4].map((n): KeyPress => ({ digit: d, key: `rtp:${i}`, end: n >= 2 })));
  t.same(presses.map((p) => c.push(p)).filter(Boolean), [{ entry: null }, { entry: null }, { entry: null }], 'one new press each');
  t.equal(entry(c.push({ digit: '4', key: 'rtp:9', end: false })), '1234', 'complete at the expected length');
  t.equal(entry(c.push({ digit: '9', key: 'rtp:10', end: false })), null);
  t.equal(entry(c.push({ digit: '*', key: 'rtp:11', end: false })), null, '* starts over');
  t.equal(entry(c.push({ digit: '5', key: 'rtp:12', end: true })), null);
  t.equal(entry(c.push({ digit: '#', key: 'rtp:13', end: false })), '5', '# ends an entry early');
});

t.test('absurd durations: a key held past the longest event is one press; the same key after an end is another', async (t) => {
  const c = new DigitCollector(3);
  t.ok(c.push({ digit: '7', key: 'rtp:1', end: false, full: false }));
  t.equal(c.push({ digit: '7', key: 'rtp:1', end: false, full: true }), null);
  t.equal(c.push({ digit: '7', key: 'rtp:65536', end: false, full: false }), null, 'the next segment of the held key');
  t.equal(c.push({ digit: '7', key: 'rtp:65536', end: true, full: false }), null);
  t.same(c.push({ digit: '7', key: 'rtp:70000', end: false, full: false }), { entry: null }, 'a new press of the same key');
  t.same(c.push({ digit: '7', key: 'rtp:80000', end: false, full: true }), { entry: '777' }, 'a new press that starts at the longest duration still counts');
});

t.test('what the caller hears, and when the call ends', async (t) => {
  const [start, hello] = opening(false);
  t.same(hello, { play: ['greeting', 'enter-code'], then: 'listen', outcome: 'answered' });
  t.same(opening(true)[1], { play: ['goodbye'], then: 'hangup', outcome: 'locked-out' }, 'a locked-out phone hears goodbye');
  t.same(onDigits(start, '1234567890'), { do: 'redeem', code: '1234567890' });
  let state = start;
  const [, expired] = onRedemption(state, '1', { ok: false, reason: 'expired' });
  t.same(expired.play, ['code-expired', 'enter-code']);
  for (let i = 1; i < MAX_ATTEMPTS; i++) {
    const [next, step] = onRedemption(state, '1', { ok: false, reason: 'unknown' });
    t.same(step, { play: ['code-not-valid', 'enter-code'], then: 'listen', outcome: 'refused', reason: 'unknown' });
    state = next;
  }
  const [last, step] = onRedemption(state, '1', { ok: false, reason: 'mistyped' });
  t.same(step, { play: ['code-not-valid', 'goodbye'], then: 'hangup', outcome: 'refused', reason: 'mistyped' });
  t.same(onDigits(last, '1234567890'), { do: 'wait' }, 'nothing more is tried on this call');
  const [, ok] = onRedemption(initialEntry(), '0481', { ok: true, extensionId: 'e1', tenantId: 't1' });
  t.same(ok, { play: ['digit-0', 'digit-4', 'digit-8', 'digit-1', 'thank-you'], then: 'hangup', outcome: 'activated', extensionId: 'e1' }, 'the code is read back');
  t.same(onFailure(initialEntry()), [{ attempts: 0, done: true }, { play: ['system-busy'], then: 'hangup', outcome: 'system-busy' }]);
});

t.test('wrong codes are limited per device and per source, and one device cannot block another', async (t) => {
  const w = new WrongCodes({ perDevice: 3, perSource: 5, windowMs: 1000 });
  for (let i = 0; i < 3; i++) w.failed('a', '10.0.0.1', 0);
  t.ok(w.blocked('a', '10.0.0.1', 10), 'device a is blocked');
  t.ok(w.blocked('a', '10.9.9.9', 10), 'from anywhere');
  t.notOk(w.blocked('b', '10.0.0.1', 10), 'device b behind the same address is not');
  for (let i = 0; i < 2; i++) w.failed('b', '10.0.0.1', 10);
  t.ok(w.blocked('b', '10.0.0.1', 20), 'b, with wrong codes of its own, is blocked once the source is past its limit');
  t.notOk(w.blocked('b', '10.0.0.2', 20), 'but not from another address');
  t.notOk(w.blocked('c', '10.0.0.1', 20), 'and c, which keyed nothing wrong, is never blocked by the others');
  t.notOk(w.blocked('a', '10.0.0.1', 1000), 'the window ends');
  w.failed('c', '10.0.0.3', 0);
  w.succeeded('c');
  t.notOk(w.blocked('c', '10.0.0.3', 1), 'an activation clears the device');
});
