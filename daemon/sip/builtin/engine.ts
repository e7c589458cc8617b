import crypto from 'node:crypto';
import type dgram from 'node:dgram';
import type { Message } from 'sip';
import type { Logger } from '../../core/log';
import type { Via } from 'sip';
import type { Flow, IncomingRequest, OutgoingRequest, ProxyPlan, ReplyOptions, RequestCallback, SipEngine, SipTransport, UasDialog } from '../engine';
import { ProxyCore } from '../proxy/core';
import { stringify } from './serialize';
import { ClientTransactions, ServerTransactions, serverKey } from './transactions';
import { type TransportOptions, Transports } from './transports';
import type { Parsed } from './wire';

export interface BuiltinOptions extends TransportOptions {
  /** The host put in our Via and Contact headers. */
  advertisedHost: string;
  /** Timer C of relayed INVITEs (RFC 3261 §16.6), in milliseconds. */
  timerCMs?: number;
}

/** RFC 3261 §16.6 step 11: greater than three minutes. */
const TIMER_C_MS = 181_000;

const REASONS: Record<number, string> = { 400: 'Bad Request', 513: 'Message Too Large' };
/**
 * Challenges are answered statelessly (RFC 3261 §8.2.7): a retransmitted
 * request is simply challenged again, so a registration storm does not fill
 * memory with 401s nobody will ask for twice.
 */
const STATELESS = new Set([401, 407]);

export function randomToken(bytes = 8): string {
  return crypto.randomBytes(bytes).toString('hex');
}

/** The default engine: SIP inside the daemon, on the `sip` package's parser and serializer. */
export class BuiltinEngine implements SipEngine {
  readonly name = 'builtin';
  private handler: (req: IncomingRequest) => void = () => {};
  private readonly transports: Transports;
  private readonly server = new ServerTransactions();
  private readonly client = new ClientTransactions();
  private readonly relay: ProxyCore;
  /** Requests handed to the handler and not finally answered yet. */
  private unanswered = 0;

  constructor(private readonly opts: BuiltinOptions, private readonly log: Logger) {
    this.transports = new Transports(opts, (parsed, flow) => this.inbound(parsed, flow), log);
    this.relay = new ProxyCore({
      send: (flow, m, onFail) => this.transports.send(flow, stringify(m), onFail),
      watch: (flow, listener) => this.transports.watch(flow, listener),
      via: (flow) => this.via(flow.transport),
      isOurs: (via) => via.host === opts.advertisedHost && Object.values(this.transports.ports()).includes(Number(via.port ?? 5060)),
    }, { timerCMs: opts.timerCMs ?? TIMER_C_MS });
  }

  /** Our Via for a request leaving on `transport`, without its branch. */
  private via(transport: SipTransport): Via {
    return { protocol: transport.toUpperCase(), host: this.opts.advertisedHost, port: this.transports.ports()[transport] ?? this.opts.port, params: { rport: null } };
  }

  onRequest(handler: (req: IncomingRequest) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    await this.transports.start();
  }

  async stop(): Promise<void> {
    this.relay.stop();
    this.client.cancelAll();
    this.server.clear();
    await this.transports.stop();
  }

  addresses(): Partial<Record<SipTransport, number>> {
    return this.transports.ports();
  }

  pending(): number {
    return this.unanswered + this.client.size;
  }

  /** Requests being relayed now, and those kept a while after their answer. */
  pendingRelays(): number {
    return this.relay.size;
  }

  /** The bound UDP socket, for registrar workers to share. */
  udpSocket(): dgram.Socket | null {
    return this.transports.udpSocket();
  }

  /** A datagram a worker read off the shared socket and handed over. */
  injectUdp(datagram: Buffer, address: string, port: number): void {
    this.transports.receiveUdp(datagram, address, port);
  }

  private inbound(parsed: Parsed, flow: Flow): void {
    if (parsed.kind === 'junk') {
      this.log.debug({ reason: parsed.reason, source: `${flow.transport}:${flow.address}:${flow.port}` }, 'dropped unanswerable SIP input');
      return;
    }
    const m = parsed.message;
    if (m.status !== undefined) {
      if (!this.client.response(m)) this.relay.response(m);
      return;
    }
    stampVia(m, flow);
    if (m.method === 'ACK') {
      if (this.relay.absorbAck(m)) return;
      this.handler({ message: m, source: flow, reply: () => undefined });
      return;
    }
    // Only UDP retransmits a request (RFC 3261 §17.2.2): over a stream each one is new.
    const key = flow.transport === 'udp' ? serverKey(m) : '';
    if (key !== '') {
      const tx = this.server.receive(key, Date.now());
      if (tx.state === 'retransmission') {
        if (tx.answer) this.transports.send(flow, tx.answer);
        return;
      }
    }
    let answered = false;
    let counted = false;
    const reply = (status: number, reason: string, o: ReplyOptions = {}) => {
      if (answered) return;
      answered = status >= 200;
      if (answered && counted) this.unanswered--;
      const text = stringify(response(m, status, reason, o));
      if (flow.transport !== 'udp') {
        this.transports.send(flow, text);
        return;
      }
      // A provisional answer is kept too: a retransmitted INVITE gets it again (RFC 3261 §17.2.1).
      if (STATELESS.has(status)) this.server.forget(key);
      else this.server.answered(key, text);
      this.transports.send(flow, text);
    };
    if (parsed.kind === 'bad') {
      this.log.debug({ reason: parsed.reason, source: `${flow.transport}:${flow.address}:${flow.port}` }, 'refused malformed SIP request');
      reply(parsed.status, REASONS[parsed.status] ?? 'Bad Request', { headers: { warning: `399 dialtone "${parsed.reason}"` } });
      return;
    }
    if (m.method === 'CANCEL' && this.relay.cancel(m)) {
      reply(200, 'OK');
      return;
    }
    counted = true;
    this.unanswered++;
    this.handler({ message: m, source: flow, reply });
  }

