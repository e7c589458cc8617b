import sip, { type Message } from 'sip';
import type { Flow } from '../engine';

/** Requests drachtio-server (v0.9.4) sends over a remembered connection instead of the one asked for. */
const REDIRECTED = new Set(['INVITE', 'OPTIONS', 'NOTIFY', 'MESSAGE']);
/** drachtio-server drops an expired entry on its 30 s watchdog, not at the second it expires. */
const WATCHDOG_MS = 30_000;

/** `user@host` as drachtio-server keys a contact: host as written, no port, no transport. */
function contactKey(uri: string): string | null {
  const parsed = sip.parseUri(uri);
  if (!parsed?.host) return null;
  return parsed.user ? `${parsed.user}@${parsed.host}` : parsed.host;
}

function firstContactUri(headers: Record<string, unknown> | undefined): { uri: string; expires: unknown } | null {
  const contact = headers?.contact;
  if (!Array.isArray(contact) || typeof contact[0]?.uri !== 'string') return null;
  return { uri: contact[0].uri, expires: (contact[0].params as Record<string, unknown> | undefined)?.expires };
}

function seconds(value: unknown): number {
  const n = Number.parseInt(String(value ?? ''), 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

const sameFlow = (a: Flow, b: Flow) => a.transport === b.transport && a.address === b.address && a.port === b.port;

/**
 * What drachtio-server remembers of the connections phones registered on,
 * so dialtone can tell when it would send a request down another flow.
 * After a 2xx to a REGISTER (or SUBSCRIBE) over a stream transport, drachtio-server
 * keys that connection by the first Contact's user and host, and every later
 * INVITE, OPTIONS, NOTIFY or MESSAGE whose Request-URI has that user and host
 * leaves on it, whatever flow it was meant for: a UDP contact's NOTIFY goes
 * down another contact's TCP connection, or down a dead one.
 */
export class ConnectionMemory {
  private readonly entries = new Map<string, { flow: Flow; until: number }>();

  /** Our final answer to `request` from `source` went out with `headers`. */
  answered(request: Message, source: Flow, status: number, headers: Record<string, unknown>, now: number): void {
    if (source.transport === 'udp') return;
    const method = request.method;
    const kept = (method === 'REGISTER' && status === 200) || (method === 'SUBSCRIBE' && (status === 200 || status === 202));
    if (!kept) return;
    const contact = firstContactUri(request.headers as Record<string, unknown>);
    const key = contact && contactKey(contact.uri);
    if (!key) return;
    const answeredContact = method === 'REGISTER' ? firstContactUri(headers) : null;
    const expires = seconds(answeredContact?.expires) || seconds(headers.expires);
    if (expires > 0) this.entries.set(key, { flow: source, until: now + expires * 1000 + WATCHDOG_MS });
    else this.entries.delete(key);
  }

  /** The flow drachtio-server would send `method` to `uri` on, when it is not `flow`. */
  divert(method: string, uri: string, flow: Flow, now: number): Flow | null {
    if (!REDIRECTED.has(method)) return null;
    const key = contactKey(uri);
    const entry = key ? this.entries.get(key) : undefined;
    if (!entry) return null;
    if (entry.until < now) {
      this.entries.delete(key!);
      return null;
    }
    return sameFlow(entry.flow, flow) ? null : entry.flow;
  }

  /** A restarted drachtio-server remembers nothing. */
  clear(): void {
    this.entries.clear();
  }
}
