import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import sip, { type Message } from 'sip';
import { digestResponse, unquote, type DigestAlgorithm } from '../../daemon/sip/registrar/digest';

/**
 * The bench's phones: one SIP socket for all of them, one media socket per
 * call, and a receiver that times every RTP packet as it arrives. A caller
 * registers with its activation credentials, dials (answering the 407),
 * listens to the prompts, keys its code as RFC 4733 events (one timestamp
 * per key press, as a phone sends them), and waits for the hang-up and the
 * reboot NOTIFY.
 */
export interface StreamStats {
  packets: number;
  /** |arrival gap - 20 ms| for each packet after the first, in ms. */
  deviations: number[];
  /** Packets missing: gaps in sequence numbers (lost on the way, or never sent). */
  lost: number;
  /** Frames the sender skipped: timestamps that jump by more than one frame with no sequence gap (a sender's stall). */
  skipped: number;
}

/** Times one stream's packets, in the order they came: from a socket as they arrive, or from a capture's kernel times. */
export class StreamTimer {
  readonly stats: StreamStats = { packets: 0, deviations: [], lost: 0, skipped: 0 };
  private last: { at: number; seq: number; ts: number } | null = null;

  /** One RTP packet, `header` its first 12 bytes or more, seen at `at` ms. */
  push(at: number, header: Buffer): void {
    if (header.length < 12) return;
    const seq = header.readUInt16BE(2);
    const ts = header.readUInt32BE(4);
    const s = this.stats;
    s.packets++;
    if (this.last) {
      s.deviations.push(Math.abs(at - this.last.at - 20));
      const seqGap = ((seq - this.last.seq + 0x10000) & 0xffff) - 1;
      const tsGap = Math.round(((ts - this.last.ts) >>> 0) / 160) - 1;
      s.lost += Math.max(0, seqGap);
      s.skipped += Math.max(0, tsGap - Math.max(0, seqGap));
    }
    this.last = { at, seq, ts };
  }
}

interface Pending {
  resolve(m: Message): void;
}

export class SipClient {
  private readonly pending = new Map<string, Pending>();
  private readonly requestHandlers: ((m: Message) => void)[] = [];
  readonly port: number;

  private constructor(private readonly socket: dgram.Socket, private readonly target: { host: string; port: number }) {
    this.port = socket.address().port;
    socket.on('message', (b) => {
      const m = sip.parse(b.toString('latin1'));
      if (!m) return;
      if (m.status === undefined) {
        for (const h of this.requestHandlers) h(m);
        return;
      }
      if (m.status < 200) return;
      const key = `${m.headers['call-id']} ${m.headers.cseq?.seq} ${m.headers.cseq?.method}`;
      const p = this.pending.get(key);
      if (p) {
        this.pending.delete(key);
        p.resolve(m);
      }
    });
  }

  static async open(target: { host: string; port: number }): Promise<SipClient> {
    const s = dgram.createSocket('udp4');
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    s.setRecvBufferSize(8 * 1024 * 1024);
    s.setSendBufferSize(8 * 1024 * 1024);
    return new SipClient(s, target);
  }

  onRequest(h: (m: Message) => void): void {
    this.requestHandlers.push(h);
  }

  send(text: string): void {
    this.socket.send(Buffer.from(text, 'latin1'), this.target.port, this.target.host);
  }

  /** Sends a request, retransmitting over UDP (Timer A) until a final answer. */
  request(text: string): Promise<Message> {
    const m = sip.parse(text)!;
    const key = `${m.headers['call-id']} ${m.headers.cseq!.seq} ${m.headers.cseq!.method}`;
    return new Promise((resolve, reject) => {
      let wait = 500;
      let timer: NodeJS.Timeout;
      const again = () => {
        if (wait > 16_000) {
          this.pending.delete(key);
          reject(new Error(`no answer to ${key}`));
          return;
        }
        this.send(text);
        timer = setTimeout(again, wait);
        wait *= 2;
      };
      this.pending.set(key, { resolve: (res) => { clearTimeout(timer); resolve(res); } });
      again();
    });
  }

  respond(req: Message, status: number, reason: string): void {
    this.send(sip.stringify(sip.makeResponse(req, status, reason)));
  }

  close(): void {
    this.socket.close();
  }
}

const branch = () => `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;

function authorize(challenge: Message, header: 'www-authenticate' | 'proxy-authenticate', o: { user: string; password: string; uri: string; method: string }): string {
  const c = (challenge.headers[header] as { algorithm?: string; realm: string; nonce: string }[]).find((h) => h.algorithm === 'MD5')!;
  const realm = unquote(c.realm)!;
  const nonce = unquote(c.nonce)!;
  const cnonce = crypto.randomBytes(6).toString('hex');
  const response = digestResponse({ username: o.user, realm, nonce, uri: o.uri, algorithm: 'MD5' as DigestAlgorithm, qop: 'auth', ncText: '00000001', cnonce }, o.password, o.method);
  return `Digest username="${o.user}", realm="${realm}", nonce="${nonce}", uri="${o.uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`;
}

export interface CallerIdentity {
  user: string;
  password: string;
  domain: string;
}

export class Caller {
  private readonly timer = new StreamTimer();
  private media!: dgram.Socket;
  private remote: { host: string; port: number } | null = null;
  private ok: Message | null = null;
  private callId = crypto.randomBytes(8).toString('hex');
  private fromTag = crypto.randomBytes(4).toString('hex');

  constructor(private readonly sipc: SipClient, private readonly id: CallerIdentity) {}

  async openMedia(): Promise<void> {
    this.media = dgram.createSocket('udp4');
    this.media.on('error', () => undefined);
    await new Promise<void>((r) => this.media.bind(0, '127.0.0.1', () => r()));
    this.media.on('message', (b) => this.receive(b));
  }

