import Srf from 'drachtio-srf';
import sip, { type Message, type Via } from 'sip';
import { ConfigError } from '../../config/load';
import type { Logger } from '../../core/log';
import type { Flow, IncomingRequest, OutgoingRequest, ProxyPlan, ProxyTarget, ReplyOptions, RequestCallback, SipEngine, SipTransport, UasDialog } from '../engine';
import { dialogOf, randomToken } from '../builtin/engine';
import { parseMessage } from '../builtin/wire';
import { loopHash } from '../proxy/core';
import { ConnectionMemory } from './connection-memory';
import type { SrfClient, SrfDialog, SrfRequest, SrfResponse } from './srf-types';

export interface DrachtioOptions {
  host: string;
  port: number;
  secret: string;
  /** How long start() waits for drachtio-server to accept and authenticate us. */
  startTimeoutMs?: number;
}

const TRANSPORTS: Record<string, SipTransport> = { udp: 'udp', tcp: 'tcp', ws: 'ws', wss: 'ws' };
/** Out-of-dialog requests dialtone answers; drachtio-server sends us those verbs only. */
const ROUTED = ['register', 'options', 'subscribe', 'notify', 'invite', 'message'] as const;
/** drachtio-srf's own back-off grows without bound; a restarted drachtio-server is found again within this. */
const RECONNECT_MAX_DELAY_MS = 2000;
const CLOSE_GRACE_MS = 500;
/** How long a relayed request is remembered for loop detection: an INVITE transaction's life (64·T1). */
const LOOP_MEMORY_MS = 32_000;
/** What a B2BUA leg never copies from the A leg: the dialog's and transaction's own headers, which drachtio-server writes anew. */
const LEG_OWN = ['via', 'route', 'record-route', 'contact', 'call-id', 'cseq', 'max-forwards', 'content-length', 'from', 'to'];

/**
 * Our header objects as the `name: value` text drachtio-srf takes: the
 * `sip` package writes them, and repeated headers stay separate lines.
 */
export function headerLines(headers: Record<string, unknown>): [string, string][] {
  const text = sip.stringify({ status: 200, reason: 'OK', headers: { ...headers } as Message['headers'] });
  return text.split('\r\n').slice(1)
    .map((line) => /^([^:]+):\s?(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[1]!.toLowerCase() !== 'content-length')
    .map((m) => [m[1]!, m[2]!]);
}

/**
 * The headers as drachtio-srf's one-value-per-name object. A repeated header
 * stays one line each (RFC 3261 §7.3.1 forbids joining WWW-Authenticate and
 * its kin with commas): drachtio-srf writes a value's text as given and
 * drachtio-server takes every line as a header of its own.
 */
export function srfHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headerLines(headers)) out[name] = name in out ? `${out[name]}\r\n${name}: ${value}` : value;
  return out;
}

/** Our dialog in drachtio-server: its id once the 200 is out, or the BYE waiting for it. */
interface DialogEntry {
  id: string | null;
  endWhenUp: RequestCallback | null;
}

/**
 * The engine on a drachtio-server: drachtio owns transports and
 * transactions, we take requests and answer them. Authentication stays
 * ours: drachtio-srf's digest middleware never checks nonces.
 */
export class DrachtioEngine implements SipEngine {
  readonly name = 'drachtio';
  private readonly srf = new Srf() as unknown as SrfClient;
  private handler: (req: IncomingRequest) => void = () => {};
  private hostport = '';
  private stopped = false;
  /**
   * The drachtio-srf request and response behind each request handed over,
   * for createUasDialog, and the way to count it answered when
   * drachtio-server or drachtio-srf answers it rather than `reply`.
   */
  private readonly srfOf = new WeakMap<IncomingRequest, { req: SrfRequest; res: SrfResponse; settle(): void }>();
  /** Requests handed over and not finally answered yet, and requests sent waiting for their answer. */
  private unanswered = 0;
  private sent = 0;
  private readonly dialogs = new Map<UasDialog, DialogEntry>();
  private readonly byStackId = new Map<string, UasDialog>();
  private readonly connections = new ConnectionMemory();
  /** Requests relayed lately, by their loop hash (RFC 3261 §16.3): drachtio-server's branch carries none. */
  private readonly relayed = new Map<string, number>();

