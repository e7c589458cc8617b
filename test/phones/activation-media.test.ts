import dgram from 'node:dgram';
import t from 'tap';
import { PROMPT_NAMES } from '../../daemon/activation/entry';
import { builtinPromptsDir, loadPrompts } from '../../daemon/media/prompts';
import { ACTIVATION_DOMAIN, type Heard, TestPhone, heardShare, sleep } from '../helpers/phone';
import { sipFixture } from '../helpers/sip';

const prompts = loadPrompts(builtinPromptsDir(), 'en', PROMPT_NAMES);

async function until(what: string, test: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await sleep(50);
  }
}

async function listener(address: string): Promise<{ socket: dgram.Socket; got: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  socket.on('message', (b) => got.push(b));
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return { socket, got };
}

t.test('signalling and media edge cases on one daemon', async (t) => {
  const f = await sipFixture(t, { DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
  let mac = 0;
  const phone = () => TestPhone.boot(t, f, `805ec0bb${(++mac).toString(16).padStart(4, '0')}`);

  await t.test('an INVITE without SDP gets our offer in the 200 and its answer in the ACK', async (t) => {
    const p = await phone();
    const ok = await p.dial('no-sdp', { sdp: '', ackSdp: p.sdp('8 101') });
    t.equal(ok.status, 200);
    t.match(ok.content, /m=audio \d+ RTP\/AVP 9 0 8 101\r\n/, 'G.722, PCMU, PCMA and telephone-event offered');
    await until('the greeting in A-law', () => heardShare(p.heard, prompts.greeting.PCMA) > 0.5);
    t.ok(p.heard.every((h) => h.payloadType === 8), 'in the codec of the answer');
    await p.keyEvents('1');
    t.pass('keys are taken on the answered telephone-event type');
  });

  await t.test('an ACK without the answer to our offer ends the call', async (t) => {
    const p = await phone();
    t.equal((await p.dial('no-answer', { sdp: '' })).status, 200);
    t.equal((await p.next('BYE')).headers['call-id'], 'no-answer');
  });

  await t.test('descriptions we cannot use are refused with the reason', async (t) => {
    const p = await phone();
    const port = p.media.address().port;
    const res = async (sdp: string, contentType?: string) => p.invite({ callId: `bad-${Math.random()}`, sdp, contentType });
    const noCodec = await res(p.sdp('18 101'));
    t.equal(noCodec.status, 488, 'no common codec');
    t.match(noCodec.headers.warning, /no common codec/);
    const many = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', ...Array.from({ length: 500 }, (_, i) => `m=audio ${port + i * 2} RTP/AVP 0`), ''].join('\r\n');
    const manyRes = await res(many);
    t.equal(manyRes.status, 488, '500 media lines');
    t.match(manyRes.headers.warning, /more than 8 media lines/);
    t.match((await res(p.sdp('0').replace(/m=audio \d+/, 'm=audio 70000'))).headers.warning, /port 70000 is out of range/, 'an absurd port');
    t.match((await res(p.sdp('0').replace(/m=audio \d+/, 'm=audio 0'))).status, 488, 'a refused stream');
    const typed = await res('hello', 'text/plain');
    t.equal(typed.status, 415, 'a body that is not SDP');
    t.equal(typed.headers.accept, 'application/sdp');
  });

  await t.test('a re-INVITE changing codec mid-prompt, hold and resume', async (t) => {
    const p = await phone();
    t.equal((await p.dial('reinvite')).status, 200);
    await until('the greeting begins', () => p.heard.length > 10);
    const re = await p.sip.request(p.inDialog('INVITE', { body: p.sdp('8 101').replace('o=- 1 1', 'o=- 1 2'), cseq: 20 }));
    p.sip.send(p.inDialog('ACK', { cseq: 20 }));
    t.equal(re.status, 200);
    t.match(re.content, /m=audio \d+ RTP\/AVP 8 101\r\n/, 'answered in the new codec');
    t.match(re.content, /o=dialtone \d+ 2 /, 'a new version of our description');
    const switched = p.heard.length;
    await until('A-law follows', () => p.heard.slice(switched).some((h) => h.payloadType === 8) && p.heard.length > switched + 20);
    const after = p.heard.slice(switched).filter((h) => h.payloadType === 8);
    t.ok(after.length > 10 && after.every((h) => h.payloadType === 8), 'PCMA from the answer on');
    t.ok(heardShare(after, prompts.greeting.PCMA) + heardShare(after, prompts['enter-code'].PCMA) > 0.1, 'the same prompts go on, now in A-law');
    const seqs = p.heard.map((h) => h.sequence);
    t.ok(seqs.every((s, i) => i === 0 || ((s - seqs[i - 1]! + 0x10000) & 0xffff) === 1), 'one stream: sequence numbers run on');

    const hold = await p.sip.request(p.inDialog('INVITE', { body: `${p.sdp('8 101')}a=sendonly\r\n`, cseq: 21 }));
    p.sip.send(p.inDialog('ACK', { cseq: 21 }));
    t.match(hold.content, /a=recvonly/, 'hold answered receive-only');
    await sleep(100);
    const held = p.heard.length;
    await sleep(300);
    t.equal(p.heard.length, held, 'nothing is sent on hold');
    const resume = await p.sip.request(p.inDialog('INVITE', { body: p.sdp('8 101'), cseq: 22 }));
    p.sip.send(p.inDialog('ACK', { cseq: 22 }));
    t.match(resume.content, /a=sendrecv/);
    await until('audio resumes', () => p.heard.length > held + 5);
    t.pass('audio resumes');
    const bad = await p.sip.request(p.inDialog('INVITE', { body: p.sdp('18'), cseq: 23 }));
    t.equal(bad.status, 488, 'a re-INVITE with nothing common is refused');
    const n = p.heard.length;
    await until('the call goes on with the media it had', () => p.heard.length > n + 5);
    t.pass('the call goes on');
  });

  await t.test('in-dialog requests we do not take are refused, not ignored', async (t) => {
    const p = await phone();
    t.equal((await p.dial('methods')).status, 200);
    t.equal((await p.sip.request(p.inDialog('INFO', { body: 'hello', contentType: 'text/plain' }))).status, 415);
    t.equal((await p.sip.request(p.inDialog('INFO', { body: 'Signal=Z\r\n', contentType: 'application/dtmf-relay' }))).status, 400);
    t.equal((await p.sip.request(p.inDialog('MESSAGE', { body: 'hi', contentType: 'text/plain' }))).status, 405);
    t.equal((await p.sip.request(p.inDialog('OPTIONS'))).status, 200);
    t.equal((await p.sip.request(p.inDialog('BYE'))).status, 200);
    t.equal((await p.sip.request(p.inDialog('INFO', { body: 'Signal=1\r\n', contentType: 'application/dtmf-relay' }))).status, 481, 'the call is gone');
  });

  await t.test('symmetric RTP: nothing to a third party, latched to the phone\'s own packets, others ignored', async (t) => {
    const p = await phone();
    const victim = await listener('127.0.0.2');
    t.teardown(() => victim.socket.close());
    // The phone behind NAT: its SDP names an address (here a third party's) that is not where it signals from.
    const sdp = p.sdp('0 101').replace(/c=IN IP4 127.0.0.1/, 'c=IN IP4 127.0.0.2').replace(/m=audio \d+/, `m=audio ${victim.socket.address().port}`);
    t.equal((await p.dial('nat', { sdp })).status, 200);
    await sleep(400);
    t.equal(victim.got.length, 0, 'no audio to an address the phone does not signal from');
    t.equal(p.heard.length, 0, 'nor to the phone before it sends');

    // Before latching: keys from a third address are hostile and ignored, as is junk.
    const intruder = await listener('127.0.0.3');
    t.teardown(() => intruder.socket.close());
    const send = (s: dgram.Socket, b: Buffer) => s.send(b, p.remoteMedia!.port, '127.0.0.1');
    const rtpBytes = (pt: number, payload: Buffer, ts = 5) => Buffer.concat([Buffer.from([0x80, pt, 0, 1, 0, 0, 0, ts, 0, 0, 0, 9]), payload]);
    for (let i = 0; i < 5; i++) send(intruder.socket, rtpBytes(101, Buffer.from([1, 0x8a, 0, 160]), i));
    await sleep(200);
    t.equal(intruder.got.length, 0, 'the intruder does not capture the stream');

    p.rtp(0, 1, Buffer.alloc(160, 0xff));
    await until('audio flows to where the phone\'s packets come from', () => p.heard.length > 5);
    t.equal(victim.got.length, 0, 'still nothing to the third party');

    // Hostile packets from the phone's own address, and a flood: nothing breaks, the call goes on.
    const junk = [Buffer.alloc(3), Buffer.alloc(12, 0x40), Buffer.from([0x8f, 0, 0, 0]), Buffer.alloc(1400, 0x80), Buffer.from([0x81, 200, 0, 1, 0, 0, 0, 0]), Buffer.from([0x80, 201, 0xff, 0xff])];
    for (const b of junk) p.media.send(b, p.remoteMedia!.port, '127.0.0.1');
    for (const b of junk) p.media.send(b, p.remoteMedia!.port + 1, '127.0.0.1');
    const huge = Buffer.alloc(60000, 0x80);
    p.media.send(huge, p.remoteMedia!.port, '127.0.0.1');
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 1000; i++) p.media.send(rtpBytes(0, Buffer.alloc(160, 0x55), i & 0xff), p.remoteMedia!.port, '127.0.0.1');
      await sleep(1);
    }
    const n = p.heard.length;
    await until('the prompts go on after the flood', () => p.heard.length > n + 10);
    await p.keyEvents('0000000000');
    await until('and keys still count: "not valid"', () => heardShare(p.heard, prompts['code-not-valid'].PCMU) > 0.5);
    t.equal(victim.got.length + intruder.got.length, 0, 'nothing ever reached the others');
  });

  await t.test('a phone that sends both events and tones: each key counts once', async (t) => {
    const p = await phone();
    t.equal((await p.dial('both')).status, 200);
    // Five keys, each as an RFC 4733 event and as a tone in the audio: counted twice, they would make a ten-digit entry.
    for (const digit of '00000') {
      await p.keyEvents(digit);
      await p.keyTones(digit);
    }
    await sleep(800);
    t.equal(heardShare(p.heard, prompts['code-not-valid'].PCMU), 0, 'no entry: five keys, not ten');
    await p.keyEvents('00000');
    await until('the next five complete the entry', () => heardShare(p.heard, prompts['code-not-valid'].PCMU) > 0.5);
  });

  await t.test('absurd event durations: a key held for ever is one key', async (t) => {
    const p = await phone();
    t.equal((await p.dial('held')).status, 200);
    for (let segment = 0; segment < 3; segment++) {
      for (const d of [0x8000, 0xfff0, 0xffff]) {
        const payload = Buffer.from([4, 10, d >> 8, d & 0xff]);
        p.rtp(101, 100_000 + segment * 0x10000, payload);
        await sleep(2);
      }
    }
    await sleep(300);
    const heard: Heard[] = p.heard;
    t.ok(heard.length > 0 && heardShare(heard, prompts['code-not-valid'].PCMU) === 0, 'no entry came of it');
  });
});