  private receive(b: Buffer): void {
    this.timer.push(performance.now(), b);
  }

  /** The stream as this caller's socket received it. */
  get stats(): StreamStats {
    return this.timer.stats;
  }

  /** Where dialtone (or the peer) sends this caller's audio. */
  get mediaPort(): number {
    return this.media.address().port;
  }

  private headers(method: string, cseq: number, target: string, extra: string[] = [], body = ''): string {
    const ruri = `sip:${target}@${this.id.domain}`;
    return [
      `${method} ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${this.sipc.port};branch=${branch()};rport`,
      `From: <sip:${this.id.user}@${this.id.domain}>;tag=${this.fromTag}`, `To: <sip:${target}@${this.id.domain}>`,
      `Call-ID: ${this.callId}`, `CSeq: ${cseq} ${method}`, `Contact: <sip:${this.id.user}@127.0.0.1:${this.sipc.port}>`, 'Max-Forwards: 70',
      ...extra, ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
  }

  async register(): Promise<void> {
    const callId = `${this.callId}-reg`;
    const text = (cseq: number, extra: string[]) => [
      `REGISTER sip:${this.id.domain} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${this.sipc.port};branch=${branch()};rport`,
      `From: <sip:${this.id.user}@${this.id.domain}>;tag=${this.fromTag}`, `To: <sip:${this.id.user}@${this.id.domain}>`,
      `Call-ID: ${callId}`, `CSeq: ${cseq} REGISTER`, `Contact: <sip:${this.id.user}@127.0.0.1:${this.sipc.port}>`, 'Expires: 600', 'Max-Forwards: 70', ...extra, 'Content-Length: 0', '', '',
    ].join('\r\n');
    const challenge = await this.sipc.request(text(1, []));
    const res = await this.sipc.request(text(2, [`Authorization: ${authorize(challenge, 'www-authenticate', { user: this.id.user, password: this.id.password, uri: `sip:${this.id.domain}`, method: 'REGISTER' })}`]));
    if (res.status !== 200) throw new Error(`REGISTER ${this.id.user}: ${res.status}`);
  }

  /** Dials `target`; answers a 407 once. Resolves with the 200 (ACKed) or throws. */
  async dial(target: string): Promise<void> {
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${this.media.address().port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', ''].join('\r\n');
    let res = await this.sipc.request(this.headers('INVITE', 1, target, [], sdp));
    let cseq = 1;
    if (res.status === 407) {
      this.ack(res, 1, target);
      cseq = 2;
      const auth = authorize(res, 'proxy-authenticate', { user: this.id.user, password: this.id.password, uri: `sip:${target}@${this.id.domain}`, method: 'INVITE' });
      res = await this.sipc.request(this.headers('INVITE', 2, target, [`Proxy-Authorization: ${auth}`], sdp));
    }
    if (res.status !== 200) throw new Error(`INVITE ${target}: ${res.status}`);
    this.ok = res;
    this.ack(res, cseq, target);
    const c = /c=IN IP4 (\S+)/.exec(res.content ?? '')![1]!;
    this.remote = { host: c, port: Number(/m=audio (\d+)/.exec(res.content ?? '')![1]) };
  }

  private ack(res: Message, cseq: number, target: string): void {
    const toTag = res.headers.to!.params.tag;
    const ruri = res.status === 200 ? (res.headers.contact as { uri: string }[])[0]!.uri : `sip:${target}@${this.id.domain}`;
    this.sipc.send([
      `ACK ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${this.sipc.port};branch=${branch()};rport`,
      `From: <sip:${this.id.user}@${this.id.domain}>;tag=${this.fromTag}`, `To: <sip:${target}@${this.id.domain}>;tag=${toTag}`,
      `Call-ID: ${this.callId}`, `CSeq: ${cseq} ACK`, 'Max-Forwards: 70', 'Content-Length: 0', '', '',
    ].join('\r\n'));
  }

  /** The code as RFC 4733 events: per key, three packets and three end packets 20 ms apart, one timestamp per press. */
  async key(code: string): Promise<void> {
    let ts = crypto.randomInt(0, 2 ** 30);
    let seq = crypto.randomInt(0, 0x8000);
    for (const digit of code) {
      ts += 1600;
      for (let i = 0; i < 6; i++) {
        const b = Buffer.alloc(16);
        b[0] = 0x80;
        b[1] = 101 | (i === 0 ? 0x80 : 0);
        b.writeUInt16BE(seq++ & 0xffff, 2);
        b.writeUInt32BE(ts >>> 0, 4);
        b.writeUInt32BE(0x5eed, 8);
        b[12] = Number(digit);
        b[13] = (i >= 3 ? 0x80 : 0) | 10;
        b.writeUInt16BE(160 * Math.min(i + 1, 3), 14);
        this.media.send(b, this.remote!.port, this.remote!.host);
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 60));
    }
  }

  /** Hangs up a call we placed (the peer's calls). */
  async bye(): Promise<void> {
    const ok = this.ok!;
    const uri = (ok.headers.contact as { uri: string }[])[0]!.uri;
    await this.sipc.request([
      `BYE ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${this.sipc.port};branch=${branch()};rport`,
      `From: <sip:${this.id.user}@${this.id.domain}>;tag=${this.fromTag}`, `To: <${ok.headers.to!.uri}>;tag=${ok.headers.to!.params.tag}`,
      `Call-ID: ${this.callId}`, 'CSeq: 9 BYE', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
    ].join('\r\n'));
  }

  get callIdValue(): string {
    return this.callId;
  }

  close(): void {
    this.media.close();
  }
}