  constructor(private readonly opts: DrachtioOptions, private readonly log: Logger) {}

  onRequest(handler: (req: IncomingRequest) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    const receive = (req: SrfRequest, res: SrfResponse) => this.receive(req, res);
    for (const verb of ROUTED) this.srf[verb](receive);
    // Requests inside our calls (INFO, BYE, re-INVITE) and their ACKs match no verb route: without this, drachtio-srf answers them 404.
    this.srf.use(receive);
    const where = `drachtio-server at ${this.opts.host}:${this.opts.port} (DIALTONE_DRACHTIO_HOST, DIALTONE_DRACHTIO_PORT)`;
    await new Promise<void>((resolve, reject) => {
      let starting = true;
      let down = false;
      const fail = (err: Error) => {
        if (!starting) return;
        starting = false;
        clearTimeout(timer);
        this.close();
        reject(err);
      };
      const timer = setTimeout(() => fail(new ConfigError(`${where} did not answer within ${this.timeoutMs() / 1000} s`)), this.timeoutMs());
      // drachtio-srf keeps reconnecting and emits every failure: one listener for the whole life.
      this.srf.on('error', (err: Error) => {
        if (starting) {
          fail(new ConfigError(`cannot reach ${where}: ${err.message}`));
          return;
        }
        if (!down && !this.stopped) this.log.warn({ err: err.message }, 'drachtio-server connection lost; reconnecting');
        down = true;
      });
      this.srf.on('connect', (err: Error | null, hostport: string) => {
        if (this.stopped) {
          this.close();
          return;
        }
        if (err) {
          if (starting) fail(new ConfigError(`${where} refused DIALTONE_DRACHTIO_SECRET: ${err.message}`));
          else this.log.error({ err: err.message }, 'drachtio-server refused us on reconnection');
          return;
        }
        this.hostport = hostport;
        if (starting) {
          starting = false;
          clearTimeout(timer);
          resolve();
          return;
        }
        down = false;
        this.connections.clear();
        this.log.info({ hostport }, 'reconnected to drachtio-server');
      });
      this.srf.connect({ host: this.opts.host, port: this.opts.port, secret: this.opts.secret, reconnect: { retryMaxDelay: RECONNECT_MAX_DELAY_MS } });
    });
    this.log.info({ hostport: this.hostport }, 'connected to drachtio-server');
  }

  private timeoutMs(): number {
    return this.opts.startTimeoutMs ?? 10_000;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.close();
    this.dialogs.clear();
    this.byStackId.clear();
  }

  /**
   * Closes the admin connection for good. drachtio-srf's own disconnect()
   * throws when nothing is connected, before it stops reconnecting, and then
   * its retry timer keeps the process alive.
   */
  private close(): void {
    const client = this.srf.app.client;
    const wire = client?.wp;
    if (wire) {
      wire.closing = true;
      if (wire.reconnectVars?.retryTimer) clearTimeout(wire.reconnectVars.retryTimer);
      if (wire.reconnectVars) wire.reconnectVars.retryTimer = null;
      wire.socket?.destroy();
    }
    for (const socket of client?.mapServer?.keys() ?? []) {
      // What was written goes out first; a drachtio-server that never closes its side is not waited for.
      socket.end();
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
  }

  pending(): number {
    return this.unanswered + this.sent;
  }

  addresses(): Partial<Record<SipTransport, number>> {
    const out: Partial<Record<SipTransport, number>> = {};
    for (const hp of this.hostport.split(',')) {
      const m = /^(udp|tcp|ws|wss)\/[^:]+:(\d+)$/.exec(hp.trim()) ?? /^(udp|tcp|ws|wss)\/\[[^\]]+\]:(\d+)$/.exec(hp.trim());
      if (m) out[TRANSPORTS[m[1]!]!] ??= Number(m[2]);
    }
    return out;
  }

