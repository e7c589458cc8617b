import crypto from 'node:crypto';
import type { Message, NameAddr, Via } from 'sip';
import type { Flow, IncomingRequest, ProxyPlan, ProxyTarget } from '../engine';
import { T1, T2 } from '../builtin/transactions';
import { bestResponse } from './responses';

/** What the proxy needs of the engine under it: sockets and our own Via. */
export interface ProxyWire {
  /** False, or a later `onFail`, when the flow's connection is gone or cannot be made. */
  send(flow: Flow, m: Message, onFail?: () => void): boolean;
  /** For a stream flow, calls `listener` if its connection closes; returns the way to stop listening. */
  watch(flow: Flow, listener: () => void): () => void;
  /** Our Via for requests leaving on this flow's transport, without its branch. */
  via(flow: Flow): Via;
  /** Our own sent-by addresses, for loop detection. */
  isOurs(via: Via): boolean;
}

export interface ProxyTimers {
  /** Timer C (RFC 3261 §16.6 step 11): how long a ringing branch may go without a final answer. */
  timerCMs: number;
}

/** Timers B and F: a branch that hears nothing at all for this long is answered 408 on its behalf. */
const TIMER_B = 64 * T1;
/** How long a context outlives its final answer, to pass on 2xx retransmissions (RFC 6026) and absorb the ACK of a non-2xx. */
const LINGER_MS = 64 * T1;

interface Branch {
  id: string;
  target: ProxyTarget;
  request: Message;
  /** Provisional seen: the branch may now be cancelled (RFC 3261 §9.1). */
  proceeding: boolean;
  final: Message | null;
  cancelWanted: boolean;
  cancel: Message | null;
  timerCFired: boolean;
  retransmit: NodeJS.Timeout | null;
  timeout: NodeJS.Timeout | null;
  unwatch: () => void;
}

interface Context {
  key: string;
  upstream: IncomingRequest;
  method: string;
  branches: Branch[];
  finalSent: number | null;
  plan: ProxyPlan;
  linger: NodeJS.Timeout | null;
}

const HOP_BY_HOP_RESPONSE = new Set(['via', 'content-length']);

/** RFC 3261 §16.3 step 4: what identifies a request for loop detection, as part of our branch. */
export function loopHash(m: Message): string {
  const routes = Array.isArray(m.headers.route) ? (m.headers.route as NameAddr[]).map((r) => JSON.stringify(r.uri)).join(',') : '';
  const parts = [m.uri, m.headers.from?.params.tag, m.headers.to?.params.tag, m.headers['call-id'], m.headers.cseq?.seq, routes, m.headers['proxy-require']];
  return crypto.hash('sha1', JSON.stringify(parts), 'hex').slice(0, 10);
}

function upstreamKey(m: Message): string {
  const via = m.headers.via![0]!;
  return `${String(via.params.branch)}|${via.host}:${via.port ?? ''}`;
}

function nameAddr(uri: string): NameAddr {
  return { uri: uri.replace(/^<|>$/g, ''), params: {} };
}

/**
 * The transaction-stateful, record-routing, forking proxy of the built-in
 * engine (RFC 3261 §16). The routing decisions (which targets, which
 * headers) are the router's; this keeps the transactions: branches, their
 * retransmissions and timers, CANCEL, and the choice of the answer upstream.
 */
export class ProxyCore {
  private readonly contexts = new Map<string, Context>();
  private readonly branches = new Map<string, { context: Context; branch: Branch }>();

  constructor(private readonly wire: ProxyWire, private readonly timers: ProxyTimers) {}

  /** Requests this proxy is relaying now, for tests that watch memory return to its baseline. */
  get size(): number {
    return this.contexts.size;
  }

  /** True when a request went round through us and back unchanged (482), as opposed to a spiral. */
  isLoop(m: Message): boolean {
    const vias = m.headers.via ?? [];
    if (vias.length < 2) return false;
    const hash = loopHash(m);
    return vias.slice(1).some((v) => this.wire.isOurs(v) && String(v.params.branch).startsWith(`z9hG4bK${hash}.`));
  }

  relay(req: IncomingRequest, plan: ProxyPlan): void {
    const m = req.message;
    const method = m.method!;
    if (method === 'ACK') {
      for (const t of plan.targets) this.wire.send(t.flow, this.branchRequest(m, t, plan, `z9hG4bK${loopHash(m)}.${crypto.randomBytes(5).toString('hex')}`));
      return;
    }
    const context: Context = { key: upstreamKey(m), upstream: req, method, branches: [], finalSent: null, plan, linger: null };
    if (this.contexts.has(context.key)) return;
    this.contexts.set(context.key, context);
    if (method === 'INVITE') req.reply(100, 'Trying');
    const hash = loopHash(m);
    for (const target of plan.targets) {
      const id = `z9hG4bK${hash}.${crypto.randomBytes(6).toString('hex')}`;
      const branch: Branch = {
        id, target, request: this.branchRequest(m, target, plan, id), proceeding: false, final: null,
        cancelWanted: false, cancel: null, timerCFired: false, retransmit: null, timeout: null, unwatch: () => undefined,
      };
      context.branches.push(branch);
      this.branches.set(id, { context, branch });
      this.start(context, branch);
    }
  }

