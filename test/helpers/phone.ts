import crypto from 'node:crypto';
import dgram from 'node:dgram';
import type { Test } from 'tap';
import sip, { type Message } from 'sip';
import { RawPeer, answer, registerText } from './sip-client';
import type { SipFixture } from './sip';
import { dtmfSamples, ulawFrame } from './audio';
import { decodeG711 } from '../../daemon/media/g711';

export const ACTIVATION_DOMAIN = 'activate.test';

export interface Heard {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/**
 * An unknown desk phone, as the registration service meets it: it fetches
 * its activation file, registers with the activation credentials in it,
 * dials, records every RTP packet it is sent, and keys digits the three ways
 * phones do.
 */
export class TestPhone {
  readonly heard: Heard[] = [];
  private cseq = 10;
  private tsBase = crypto.randomInt(0, 2 ** 30);
  private seq = 0;
  call: Message | null = null;
  remoteMedia: { address: string; port: number } | null = null;

  /** The registration service's last challenge, answered again with the next nonce count as phones do. */
  private challenge: Message | null = null;
  private nc = 0;

  private constructor(readonly sip: RawPeer, readonly media: dgram.Socket, readonly user: string, readonly password: string) {
    media.on('message', (b) => {
      if (b.length < 12) return;
      this.heard.push({ payloadType: b[1]! & 0x7f, sequence: b.readUInt16BE(2), timestamp: b.readUInt32BE(4), ssrc: b.readUInt32BE(8), payload: Buffer.from(b.subarray(12)) });
    });
  }

  static async boot(t: Test, f: SipFixture, mac: string, o: { register?: boolean } = {}): Promise<TestPhone> {
    const ua = { 'user-agent': `Yealink SIP-T46S 66.85.0.5 ${mac.match(/../g)!.join(':')}` };
    const activation = await f.ta.call('GET', `/prov/${mac}.cfg`, { headers: ua });
    if (activation.status !== 200) throw new Error(`activation file: ${activation.status}`);
    const conf = Object.fromEntries(activation.raw.split('\n').map((l) => l.split(' = ')).filter((kv) => kv.length === 2).map(([k, v]) => [k!.trim(), v!.trim()]));
    const user = conf['account.1.auth_name']!;
    const password = conf['account.1.password']!;
    const peer = await RawPeer.udp(f.ports.udp!);
    const media = dgram.createSocket('udp4');
    await new Promise<void>((r) => media.bind(0, '127.0.0.1', () => r()));
    t.teardown(() => {
      peer.close();
      media.close();
    });
    if (o.register !== false) {
      const challenge = await peer.request(registerText(peer, { domain: ACTIVATION_DOMAIN, user, cseq: 1 }));
      const ok = await peer.request(registerText(peer, { domain: ACTIVATION_DOMAIN, user, cseq: 2, authorization: answer(challenge, { username: user, password, uri: `sip:${ACTIVATION_DOMAIN}` }) }));
      if (ok.status !== 200) throw new Error(`register: ${ok.status}`);
    }
    return new TestPhone(peer, media, user, password);
  }