  /** drachtio-server says `tcp` for a WebSocket too: the port it arrived on tells them apart, so a call to the phone goes down its WebSocket. */
  private transportOf(req: SrfRequest): SipTransport {
    const said = TRANSPORTS[String(req.protocol).toLowerCase()] ?? 'udp';
    const port = Number(/:(\d+)$/.exec(req.receivedOn ?? '')?.[1]);
    const ws = this.hostport.split(',').some((hp) => /^wss?\//.test(hp.trim()) && hp.trim().endsWith(`:${port}`));
    return said === 'tcp' && ws ? 'ws' : said;
  }

  private receive(req: SrfRequest, res: SrfResponse): void {
    const source: Flow = { transport: this.transportOf(req), address: req.source_address, port: Number(req.source_port) };
    const isAck = req.method === 'ACK';
    let answered = false;
    let settled = isAck;
    if (!isAck) this.unanswered++;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.unanswered--;
    };
    const send = (status: number, reason: string, o: ReplyOptions = {}) => {
      // An ACK gets no answer; a request gets one final answer.
      if (isAck || answered) return;
      answered = status >= 200;
      if (answered) settle();
      res.send(status, reason, { headers: srfHeaders(o.headers ?? {}), ...(o.content ? { body: o.content } : {}) });
      if (parsed.kind === 'message') this.connections.answered(parsed.message, source, status, o.headers ?? {}, Date.now());
    };
    const parsed = parseMessage(req.msg.raw ?? req.msg.toString());
    if (parsed.kind !== 'message') {
      send(400, 'Bad Request');
      return;
    }
    // A BYE ends the dialog in drachtio-server whichever side sends it (drachtio-server's own after a lost ACK, too).
    if (req.method === 'BYE' && req.stackDialogId) this.forget(req.stackDialogId);
    const incoming: IncomingRequest = { message: parsed.message, source, reply: send };
    this.srfOf.set(incoming, { req, res, settle });
    try {
      this.handler(incoming);
    } catch (err) {
      this.log.error({ err }, 'SIP request handler failed');
    }
  }

  /**
   * Sends to the binding's own flow, or not at all: where drachtio-server
   * would put the request on another connection, the callback says so.
   */
  request(req: OutgoingRequest, callback: RequestCallback): void {
    const other = this.connections.divert(req.method, req.uri, req.flow, Date.now());
    if (other) {
      const flow = (f: Flow) => `${f.transport}:${f.address}:${f.port}`;
      setImmediate(() => callback(new Error(`not sent: drachtio-server would send it on ${flow(other)}, the connection another contact with the same user and host registered on, not on ${flow(req.flow)}`)));
      return;
    }
    this.send(req.uri, {
      method: req.method, headers: srfHeaders(req.headers), ...(req.content ? { body: req.content } : {}),
      proxy: `sip:${req.flow.address}:${req.flow.port};transport=${req.flow.transport}`,
    }, callback);
  }

