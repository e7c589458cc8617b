import crypto from 'node:crypto';
import sip, { type Message, type NameAddr } from 'sip';
import { RawPeer, answer, registerText } from './sip-client';

/**
 * A user agent on a RawPeer for call-flow tests: builds requests and
 * answers as a phone or a PBX would (dialogs, route sets, ACKs), so a test
 * reads as the call it checks.
 */
export interface DialogState {
  callId: string;
  local: NameAddr;
  remote: NameAddr;
  remoteTarget: string;
  /** Route set, first hop first. */
  routes: string[];
  cseq: number;
}

const rand = () => crypto.randomBytes(5).toString('hex');

function routeUris(m: Message): string[] {
  return ((m.headers['record-route'] as NameAddr[] | undefined) ?? []).map((r) => sip.stringifyUri(r.uri as never));
}

export class Ua {
  /** `contact`: the Contact a phone keeps across connections (its own listening address); by default the peer's. */
  constructor(readonly peer: RawPeer, readonly user: string, readonly domain: string, private readonly fixedContact?: string) {}

  get contact(): string {
    return this.fixedContact ?? `sip:${this.user}@127.0.0.1:${this.peer.localPort};transport=${this.peer.transport.toLowerCase()}`;
  }

  via(): string {
    return `SIP/2.0/${this.peer.transport} 127.0.0.1:${this.peer.localPort};branch=z9hG4bK${rand()};rport`;
  }

  /** REGISTER, 401, REGISTER with credentials: resolves with the final answer. */
  async register(username: string, password: string, expires = 600): Promise<Message> {
    const callId = `reg-${rand()}`;
    const first = await this.peer.request(registerText(this.peer, { domain: this.domain, user: this.user, callId, contacts: [`<${this.contact}>`], expires }));
    if (first.status !== 401) return first;
    const authorization = answer(first, { username, password, uri: `sip:${this.domain}` });
    return this.peer.request(registerText(this.peer, { domain: this.domain, user: this.user, callId, cseq: 2, contacts: [`<${this.contact}>`], expires, authorization }));
  }

  /** The text of a request outside a dialog, from this UA. */
  request(o: { method: string; uri: string; callId?: string; cseq?: number; fromTag?: string; headers?: string[]; body?: string; contentType?: string }): { text: string; callId: string; fromTag: string } {
    const callId = o.callId ?? `call-${rand()}`;
    const fromTag = o.fromTag ?? rand();
    const body = o.body ?? '';
    const text = [
      `${o.method} ${o.uri} SIP/2.0`, `Via: ${this.via()}`, 'Max-Forwards: 70',
      `From: <sip:${this.user}@${this.domain}>;tag=${fromTag}`, `To: <${o.uri}>`,
      `Call-ID: ${callId}`, `CSeq: ${o.cseq ?? 1} ${o.method}`, `Contact: <${this.contact}>`, 'User-Agent: dialtone-test-ua',
      ...(o.headers ?? []), ...(body ? [`Content-Type: ${o.contentType ?? 'application/sdp'}`] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
    return { text, callId, fromTag };
  }

  /** The ACK of a non-2xx final answer: same branch, hop by hop (RFC 3261 §17.1.1.3). */
  ackFailure(sent: string, res: Message): string {
    const m = sip.parse(sent)!;
    return [
      `ACK ${m.uri} SIP/2.0`, `Via: ${sent.split('\r\n').find((l) => l.startsWith('Via:'))!.slice(5)}`, 'Max-Forwards: 70',
      `From: ${sent.split('\r\n').find((l) => l.startsWith('From:'))!.slice(6)}`, `To: <${res.headers.to!.uri}>;tag=${res.headers.to!.params.tag}`,
      `Call-ID: ${m.headers['call-id']}`, `CSeq: ${m.headers.cseq!.seq} ACK`, 'Content-Length: 0', '', '',
    ].join('\r\n');
  }

  /** Sends a request and returns every answer until the final one. */
  async send(text: string): Promise<Message[]> {
    this.peer.send(text);
    const out: Message[] = [];
    for (;;) {
      const m = await this.peer.next();
      if (m.status === undefined) continue;
      out.push(m);
      if (m.status >= 200) return out;
    }
  }

  /** The next request that reaches this UA, skipping answers. */
  async nextRequest(method?: string): Promise<Message> {
    for (;;) {
      const m = await this.peer.next();
      if (m.method && (!method || m.method === method)) return m;
    }
  }

  /** Answers a request as its UAS: the To tag, the Record-Route copied, our Contact. */
  reply(rq: Message, status: number, reason: string, o: { toTag?: string; body?: string } = {}): string {
    const lines = [
      `SIP/2.0 ${status} ${reason}`,
      ...(rq.headers.via ?? []).map((v) => `Via: SIP/${v.version ?? '2.0'}/${v.protocol} ${v.host}${v.port ? `:${v.port}` : ''}${Object.entries(v.params).map(([k, x]) => (x === null || x === undefined ? `;${k}` : `;${k}=${x}`)).join('')}`),
      `From: ${stringifyNameAddr(rq.headers.from!)}`,
      `To: ${stringifyNameAddr(rq.headers.to!)}${o.toTag && !rq.headers.to!.params.tag ? `;tag=${o.toTag}` : ''}`,
      `Call-ID: ${rq.headers['call-id']}`, `CSeq: ${rq.headers.cseq!.seq} ${rq.headers.cseq!.method}`,
      ...routeUris(rq).map((r) => `Record-Route: <${r}>`),
      ...(status < 300 && rq.method === 'INVITE' ? [`Contact: <${this.contact}>`] : []),
      ...(o.body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(o.body ?? '')}`, '', o.body ?? '',
    ];
    const text = lines.join('\r\n');
    this.peer.send(text);
    return text;
  }

  /** The dialog a 2xx creates for the caller (route set reversed) or, from the INVITE it answered, for the callee. */
  static dialogAsCaller(ok: Message, cseq: number): DialogState {
    return {
      callId: ok.headers['call-id']!, local: ok.headers.from!, remote: ok.headers.to!,
      remoteTarget: (ok.headers.contact as NameAddr[])[0]!.uri, routes: routeUris(ok).reverse(), cseq,
    };
  }

  static dialogAsCallee(invite: Message, toTag: string): DialogState {
    return {
      callId: invite.headers['call-id']!, local: { ...invite.headers.to!, params: { ...invite.headers.to!.params, tag: toTag } },
      remote: invite.headers.from!, remoteTarget: (invite.headers.contact as NameAddr[])[0]!.uri, routes: routeUris(invite), cseq: 0,
    };
  }

  /** A request inside a dialog: to its remote target, through its route set. */
  inDialog(d: DialogState, method: string, o: { cseq?: number } = {}): string {
    const cseq = o.cseq ?? (method === 'ACK' ? d.cseq : ++d.cseq);
    return [
      `${method} ${d.remoteTarget} SIP/2.0`, `Via: ${this.via()}`, 'Max-Forwards: 70',
      `From: ${stringifyNameAddr(d.local)}`, `To: ${stringifyNameAddr(d.remote)}`,
      `Call-ID: ${d.callId}`, `CSeq: ${cseq} ${method}`, ...d.routes.map((r) => `Route: <${r}>`), 'Content-Length: 0', '', '',
    ].join('\r\n');
  }
}

function stringifyNameAddr(a: NameAddr): string {
  return `<${a.uri}>${Object.entries(a.params).map(([k, v]) => (v === null || v === undefined ? `;${k}` : `;${k}=${v}`)).join('')}`;
}