  private branchRequest(m: Message, target: ProxyTarget, plan: ProxyPlan, id: string): Message {
    const headers: Message['headers'] = { ...m.headers };
    for (const name of plan.remove ?? []) delete headers[name];
    Object.assign(headers, plan.set);
    const maxForwards = Number(m.headers['max-forwards'] ?? 70);
    headers['max-forwards'] = String(maxForwards - 1);
    const remaining = Array.isArray(plan.route) ? plan.route : [];
    const routes = [...(target.route ?? []).map(nameAddr), ...remaining];
    if (routes.length > 0) headers.route = routes;
    else delete headers.route;
    if (target.recordRoute && target.recordRoute.length > 0) {
      headers['record-route'] = [...target.recordRoute.map(nameAddr), ...((m.headers['record-route'] as NameAddr[] | undefined) ?? [])];
    }
    const via = this.wire.via(target.flow);
    headers.via = [{ ...via, params: { ...via.params, branch: id } }, ...(m.headers.via ?? [])];
    return { method: m.method, uri: target.uri, version: '2.0', headers, content: plan.content ?? m.content ?? '' };
  }

  private start(context: Context, branch: Branch): void {
    const unreliable = branch.target.flow.transport === 'udp';
    // A phone whose connection is gone is away, not a broken server: 480 rather than RFC 3261's 503, which would end as a 500.
    const gone = () => this.branchFinal(context, branch, synthetic(branch.request, 480, 'Temporarily Unavailable'));
    const send = () => {
      if (!this.wire.send(branch.target.flow, branch.request, gone)) gone();
    };
    branch.unwatch = this.wire.watch(branch.target.flow, gone);
    if (unreliable) this.retransmit(branch, send, context.method === 'INVITE');
    branch.timeout = setTimeout(() => this.branchFinal(context, branch, synthetic(branch.request, 408, 'Request Timeout')), TIMER_B);
    send();
  }

  /** A response from downstream; false when it is not one of ours. */
  response(m: Message): boolean {
    const found = this.branches.get(String(m.headers.via?.[0]?.params.branch ?? ''));
    if (!found) return false;
    const { context, branch } = found;
    const status = m.status ?? 0;
    if (m.headers.cseq?.method === 'CANCEL') {
      if (status >= 200 && branch.cancel) this.stopRetransmit(branch);
      return true;
    }
    if (status < 200) {
      this.provisional(context, branch, m);
      return true;
    }
    if (context.method === 'INVITE' && status >= 300) this.ack(branch, m);
    if (branch.final) {
      // A retransmitted final answer: a 2xx is passed on as every 2xx is (RFC 6026), a non-2xx ACKed again above.
      if (status < 300) this.forwardUpstream(context, m);
      return true;
    }
    this.branchFinal(context, branch, m);
    return true;
  }

  private provisional(context: Context, branch: Branch, m: Message): void {
    if (branch.final) return;
    if (context.method === 'INVITE') this.stopRetransmit(branch);
    if (!branch.proceeding) {
      branch.proceeding = true;
      if (branch.cancelWanted) {
        this.sendCancel(branch);
        return;
      }
    }
    if (context.method === 'INVITE') {
      // Timer C starts, and restarts with every provisional answer.
      if (branch.timeout) clearTimeout(branch.timeout);
      branch.timeout = setTimeout(() => {
        branch.timerCFired = true;
        this.cancelBranch(branch);
        branch.timeout = setTimeout(() => this.branchFinal(context, branch, synthetic(branch.request, 408, 'Request Timeout')), TIMER_B);
      }, this.timers.timerCMs);
    }
    if ((m.status ?? 0) > 100 && context.finalSent === null) this.forwardUpstream(context, m);
  }

  private branchFinal(context: Context, branch: Branch, m: Message): void {
    if (branch.final) return;
    branch.final = branch.timerCFired && (m.status ?? 0) === 487 ? synthetic(branch.request, 408, 'Request Timeout') : m;
    this.stopRetransmit(branch);
    branch.unwatch();
    if (branch.timeout) clearTimeout(branch.timeout);
    branch.timeout = null;
    const status = m.status ?? 0;
    if (status < 300) {
      this.forwardUpstream(context, m);
      for (const other of context.branches) if (other !== branch) this.cancelBranch(other);
    } else if (status >= 600) {
      for (const other of context.branches) if (other !== branch) this.cancelBranch(other);
    }
    if (context.branches.every((b) => b.final)) this.complete(context);
  }