  private send(uri: string, opts: Parameters<SrfClient['request']>[1], callback: RequestCallback): void {
    let done = false;
    this.sent++;
    const finish = (err: Error | null, m?: Message) => {
      if (done) return;
      done = true;
      this.sent--;
      callback(err, m);
    };
    try {
      this.srf.request(uri, opts, (err, sent) => {
        if (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        sent.on('response', (res?: SrfResponse) => {
          if (!res || res.status < 200) return;
          const parsed = parseMessage(res.msg.raw ?? res.msg.toString());
          finish(null, parsed.kind === 'message' ? parsed.message : { status: res.status, reason: res.reason, headers: {} });
        });
      });
    } catch (err) {
      // drachtio-srf throws, rather than calling back, while it has no connection to drachtio-server.
      setImmediate(() => finish(err instanceof Error ? err : new Error(String(err))));
    }
  }

  /**
   * Answers through drachtio-srf's UAS dialog, so drachtio-server holds the
   * dialog and a BYE inside it ends it there. drachtio-server takes our To
   * tag, so the dialog state is known at once; drachtio-srf answers an
   * INVITE 200 OK.
   */
  createUasDialog(req: IncomingRequest, _status: number, _reason: string, opts: ReplyOptions = {}): UasDialog {
    const from = this.srfOf.get(req);
    if (!from) throw new Error('createUasDialog: the request did not come through this engine');
    const localTag = randomToken();
    const to = req.message.headers.to!;
    const dialog = dialogOf(req, localTag);
    from.settle();
    const entry: DialogEntry = { id: null, endWhenUp: null };
    this.dialogs.set(dialog, entry);
    const headers = srfHeaders({ ...opts.headers, to: { ...to, params: { ...to.params, tag: localTag } } });
    this.srf.createUAS(from.req, from.res, { headers, ...(opts.content ? { localSdp: opts.content } : {}) }, (err, made) => {
      const waiting = entry.endWhenUp;
      if (err || !made) {
        this.dialogs.delete(dialog);
        this.log.warn({ err: err?.message, callId: dialog.callId }, 'drachtio-server did not take the dialog');
        waiting?.(err ?? new Error('no dialog'));
        return;
      }
      // Requests inside the dialog then reach our handler, answered by it, instead of drachtio-srf's dialog object.
      this.srf.removeDialog(made);
      entry.id = made.id;
      this.byStackId.set(made.id, dialog);
      if (waiting) this.bye(dialog, made.id, waiting);
    });
    return dialog;
  }

  /**
   * drachtio-server relays the request itself (its `proxy` verb:
   * simultaneous forking, its own Record-Route, in-dialog requests routed by
   * it, never by us). That verb can add headers but not take any off nor
   * replace the body, so a call whose headers or body dialtone rewrites (a
   * phone's INVITE, its Proxy-Authorization dropped, its emergency location
   * added) goes through drachtio-srf's B2BUA instead: a new INVITE of our
   * making to the single target, each leg's BYE ending the other.
   */
  proxy(req: IncomingRequest, plan: ProxyPlan): void {
    const from = this.srfOf.get(req);
    const m = req.message;
    // drachtio-server relays the ACKs of the transactions it proxied, and a B2BUA's ACK is drachtio-srf's.
    if (!from || m.method === 'ACK') return;
    this.remember(loopHash(m));
    const rewrites = plan.content !== undefined || (plan.remove ?? []).some((h) => m.headers[h] !== undefined);
    if (!rewrites) {
      const recordRoute = plan.targets.some((t) => (t.recordRoute?.length ?? 0) > 0);
      from.req.proxy({ destination: plan.targets.map(destination), recordRoute, forking: 'simultaneous', headers: srfHeaders(plan.set ?? {}) }, (err, results) => {
        // drachtio-server has answered upstream itself (500 when no branch could be sent).
        if (err) this.log.warn({ err: String(err), callId: m.headers['call-id'] }, 'drachtio-server could not relay the request');
        from.settle();
        plan.done?.(results?.finalStatus ?? 500);
      });
      return;
    }
    const target = plan.targets[0];
    if (m.method !== 'INVITE' || plan.targets.length !== 1 || !target) {
      req.reply(501, 'Not Implemented', { headers: { warning: `399 dialtone "on drachtio-server, a ${m.method} whose headers dialtone rewrites is not relayed: only an INVITE is (as a B2BUA)"` } });
      plan.done?.(501);
      return;
    }
    const drop = new Set([...LEG_OWN, ...(plan.remove ?? []), ...Object.keys(plan.set ?? {}).map((h) => h.toLowerCase())]);
    const kept = Object.fromEntries(Object.entries(m.headers).filter(([h]) => !drop.has(h.toLowerCase())));
    const untagged = (a: NonNullable<Message['headers']['from']>) => ({ ...a, params: Object.fromEntries(Object.entries(a.params).filter(([k]) => k !== 'tag')) });
    const headers = srfHeaders({ ...kept, ...plan.set, from: untagged(m.headers.from!), to: untagged(m.headers.to!) });
    const hop = destination({ ...target, uri: 'sip:_' });
    this.srf.createB2BUA(from.req, from.res, target.uri, { proxy: hop, headers, localSdpB: plan.content ?? m.content ?? '' }).then(({ uas, uac }) => {
      from.settle();
      plan.done?.(200);
      bridge(uas, uac);
      bridge(uac, uas);
    }, (err: { status?: number }) => {
      from.settle();
      plan.done?.(err?.status ?? 500);
    });
  }

  private remember(hash: string): void {
    const now = Date.now();
    for (const [h, at] of this.relayed) {
      if (now - at < LOOP_MEMORY_MS) break;
      this.relayed.delete(h);
    }
    this.relayed.delete(hash);
    this.relayed.set(hash, now);
  }

  /** A request we relayed lately, back with a Via of drachtio-server's below the sender's: a loop, not a spiral (its hash would differ). */
  isLoop(req: IncomingRequest): boolean {
    const vias = req.message.headers.via ?? [];
    const at = this.relayed.get(loopHash(req.message));
    if (vias.length < 2 || at === undefined || Date.now() - at >= LOOP_MEMORY_MS) return false;
    return vias.slice(1).some((v) => this.isOurVia(v));
  }

  private isOurVia(v: Via): boolean {
    return this.hostport.split(',').some((hp) => {
      const m = /^(?:udp|tcp|ws|wss)\/\[?([^\]]+?)\]?:(\d+)$/.exec(hp.trim());
      return m !== null && m[1] === v.host && Number(m[2]) === (v.port ?? 5060);
    });
  }