  proxy(req: IncomingRequest, plan: ProxyPlan): void {
    this.relay.relay(req, plan);
  }

  isLoop(req: IncomingRequest): boolean {
    return this.relay.isLoop(req.message);
  }

  request(req: OutgoingRequest, callback: RequestCallback): void {
    const branch = `z9hG4bK${randomToken(10)}`;
    const via = this.via(req.flow.transport);
    const message: Message = {
      method: req.method,
      uri: req.uri,
      headers: {
        via: [{ ...via, params: { ...via.params, branch } }],
        'max-forwards': '70',
        ...req.headers,
      },
      content: req.content ?? '',
    };
    const text = stringify(message);
    let failed = false;
    const fail = () => {
      if (failed) return;
      failed = true;
      setImmediate(() => this.client.response({ status: 503, reason: 'Connection Gone', headers: { via: message.headers.via! } }));
    };
    const unwatch = this.transports.watch(req.flow, fail);
    this.client.start(branch, req.flow.transport === 'udp', () => {
      if (!failed && !this.transports.send(req.flow, text, fail)) fail();
    }, (err, res) => {
      unwatch();
      callback(err, res);
    });
  }

  createUasDialog(req: IncomingRequest, status: number, reason: string, opts: ReplyOptions = {}): UasDialog {
    const localTag = randomToken();
    const to = req.message.headers.to!;
    const port = this.transports.ports()[req.source.transport] ?? this.opts.port;
    req.reply(status, reason, {
      ...opts,
      headers: {
        ...opts.headers,
        to: { ...to, params: { ...to.params, tag: localTag } },
        contact: [{ uri: `sip:${this.opts.advertisedHost}:${port};transport=${req.source.transport}`, params: {} }],
      },
    });
    return dialogOf(req, localTag);
  }

  endDialog(dialog: UasDialog, callback: RequestCallback = () => undefined): void {
    this.request({
      method: 'BYE', uri: dialog.remoteTarget, flow: dialog.flow,
      headers: {
        to: { uri: dialog.remoteUri, params: { tag: dialog.remoteTag } },
        from: { uri: dialog.localUri, params: { tag: dialog.localTag } },
        'call-id': dialog.callId,
        // Our side has sent nothing in this dialog yet, so any first CSeq will do (RFC 3261 §12.1.1).
        cseq: { seq: 1, method: 'BYE' },
      },
    }, callback);
  }
}

/** The dialog state a 2xx with `localTag` creates for the request, from our side (RFC 3261 §12.1.1). */
export function dialogOf(req: IncomingRequest, localTag: string): UasDialog {
  const m = req.message;
  const contact = m.headers.contact;
  return {
    callId: m.headers['call-id']!,
    localTag,
    remoteTag: m.headers.from?.params.tag ?? '',
    remoteTarget: Array.isArray(contact) && contact[0] ? contact[0].uri : m.uri ?? '',
    remoteUri: m.headers.from!.uri,
    localUri: m.headers.to!.uri,
    flow: req.source,
  };
}

/** RFC 3261 §18.2.1 and RFC 3581: the address the request really came from goes into its top Via. */
function stampVia(m: Message, flow: Flow): void {
  const via = m.headers.via![0]!;
  if (via.host !== flow.address) via.params.received = flow.address;
  if ('rport' in via.params) via.params.rport = flow.port;
}

function response(rq: Message, status: number, reason: string, o: ReplyOptions): Message {
  const to = rq.headers.to;
  const needsTag = to !== undefined && status > 100 && !to.params?.tag;
  return {
    status,
    reason,
    version: '2.0',
    headers: {
      via: rq.headers.via,
      to: needsTag ? { ...to, params: { ...to.params, tag: tagFor(rq) } } : to,
      from: rq.headers.from,
      'call-id': rq.headers['call-id'],
      cseq: rq.headers.cseq,
      ...o.headers,
    },
    content: o.content ?? '',
  };
}

/**
 * The same To tag for every answer to one request: two FNV-1a hashes of its
 * Call-ID and branch. A tag only has to tell dialogs apart, and a
 * cryptographic hash here cost a registrar a hash per answer.
 */
function tagFor(rq: Message): string {
  const s = `${rq.headers['call-id']}|${String(rq.headers.via?.[0]?.params.branch)}`;
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (a >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0').slice(0, 4);
}
