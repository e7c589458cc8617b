import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import sip, { type AuthHeader, type Message } from 'sip';
import { digestResponse, unquote, type DigestAlgorithm } from '../../daemon/sip/registrar/digest';

/** A bare SIP peer on loopback: sends raw text, hands back parsed answers in order. */
export class RawPeer {
  private readonly queue: Message[] = [];
  private waiting: ((m: Message) => void) | null = null;
  /** Resolves when a stream peer's connection is closed by the other side. */
  closed: Promise<void> = new Promise(() => {});

  private constructor(private readonly sendRaw: (b: Buffer) => void, readonly close: () => void, readonly localPort: number, readonly transport: 'UDP' | 'TCP') {}

  /** `target` may be a function, for a peer whose port must be known before the other side's (a PBX in DIALTONE_PBX_URI). */
  static async udp(target: number | (() => number)): Promise<RawPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const peer = new RawPeer((b) => s.send(b, typeof target === 'number' ? target : target(), '127.0.0.1'), () => s.close(), s.address().port, 'UDP');
    s.on('message', (b) => peer.push(b.toString('latin1')));
    return peer;
  }

  static async tcp(target: number): Promise<RawPeer> {
    const s = net.connect(target, '127.0.0.1');
    await new Promise<void>((r) => s.once('connect', () => r()));
    const peer = new RawPeer((b) => s.write(b), () => s.destroy(), s.localPort!, 'TCP');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        peer.push(buf.slice(0, end + 4 + len));
        buf = buf.slice(end + 4 + len);
      }
    });
    s.on('error', () => {});
    peer.closed = new Promise((resolve) => s.once('close', () => resolve()));
    return peer;
  }

  private push(text: string): void {
    const m = sip.parse(text);
    if (!m) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(m);
    } else this.queue.push(m);
  }

  send(text: string | Buffer): void {
    this.sendRaw(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  next(): Promise<Message> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** The next answer with this status, past whatever comes before it (provisional answers, retransmissions). */
  async nextWithStatus(status: number): Promise<Message> {
    for (;;) {
      const m = await this.next();
      if (m.status === status) return m;
    }
  }

  async request(text: string): Promise<Message> {
    this.send(text);
    for (;;) {
      const m = await this.next();
      if ((m.status ?? 0) >= 200) return m;
    }
  }
}

export interface RegisterOpts {
  domain: string;
  user: string;
  callId?: string;
  cseq?: number;
  contacts?: string[];
  expires?: number | null;
  extraHeaders?: string[];
  authorization?: string;
  requestUri?: string;
}

export function registerText(peer: RawPeer, o: RegisterOpts): string {
  const contacts = o.contacts ?? [`<sip:${o.user}@127.0.0.1:${peer.localPort}>`];
  return [
    `REGISTER ${o.requestUri ?? `sip:${o.domain}`} SIP/2.0`,
    `Via: SIP/2.0/${peer.transport} 127.0.0.1:${peer.localPort};branch=z9hG4bK${crypto.randomBytes(6).toString('hex')};rport`,
    `From: <sip:${o.user}@${o.domain}>;tag=${crypto.randomBytes(4).toString('hex')}`,
    `To: <sip:${o.user}@${o.domain}>`,
    `Call-ID: ${o.callId ?? 'call-1'}`,
    `CSeq: ${o.cseq ?? 1} REGISTER`,
    ...contacts.map((c) => `Contact: ${c}`),
    ...(o.expires === null ? [] : [`Expires: ${o.expires ?? 600}`]),
    'Max-Forwards: 70',
    'User-Agent: raw-peer',
    ...(o.authorization ? [`Authorization: ${o.authorization}`] : []),
    ...(o.extraHeaders ?? []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

/** The Authorization answering a challenge from a 401 (or the Proxy-Authorization answering a 407). */
export function answer(challenge: Message, o: { username: string; password: string; uri: string; algorithm?: DigestAlgorithm; nc?: number; method?: string }): string {
  const wanted = o.algorithm ?? 'MD5';
  const offered = (challenge.status === 407 ? challenge.headers['proxy-authenticate'] : challenge.headers['www-authenticate']) as AuthHeader[] | undefined;
  const c = (offered ?? []).find((h) => h.algorithm === wanted);
  if (!c) throw new Error(`no ${wanted} challenge`);
  const realm = unquote(c.realm)!;
  const nonce = unquote(c.nonce)!;
  const ncText = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = crypto.randomBytes(6).toString('hex');
  const response = digestResponse({ username: o.username, realm, nonce, uri: o.uri, algorithm: wanted, qop: 'auth', ncText, cnonce }, o.password, o.method ?? 'REGISTER');
  return `Digest username="${o.username}", realm="${realm}", nonce="${nonce}", uri="${o.uri}", response="${response}", algorithm=${wanted}, qop=auth, nc=${ncText}, cnonce="${cnonce}"`;
}
