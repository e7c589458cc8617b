import type { Message } from 'sip';
import type { Flow } from '../engine';

/** RFC 3261 timers for non-INVITE transactions. */
export const T1 = 500;
export const T2 = 4000;
const TIMER_F = 64 * T1;
/** How long a final answer is kept to absorb UDP retransmissions of its request (Timer J). */
const ANSWER_KEPT_MS = 64 * T1;

export function serverKey(m: Message): string | null {
  const via = m.headers.via?.[0];
  const branch = via?.params.branch;
  if (typeof branch !== 'string' || !branch.startsWith('z9hG4bK')) {
    return `${m.headers['call-id']}|${m.headers.cseq?.seq}|${m.method}|${via?.host}:${via?.port}|legacy`;
  }
  return `${branch}|${m.method}|${via!.host}:${via!.port}`;
}

/**
 * Server transactions: a retransmitted request gets the answer already
 * given (or nothing while the first is in progress) instead of reaching the
 * registrar twice. Entries leave in insertion order, which is expiry order.
 */
export class ServerTransactions {
  private readonly entries = new Map<string, { answer: string | null; flow: Flow; until: number }>();

  /** 'new' for a first request; otherwise the stored answer to resend, if any. */
  receive(key: string, flow: Flow, now: number): { state: 'new' } | { state: 'retransmission'; answer: string | null } {
    this.sweep(now);
    const e = this.entries.get(key);
    if (e) return { state: 'retransmission', answer: e.answer };
    if (flow.transport === 'udp') this.entries.set(key, { answer: null, flow, until: now + ANSWER_KEPT_MS });
    return { state: 'new' };
  }

  answered(key: string, text: string): void {
    const e = this.entries.get(key);
    if (e) e.answer = text;
  }

  private sweep(now: number): void {
    for (const [key, e] of this.entries) {
      if (e.until > now) break;
      this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

interface Pending {
  callback: (err: Error | null, response?: Message) => void;
  retransmit: NodeJS.Timeout | null;
  timeout: NodeJS.Timeout;
}

/** Client transactions: retransmission over UDP, the final answer or a timeout, once. */
export class ClientTransactions {
  private readonly pending = new Map<string, Pending>();

  start(branch: string, unreliable: boolean, send: () => void, callback: Pending['callback']): void {
    const p: Pending = {
      callback,
      retransmit: null,
      timeout: setTimeout(() => this.finish(branch, new Error('no answer (timeout)')), TIMER_F),
    };
    p.timeout.unref();
    this.pending.set(branch, p);
    if (unreliable) {
      let interval = T1;
      const again = () => {
        p.retransmit = setTimeout(() => {
          send();
          interval = Math.min(interval * 2, T2);
          again();
        }, interval);
        p.retransmit.unref();
      };
      again();
    }
    send();
  }

  /** True when the response belonged to a transaction of ours. */
  response(m: Message): boolean {
    const branch = m.headers.via?.[0]?.params.branch;
    if (typeof branch !== 'string') return false;
    const p = this.pending.get(branch);
    if (!p) return false;
    if ((m.status ?? 0) >= 200) this.finish(branch, null, m);
    return true;
  }

  private finish(branch: string, err: Error | null, m?: Message): void {
    const p = this.pending.get(branch);
    if (!p) return;
    this.pending.delete(branch);
    clearTimeout(p.timeout);
    if (p.retransmit) clearTimeout(p.retransmit);
    p.callback(err, m);
  }

  cancelAll(): void {
    for (const branch of [...this.pending.keys()]) this.finish(branch, new Error('SIP engine stopped'));
  }
}