  /** Every branch has answered: the best answer goes upstream unless a 2xx already did. */
  private complete(context: Context): void {
    if (context.finalSent === null) {
      const best = bestResponse(context.branches.map((b) => b.final!));
      this.forwardUpstream(context, best);
    }
    if (context.linger) return;
    context.linger = setTimeout(() => this.forget(context), LINGER_MS);
    context.linger.unref();
  }

  private forget(context: Context): void {
    this.contexts.delete(context.key);
    for (const b of context.branches) {
      this.branches.delete(b.id);
      this.stopRetransmit(b);
      if (b.timeout) clearTimeout(b.timeout);
    }
  }

  private forwardUpstream(context: Context, m: Message): void {
    const status = m.status ?? 500;
    const headers: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(m.headers)) if (!HOP_BY_HOP_RESPONSE.has(name)) headers[name] = value;
    const up = context.upstream;
    if (status >= 200 && context.finalSent !== null) {
      // A further 2xx (another fork, or a retransmission) after the first: sent as it is, past the answered transaction.
      if (status < 300) this.wire.send(up.source, { status, reason: m.reason ?? '', version: '2.0', headers: { ...headers, via: up.message.headers.via }, content: m.content ?? '' });
      return;
    }
    // RFC 3261 §16.7 step 6: a 503 from downstream must not make the phone or PBX think this proxy is down.
    const [s, reason] = status === 503 ? [500, 'Server Internal Error'] : [status, m.reason ?? ''];
    if (status >= 200) {
      context.finalSent = s;
      context.plan.done?.(s);
    }
    up.reply(s, reason, { headers, content: m.content ?? '' });
  }

  /** Upstream CANCEL: true when it matched a request we are relaying (the caller then answers it 200). */
  cancel(m: Message): boolean {
    const context = this.contexts.get(upstreamKey(m));
    if (!context || context.method !== 'INVITE') return false;
    for (const b of context.branches) this.cancelBranch(b);
    return true;
  }

  /** Upstream ACK of a non-2xx answer we gave: it ends there (hop by hop). */
  absorbAck(m: Message): boolean {
    const context = this.contexts.get(upstreamKey(m));
    return context !== undefined && context.finalSent !== null && context.finalSent >= 300;
  }

  private cancelBranch(branch: Branch): void {
    if (branch.final || branch.cancelWanted) return;
    branch.cancelWanted = true;
    if (branch.proceeding) this.sendCancel(branch);
  }

  private sendCancel(branch: Branch): void {
    branch.cancel = hopRequest(branch.request, 'CANCEL', branch.request.headers.to);
    this.stopRetransmit(branch);
    const send = () => this.wire.send(branch.target.flow, branch.cancel!);
    if (branch.target.flow.transport === 'udp') this.retransmit(branch, send, false);
    send();
  }

  /** The ACK a client transaction sends for a non-2xx final answer (RFC 3261 §17.1.1.3). */
  private ack(branch: Branch, res: Message): void {
    this.wire.send(branch.target.flow, hopRequest(branch.request, 'ACK', res.headers.to));
  }

  /** Timers A and E (RFC 3261 §17.1): resend from T1, doubling; an INVITE without limit, the rest up to T2. */
  private retransmit(branch: Branch, send: () => void, invite: boolean): void {
    let interval = T1;
    const again = () => {
      branch.retransmit = setTimeout(() => {
        send();
        interval = invite ? interval * 2 : Math.min(interval * 2, T2);
        again();
      }, interval);
    };
    again();
  }

  private stopRetransmit(branch: Branch): void {
    if (branch.retransmit) clearTimeout(branch.retransmit);
    branch.retransmit = null;
  }

  stop(): void {
    for (const context of [...this.contexts.values()]) {
      if (context.linger) clearTimeout(context.linger);
      this.forget(context);
    }
  }
}

/** A CANCEL or ACK of a branch's request: its Via, Call-ID, CSeq number and Route, hop by hop (RFC 3261 §9.1, §17.1.1.3). */
function hopRequest(r: Message, method: 'CANCEL' | 'ACK', to: Message['headers']['to']): Message {
  return {
    method, uri: r.uri, version: '2.0',
    headers: {
      via: [r.headers.via![0]!], to, from: r.headers.from, 'call-id': r.headers['call-id'],
      cseq: { seq: r.headers.cseq!.seq, method }, 'max-forwards': '70',
      ...(r.headers.route ? { route: r.headers.route } : {}),
    },
    content: '',
  };
}

/** An answer a branch did not send, made for it: a timeout or a connection that is gone. */
function synthetic(request: Message, status: number, reason: string): Message {
  return {
    status, reason, version: '2.0',
    headers: {
      via: request.headers.via, from: request.headers.from, 'call-id': request.headers['call-id'], cseq: request.headers.cseq,
      // A final answer needs a To tag, and the caller must not take it for any real branch's.
      to: { ...request.headers.to!, params: { ...request.headers.to!.params, tag: crypto.randomBytes(6).toString('hex') } },
    },
    content: '',
  };
}
