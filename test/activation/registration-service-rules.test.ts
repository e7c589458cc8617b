import t from 'tap';
import { DigitCollector, keyPressFromInfo, keyPressFromRtp } from '../../daemon/activation/dtmf';
import { answerFor, readOffer } from '../../daemon/activation/sdp';
import { MAX_ATTEMPTS, initialEntry, onDigits, onRedemption } from '../../daemon/activation/entry';

function rtpEvent(opts: { event: number; end?: boolean; pt?: number; timestamp?: number; csrc?: number; version?: number }): Buffer {
  const csrc = opts.csrc ?? 0;
  const b = Buffer.alloc(12 + csrc * 4 + 4);
  b.writeUInt8(((opts.version ?? 2) << 6) | csrc, 0);
  b.writeUInt8(opts.pt ?? 101, 1);
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(opts.timestamp ?? 1000, 4);
  b.writeUInt32BE(0xdeadbeef, 8);
  b.writeUInt8(opts.event, 12 + csrc * 4);
  b.writeUInt8(opts.end ? 0x80 | 10 : 10, 13 + csrc * 4);
  b.writeUInt16BE(800, 14 + csrc * 4);
  return b;
}

t.test('RFC 4733 events become key presses', async (t) => {
  t.same(keyPressFromRtp(rtpEvent({ event: 5 }), 101), { digit: '5', key: 'rtp:1000', end: false });
  t.same(keyPressFromRtp(rtpEvent({ event: 11, end: true, csrc: 2 }), 101), { digit: '#', key: 'rtp:1000', end: true });
  t.equal(keyPressFromRtp(rtpEvent({ event: 5, pt: 0 }), 101), null, 'audio, not an event');
  t.equal(keyPressFromRtp(rtpEvent({ event: 16 }), 101), null, 'not a DTMF event');
  t.equal(keyPressFromRtp(rtpEvent({ event: 5, version: 1 }), 101), null);
  t.equal(keyPressFromRtp(Buffer.alloc(3), 101), null, 'truncated');
  t.equal(keyPressFromRtp(rtpEvent({ event: 5, csrc: 15 }).subarray(0, 40), 101), null, 'CSRC count beyond the packet');
  const ext = rtpEvent({ event: 5 });
  ext.writeUInt8(0x90, 0);
  t.equal(keyPressFromRtp(ext, 101), null, 'extension header beyond the packet');
  t.equal(keyPressFromRtp(Buffer.alloc(70000, 0x80), 101), null, 'oversized');
});

t.test('SIP INFO bodies become key presses', async (t) => {
  t.same(keyPressFromInfo('application/dtmf-relay', 'Signal=7\r\nDuration=160\r\n', 3), { digit: '7', key: 'info:3', end: true });
  t.same(keyPressFromInfo('application/dtmf-relay; charset=utf-8', 'Signal= #\r\n', 4)?.digit, '#');
  t.same(keyPressFromInfo('application/dtmf', '11', 5)?.digit, '#');
  t.equal(keyPressFromInfo('application/dtmf-relay', 'Signal=77', 6), null);
  t.equal(keyPressFromInfo('text/plain', 'Signal=7', 6), null);
  t.equal(keyPressFromInfo('application/dtmf-relay', '\u0000'.repeat(100), 6), null);
});

t.test('a key press counts once however many packets repeat it', async (t) => {
  const c = new DigitCollector(4);
  const presses = ['1', '2', '3'].flatMap((d, i) => [0, 1, 2, 3].map((n) => ({ digit: d, key: `rtp:${i}`, end: n === 3 })));
  t.same(presses.map((p) => c.push(p)).filter(Boolean), []);
  t.equal(c.push({ digit: '4', key: 'rtp:9', end: false }), '1234', 'complete at the expected length');
  t.equal(c.push({ digit: '9', key: 'rtp:10', end: false }), null);
  t.equal(c.push({ digit: '*', key: 'rtp:11', end: false }), null, '* starts over');
  t.equal(c.push({ digit: '5', key: 'rtp:12', end: false }), null);
  t.equal(c.push({ digit: '#', key: 'rtp:13', end: false }), '5', '# ends an entry early');
});

t.test('SDP: the phone\'s audio address and telephone-event type, answered receive-only', async (t) => {
  const offer = readOffer([
    'v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 10.0.0.5', 't=0 0',
    'm=audio 40000 RTP/AVP 9 0 8 96', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15', 'm=video 40002 RTP/AVP 97',
  ].join('\r\n'));
  t.same(offer, { address: '10.0.0.5', port: 40000, telephoneEventPt: 96, payloadTypes: [9, 0, 8, 96] });
  const answer = answerFor(offer!, { address: '127.0.0.1', port: 30000, sessionId: 42 });
  t.match(answer, /m=audio 30000 RTP\/AVP 0 8 96\r\n/);
  t.match(answer, /a=rtpmap:96 telephone-event\/8000/);
  t.match(answer, /a=recvonly/);
  t.equal(readOffer('v=0\r\nm=audio 0 RTP/AVP 0'), null, 'no address');
  t.equal(readOffer('c=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0'), null, 'port out of range');
  t.equal(readOffer('x'.repeat(10000)), null, 'oversized');
  t.equal(readOffer('c=IN IP4 1.2.3.4; rm -rf /\r\nm=audio 4000 RTP/AVP 0'), null, 'junk address');
});

t.test('three wrong codes end the call; a right one activates', async (t) => {
  let state = initialEntry();
  t.same(onDigits(state, '1234567890'), { do: 'redeem', code: '1234567890' });
  for (let i = 1; i < MAX_ATTEMPTS; i++) {
    const [next, action] = onRedemption(state, { ok: false, reason: 'unknown' });
    t.same(action, { do: 'wait' });
    state = next;
  }
  const [last, action] = onRedemption(state, { ok: false, reason: 'mistyped' });
  t.same(action, { do: 'hangup', outcome: 'refused' });
  t.same(onDigits(last, '1234567890'), { do: 'wait' }, 'nothing more is tried on this call');
  const [, ok] = onRedemption(initialEntry(), { ok: true, extensionId: 'e1', tenantId: 't1' });
  t.same(ok, { do: 'hangup', outcome: 'activated', extensionId: 'e1' });
});