  endDialog(dialog: UasDialog, callback: RequestCallback = () => undefined): void {
    const entry = this.dialogs.get(dialog);
    if (!entry) {
      setImmediate(() => callback(new Error('the dialog has already ended')));
      return;
    }
    if (entry.id === null) entry.endWhenUp = callback;
    else this.bye(dialog, entry.id, callback);
  }

  /** The BYE inside the dialog, by drachtio-server's dialog id (what drachtio-srf's Dialog.destroy sends), keeping the answer for the callback. */
  private bye(dialog: UasDialog, id: string, callback: RequestCallback): void {
    this.forget(id);
    this.send(dialog.remoteTarget, { method: 'BYE', stackDialogId: id }, callback);
  }

  private forget(id: string): void {
    const dialog = this.byStackId.get(id);
    if (!dialog) return;
    this.byStackId.delete(id);
    this.dialogs.delete(dialog);
  }
}

/** Requests inside a B2BUA call passed from one leg to the other: left alone, drachtio-srf would answer them 200 itself. */
const IN_CALL = ['info', 'refer', 'notify', 'update', 'message', 'options'] as const;
/** Headers of a request inside the call that the other leg carries on (the body's type, and what INFO, REFER and NOTIFY mean). */
const IN_CALL_HEADERS = ['Content-Type', 'Event', 'Subscription-State', 'Info-Package', 'Refer-To', 'Referred-By'];

/** One leg's hang-up, re-INVITE and other requests inside the call, carried to the other leg, and its answers back. */
function bridge(from: SrfDialog, to: SrfDialog): void {
  from.on('destroy', () => to.destroy());
  from.on('modify', (req, res) => {
    to.modify(req.body ?? '').then(
      (sdp) => res.send(200, 'OK', { headers: { 'Content-Type': 'application/sdp' }, body: sdp }),
      (err: { status?: number }) => res.send(err?.status ?? 500, err?.status ? 'Rejected' : 'Server Internal Error', {}),
    );
  });
  for (const event of IN_CALL) {
    from.on(event, (req, res) => {
      const headers = Object.fromEntries(IN_CALL_HEADERS.flatMap((h) => (req.get(h) ? [[h, req.get(h)!]] : [])));
      to.request({ method: req.method, headers, ...(req.body ? { body: req.body } : {}) }, (err, answer) => {
        if (err || !answer) res.send(500, 'Server Internal Error', {});
        else res.send(answer.status, answer.reason, { ...(answer.body ? { body: answer.body, headers: { 'Content-Type': answer.get('Content-Type') ?? 'application/octet-stream' } } : {}) });
      });
    });
  }
}

/**
 * Where a branch goes: the binding's received address, not its Contact
 * (drachtio-server would send to the Contact, a private address behind NAT),
 * with the Contact's user, which becomes the Request-URI when the request
 * was addressed to drachtio-server itself.
 */
function destination(t: ProxyTarget): string {
  const user = sip.parseUri(t.uri)?.user;
  const host = t.flow.address.includes(':') ? `[${t.flow.address}]` : t.flow.address;
  return `sip:${user ? `${user}@` : ''}${host}:${t.flow.port};transport=${t.flow.transport}`;
}