  sdp(codecs = '0 8 101', extra: string[] = []): string {
    return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${this.media.address().port} RTP/AVP ${codecs}`, 'a=rtpmap:101 telephone-event/8000', ...extra, ''].join('\r\n');
  }

  inviteText(o: { target?: string; callId: string; sdp?: string; contentType?: string; toTag?: string; cseq?: number; auth?: string; branch?: string; method?: string }): string {
    const body = o.sdp ?? '';
    const target = o.target ?? '*8000';
    return [
      `${o.method ?? 'INVITE'} sip:${target}@${ACTIVATION_DOMAIN} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sip.localPort};branch=${o.branch ?? `z9hG4bK${crypto.randomBytes(6).toString('hex')}`};rport`,
      ...(o.auth ? [`Proxy-Authorization: ${o.auth}`] : []),
      `From: <sip:${this.user}@${ACTIVATION_DOMAIN}>;tag=ph-${o.callId}`,
      `To: <sip:${target}@${ACTIVATION_DOMAIN}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
      `Call-ID: ${o.callId}`, `CSeq: ${o.cseq ?? 1} ${o.method ?? 'INVITE'}`, `Contact: <sip:${this.user}@127.0.0.1:${this.sip.localPort}>`, 'Max-Forwards: 70',
      ...(body ? [`Content-Type: ${o.contentType ?? 'application/sdp'}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
  }

  /** A request inside the current call. */
  inDialog(method: string, o: { body?: string; contentType?: string; cseq?: number } = {}): string {
    const ok = this.call!;
    const body = o.body ?? '';
    return [
      `${method} ${(ok.headers.contact as { uri: string }[])[0]!.uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sip.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
      `From: <${ok.headers.from!.uri}>;tag=${ok.headers.from!.params.tag}`, `To: <${ok.headers.to!.uri}>;tag=${ok.headers.to!.params.tag}`,
      `Call-ID: ${ok.headers['call-id']}`, `CSeq: ${o.cseq ?? (method === 'ACK' ? 1 : this.cseq++)} ${method}`,
      `Contact: <sip:${this.user}@127.0.0.1:${this.sip.localPort}>`, 'Max-Forwards: 70',
      ...(body ? [`Content-Type: ${o.contentType ?? 'application/sdp'}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
  }

  /** Proxy-Authorization for the next request, from the last challenge: null before the first. */
  authorization(target = '*8000', password = this.password): string | null {
    if (!this.challenge) return null;
    return answer(this.challenge, { username: this.user, password, uri: `sip:${target}@${ACTIVATION_DOMAIN}`, method: 'INVITE', nc: ++this.nc });
  }

  /**
   * An INVITE as a phone sends it: with the credentials of the last
   * challenge, and again with fresh ones when it is challenged (the 407 ACKed).
   */
  async invite(o: { callId: string; sdp?: string; contentType?: string; target?: string }): Promise<Message> {
    for (let cseq = 1; ; cseq++) {
      const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
      const res = await this.sip.request(this.inviteText({ ...o, cseq, branch, auth: this.authorization(o.target) ?? undefined }));
      if (res.status !== 407 || cseq > 2) return res;
      this.sip.send(this.inviteText({ ...o, sdp: '', cseq, branch, method: 'ACK', toTag: res.headers.to!.params.tag ?? undefined }));
      this.challenge = res;
      this.nc = 0;
    }
  }

  /** Dials the registration service; on 200 the call is ACKed (with `ackSdp` when we sent no offer). */
  async dial(callId: string, o: { sdp?: string; ackSdp?: string; target?: string } = {}): Promise<Message> {
    const res = await this.invite({ callId, sdp: o.sdp ?? this.sdp(), target: o.target });
    if (res.status === 200) {
      this.call = res;
      this.sip.send(this.inDialog('ACK', { body: o.ackSdp }));
      const m = /m=audio (\d+)/.exec(res.content ?? '');
      this.remoteMedia = m ? { address: '127.0.0.1', port: Number(m[1]) } : null;
    }
    return res;
  }

  rtp(payloadType: number, timestamp: number, payload: Buffer, marker = false): void {
    const b = Buffer.alloc(12 + payload.length);
    b[0] = 0x80;
    b[1] = payloadType | (marker ? 0x80 : 0);
    b.writeUInt16BE(this.seq++ & 0xffff, 2);
    b.writeUInt32BE(timestamp >>> 0, 4);
    b.writeUInt32BE(0x1234, 8);
    payload.copy(b, 12);
    this.media.send(b, this.remoteMedia!.port, this.remoteMedia!.address);
  }

  /** Keys digits as RFC 4733 events: a press is several packets with one timestamp, its end sent three times. */
  async keyEvents(digits: string): Promise<void> {
    for (const digit of digits) {
      this.tsBase += 1600;
      for (const [i, end] of [false, false, true, true, true].entries()) {
        const p = Buffer.alloc(4);
        p[0] = '0123456789*#'.indexOf(digit);
        p[1] = (end ? 0x80 : 0) | 10;
        p.writeUInt16BE(160 * (i + 1), 2);
        this.rtp(101, this.tsBase, p, i === 0);
        await sleep(5);
      }
    }
  }

  /** Keys digits as SIP INFO (application/dtmf-relay); every INFO is answered 200. */
  async keyInfo(digits: string): Promise<number[]> {
    const statuses: number[] = [];
    for (const digit of digits) statuses.push((await this.sip.request(this.inDialog('INFO', { body: `Signal=${digit}\r\nDuration=160\r\n`, contentType: 'application/dtmf-relay' }))).status!);
    return statuses;
  }

  /** Keys digits as tones in µ-law audio, 60 ms each with 60 ms of silence between, paced as a phone sends. */
  async keyTones(digits: string): Promise<void> {
    const frames: Buffer[] = [];
    for (const digit of digits) {
      const tone = dtmfSamples(digit, 60);
      for (let i = 0; i < 3; i++) frames.push(ulawFrame(tone.slice(i * 160, (i + 1) * 160)));
      for (let i = 0; i < 3; i++) frames.push(Buffer.alloc(160, 0xff));
    }
    for (const frame of frames) {
      this.tsBase += 160;
      this.rtp(0, this.tsBase, frame);
      await sleep(10);
    }
  }

  /** The next request dialtone sends this phone of `method`, answered 200. */
  async next(method: string): Promise<Message> {
    for (;;) {
      const m = await this.sip.next();
      if (m.method === method) {
        this.sip.send(sip.stringify(sip.makeResponse(m, 200, 'OK')));
        return m;
      }
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Which part of a prompt the phone heard: the share of the prompt's 20 ms
 * frames found among the payloads it received. Frames skipped in a stall
 * lower it a little; another recording gives about nothing.
 */
export function heardShare(heard: Heard[], prompt: Buffer): number {
  const got = new Set(heard.map((h) => h.payload.toString('base64')));
  let found = 0;
  let total = 0;
  for (let i = 0; i < prompt.length; i += 160) {
    const frame = prompt.subarray(i, i + 160);
    // Frames of silence are in every prompt: they prove nothing.
    if (frame.every((b) => b === 0xff || b === 0x7f)) continue;
    total++;
    if (got.has(frame.toString('base64'))) found++;
  }
  return total === 0 ? 0 : found / total;
}

/**
 * Where in what was heard a prompt's first audible frame is (the index of
 * the packet), or -1. Near-silent frames are passed over: the faint onset
 * of one recording can be the faint tail of another.
 */
export function heardAt(heard: Heard[], prompt: Buffer): number {
  const samples = new Int16Array(160);
  for (let i = 0; i < prompt.length; i += 160) {
    const frame = prompt.subarray(i, i + 160);
    decodeG711('PCMU', frame, samples);
    if (samples.every((s) => Math.abs(s) < 64)) continue;
    return heard.findIndex((h) => h.payload.equals(frame));
  }
  return -1;
}
