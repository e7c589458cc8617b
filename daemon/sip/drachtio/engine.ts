import Srf from 'drachtio-srf';
import sip, { type Message } from 'sip';
import type { Logger } from '../../core/log';
import type { Flow, IncomingRequest, OutgoingRequest, ProxyPlan, ReplyOptions, RequestCallback, SipEngine, SipTransport, UasDialog } from '../engine';
import { dialogOf, randomToken } from '../builtin/engine';
import { parseMessage } from '../builtin/wire';
import type { SrfClient, SrfRequest, SrfResponse } from './srf-types';

export interface DrachtioOptions {
  host: string;
  port: number;
  secret: string;
}

const TRANSPORTS: Record<string, SipTransport> = { udp: 'udp', tcp: 'tcp', ws: 'ws', wss: 'ws' };

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
 * The engine on a drachtio-server: drachtio owns transports and
 * transactions, we take requests and answer them. Authentication stays
 * ours: drachtio-srf's digest middleware never checks nonces.
 */
export class DrachtioEngine implements SipEngine {
  readonly name = 'drachtio';
  private readonly srf = new Srf() as unknown as SrfClient;
  private handler: (req: IncomingRequest) => void = () => {};
  private hostport = '';

  constructor(private readonly opts: DrachtioOptions, private readonly log: Logger) {}

  onRequest(handler: (req: IncomingRequest) => void): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    const receive = (req: SrfRequest, res: SrfResponse) => this.receive(req, res);
    for (const verb of ['register', 'options', 'subscribe', 'notify', 'invite', 'message'] as const) this.srf[verb](receive);
    await new Promise<void>((resolve, reject) => {
      let starting = true;
      // drachtio-srf keeps reconnecting and emits every failure: one listener for the whole life.
      this.srf.on('error', (err: Error) => {
        if (!starting) {
          this.log.warn({ err }, 'drachtio connection error');
          return;
        }
        starting = false;
        try {
          this.srf.disconnect();
        } catch {
          // Nothing was connected.
        }
        reject(err);
      });
      this.srf.on('connect', (err: Error | null, hostport: string) => {
        if (!starting) return;
        starting = false;
        if (err) {
          reject(err);
          return;
        }
        this.hostport = hostport;
        resolve();
      });
      this.srf.connect({ host: this.opts.host, port: this.opts.port, secret: this.opts.secret });
    });
    this.log.info({ hostport: this.hostport }, 'connected to drachtio-server');
  }

  async stop(): Promise<void> {
    this.srf.disconnect();
  }

  addresses(): Partial<Record<SipTransport, number>> {
    const out: Partial<Record<SipTransport, number>> = {};
    for (const hp of this.hostport.split(',')) {
      const m = /^(udp|tcp|ws|wss)\/[^:]+:(\d+)$/.exec(hp.trim()) ?? /^(udp|tcp|ws|wss)\/\[[^\]]+\]:(\d+)$/.exec(hp.trim());
      if (m) out[TRANSPORTS[m[1]!]!] ??= Number(m[2]);
    }
    return out;
  }

  private receive(req: SrfRequest, res: SrfResponse): void {
    const source: Flow = { transport: TRANSPORTS[String(req.protocol).toLowerCase()] ?? 'udp', address: req.source_address, port: Number(req.source_port) };
    const send = (status: number, reason: string, o: ReplyOptions = {}) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of headerLines(o.headers ?? {})) headers[name] = headers[name] ? `${headers[name]}, ${value}` : value;
      res.send(status, reason, { headers, ...(o.content ? { body: o.content } : {}) });
    };
    const parsed = parseMessage(req.msg.raw ?? req.msg.toString());
    if (parsed.kind !== 'message') {
      send(400, 'Bad Request');
      return;
    }
    try {
      this.handler({ message: parsed.message, source, reply: send });
    } catch (err) {
      this.log.error({ err }, 'SIP request handler failed');
    }
  }

  request(req: OutgoingRequest, callback: RequestCallback): void {
    const headers: Record<string, string> = {};
    for (const [name, value] of headerLines(req.headers)) headers[name] = value;
    let done = false;
    const finish = (err: Error | null, m?: Message) => {
      if (done) return;
      done = true;
      callback(err, m);
    };
    this.srf.request(req.uri, {
      method: req.method, headers, ...(req.content ? { body: req.content } : {}),
      proxy: `sip:${req.flow.address}:${req.flow.port};transport=${req.flow.transport}`,
    }, (err, sent) => {
      if (err) {
        finish(err);
        return;
      }
      sent.on('response', (res?: SrfResponse) => {
        if (!res || res.status < 200) return;
        const parsed = parseMessage(res.msg.raw ?? res.msg.toString());
        finish(null, parsed.kind === 'message' ? parsed.message : { status: res.status, reason: res.reason, headers: {} });
      });
    });
  }

  createUasDialog(req: IncomingRequest, status: number, reason: string, opts: ReplyOptions = {}): UasDialog {
    const localTag = randomToken();
    const to = req.message.headers.to!;
    req.reply(status, reason, { ...opts, headers: { ...opts.headers, to: { ...to, params: { ...to.params, tag: localTag } } } });
    return dialogOf(req, localTag);
  }

  proxy(req: IncomingRequest, _plan: ProxyPlan): void {
    req.reply(501, 'Not Implemented', { headers: { warning: '399 dialtone "calls are relayed by the built-in SIP engine only, so far"' } });
  }

  isLoop(): boolean {
    return false;
  }

  endDialog(dialog: UasDialog, callback: RequestCallback = () => undefined): void {
    this.request({
      method: 'BYE', uri: dialog.remoteTarget, flow: dialog.flow,
      headers: {
        to: { uri: dialog.remoteUri, params: { tag: dialog.remoteTag } },
        from: { uri: dialog.localUri, params: { tag: dialog.localTag } },
        'call-id': dialog.callId, cseq: { seq: 1, method: 'BYE' },
      },
    }, callback);
  }
}
