import t from 'tap';
import { answerSdp, chooseAudio, offerSdp, parseSdp } from '../../daemon/media/sdp';

const local = { address: '192.0.2.10', port: 20000, sessionId: 42, version: 1 };
const sdp = (...lines: string[]) => ['v=0', 'o=- 1 1 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 10.0.0.5', 't=0 0', ...lines, ''].join('\r\n');

function choose(text: string) {
  const parsed = parseSdp(text);
  if (!parsed.ok) return parsed;
  return chooseAudio(parsed.value);
}

t.test('the phone\'s preferred codec among ours, its telephone-event type, every media line answered in place', async (t) => {
  const text = sdp('m=audio 40000 RTP/AVP 18 9 0 8 96', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15', 'm=video 40002 RTP/AVP 97', 'a=rtpmap:97 H264/90000');
  const parsed = parseSdp(text);
  t.ok(parsed.ok);
  if (!parsed.ok) return;
  const choice = chooseAudio(parsed.value);
  t.ok(choice.ok);
  if (!choice.ok) return;
  t.match(choice.value, { index: 0, codec: 'G722', payloadType: 9, telephoneEvent: 96, remote: { address: '10.0.0.5', port: 40000 }, send: true, direction: 'sendrecv' });
  const answer = answerSdp(parsed.value, choice.value, local);
  t.match(answer, /\r\nm=audio 20000 RTP\/AVP 9 96\r\na=rtpmap:9 G722\/8000\r\na=rtpmap:96 telephone-event\/8000\r\n/);
  t.match(answer, /\r\nm=video 0 RTP\/AVP 97\r\n/, 'the video line is refused in its place');
  t.match(answer, /c=IN IP4 192.0.2.10/);
  t.match(answer, /a=sendrecv/);
});

t.test('dynamic payload types are read by name, and telephone-event at another rate is not ours', async (t) => {
  const r = choose(sdp('m=audio 40000 RTP/AVP 112 101 102', 'a=rtpmap:112 PCMA/8000', 'a=rtpmap:101 telephone-event/16000', 'a=rtpmap:102 opus/48000/2'));
  t.match(r, { ok: true, value: { codec: 'PCMA', payloadType: 112, telephoneEvent: null } });
});

t.test('nothing in common, or nothing to play to, is refused with the reason', async (t) => {
  t.match(choose(sdp('m=audio 40000 RTP/AVP 18 96', 'a=rtpmap:96 opus/48000/2')), { ok: false, reason: /no common codec/ });
  t.match(choose(sdp('m=video 40000 RTP/AVP 97')), { ok: false, reason: /no RTP\/AVP audio/ });
  t.match(choose(sdp('m=audio 0 RTP/AVP 0')), { ok: false, reason: /no RTP\/AVP audio/ }, 'a refused stream');
  t.match(choose(sdp('m=audio 40000 RTP/SAVP 0')), { ok: false, reason: /no RTP\/AVP audio/ }, 'SRTP');
  t.match(choose(['v=0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n')), { ok: false, reason: /no connection address/ });
});

t.test('hostile descriptions', async (t) => {
  const many = sdp(...Array.from({ length: 500 }, (_, i) => `m=audio ${2000 + i * 2} RTP/AVP 0`));
  t.match(parseSdp(many), { ok: false, reason: /SDP line 14: more than 8 media lines/ }, '500 media lines');
  t.match(parseSdp(sdp('m=audio 99999 RTP/AVP 0')), { ok: false, reason: /port 99999 is out of range/ });
  t.match(parseSdp(sdp('m=audio 7 RTP/AVP 0')), { ok: false, reason: /port 7 is out of range/ }, 'a privileged port');
  t.match(parseSdp(sdp('m=audio -1 RTP/AVP 0')), { ok: false, reason: /malformed m= line/ });
  t.match(parseSdp(sdp('m=audio 4000 RTP/AVP ' + '0 '.repeat(40).trim())), { ok: false, reason: /malformed m= line/ }, 'too many formats');
  t.match(parseSdp('v=0\r\nc=IN IP4 1.2.3.4; rm -rf /\r\n'), { ok: false, reason: /SDP line 2: connection address/ });
  t.match(parseSdp('v=0\r\nc=IN IP4 999.1.1.1\r\n'), { ok: false, reason: /connection address/ });
  t.match(parseSdp('v=0\r\nc=IN IP6 10.0.0.1\r\n'), { ok: false, reason: /connection address/ }, 'an IPv4 address said to be IPv6');
  t.match(parseSdp('v=0\r\nnonsense\r\n'), { ok: false, reason: /SDP line 2: not <type>=<value>/ });
  t.match(parseSdp('v=0\r\n' + 'a=x\r\n'.repeat(5000)), { ok: false, reason: /larger than/ });
  t.match(parseSdp('\u0000\u0001'), { ok: false });
});

t.test('hold: we stop sending, and say so', async (t) => {
  t.match(choose(sdp('m=audio 40000 RTP/AVP 0', 'a=sendonly')), { ok: true, value: { send: false, direction: 'recvonly' } });
  t.match(choose(sdp('m=audio 40000 RTP/AVP 0', 'a=inactive')), { ok: true, value: { send: false, direction: 'inactive' } });
  t.match(choose(sdp('m=audio 40000 RTP/AVP 0', 'a=recvonly')), { ok: true, value: { send: true, direction: 'sendonly' } });
  const old = ['v=0', 'o=- 1 2 IN IP4 10.0.0.5', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');
  t.match(choose(old), { ok: true, value: { send: false, direction: 'recvonly' } }, 'an old-style hold to 0.0.0.0');
  t.match(choose(sdp('a=sendonly', 'm=audio 40000 RTP/AVP 0')), { ok: true, value: { send: false } }, 'a session-level direction');
});

t.test('our offer, and the answer to it', async (t) => {
  const offer = offerSdp(local);
  t.match(offer, /m=audio 20000 RTP\/AVP 9 0 8 101\r\n/);
  t.match(offer, /a=rtpmap:101 telephone-event\/8000/);
  const answer = choose(sdp('m=audio 40000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000'));
  t.match(answer, { ok: true, value: { codec: 'PCMU', telephoneEvent: 101 } });
});
