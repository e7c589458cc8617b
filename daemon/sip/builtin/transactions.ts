import crypto from 'node:crypto';
import type { Message } from 'sip';

/** RFC 3261 timers for non-INVITE transactions. */
export const T1 = 500;
export const T2 = 4000;
const TIMER_F = 64 * T1;
/** How long a final answer is kept to absorb UDP retransmissions of its request (Timer J). */
const ANSWER_KEPT_MS = 64 * T1;
/** Requests are grouped by the second they arrived in and forgotten a second at a time. */
const GENERATION_MS = 1000;
/**
 * At most this many requests are remembered. Past it, the oldest second's
 * answers are forgotten before Timer J: their late retransmissions are then
 * handled afresh (a REGISTER is challenged again, which a phone answers), and
 * a flood of distinct requests cannot grow memory without bound.
 */
export const MAX_REMEMBERED = 40_000;

/**
 * The transaction a request belongs to, as a digest: the parts are slices of
 * the whole received message, and a key built from them would keep every
 * remembered request's text alive.
 */
export function serverKey(m: Message): string {
  const via = m.headers.via?.[0];
  const branch = via?.params.branch;
  const id = typeof branch !== 'string' || !branch.startsWith('z9hG4bK')
    ? `${m.headers['call-id']}|${m.headers.cseq?.seq}|${m.method}|${via?.host}:${via?.port}|legacy`
    : `${branch}|${m.method}|${via!.host}:${via!.port}`;
  return crypto.hash('sha1', id, 'base64');
}

/**
 * Server transactions over UDP: a retransmitted request gets the answer
 * already given (or nothing while the first is in progress) instead of
 * reaching the registrar twice. A registrar under a registration storm holds
 * tens of thousands of these, so an entry is only its key and the text sent,
 * and keys leave a second's worth at a time: no timer or object per entry.
 */
export class ServerTransactions {
  /**
   * The answer given, as text; null while the request is still being handled.
   * Text, not the bytes sent: kept for Timer J, an answer outlives the young
   * generation, and as a Buffer each one would be memory outside the heap
   * (an allocation of its own, returned only after a full collection).
   */
  private readonly answers = new Map<string, string | null>();
  /** The keys received in each second, oldest first. */
  private seconds: { start: number; keys: string[] }[] = [];

  constructor(private readonly limit = MAX_REMEMBERED) {}

  /** 'new' for a first request (a UDP one: streams do not retransmit); otherwise the stored answer to resend, if any. */
  receive(key: string, now: number): { state: 'new' } | { state: 'retransmission'; answer: string | null } {
    this.age(now);
    const answer = this.answers.get(key);
    if (answer !== undefined) return { state: 'retransmission', answer };
    this.answers.set(key, null);
    this.second(now).push(key);
    return { state: 'new' };
  }

  answered(key: string, text: string): void {
    if (this.answers.has(key)) this.answers.set(key, text);
  }

  /**
   * A stateless answer (RFC 3261 §8.2.7), such as a challenge: a
   * retransmission of its request is handled afresh rather than answered
   * from memory.
   */
  forget(key: string): void {
    this.answers.delete(key);
  }

  /** How many requests are remembered. */
  get size(): number {
    return this.answers.size;
  }

  private second(now: number): string[] {
    const last = this.seconds[this.seconds.length - 1];
    if (last && now < last.start + GENERATION_MS) return last.keys;
    const keys: string[] = [];
    this.seconds.push({ start: now, keys });
    return keys;
  }

  /** Forgets the seconds whose every request has been kept for Timer J, and the oldest ones past the limit. */
  private age(now: number): void {
    let drop = 0;
    while (drop < this.seconds.length) {
      const s = this.seconds[drop]!;
      if (s.start + GENERATION_MS + ANSWER_KEPT_MS > now && this.answers.size < this.limit) break;
      for (const key of s.keys) this.answers.delete(key);
      drop++;
    }
    if (drop > 0) this.seconds = this.seconds.slice(drop);
  }

  clear(): void {
    this.answers.clear();
    this.seconds = [];
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

  get size(): number {
    return this.pending.size;
  }

  cancelAll(): void {
    for (const branch of [...this.pending.keys()]) this.finish(branch, new Error('SIP engine stopped'));
  }
}
