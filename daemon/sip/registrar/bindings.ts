import type { Flow } from '../engine';
import type { SipIdentity } from '../identity';

/** Whose binding it is, so events about it (even its expiry) name the extension or device. */
export type BindingOwner = Pick<SipIdentity, 'kind' | 'tenantId' | 'extensionId' | 'deviceId'>;

/** The rules of RFC 3261 §10.3 steps 6–8, as pure functions over plain data. */
export interface Binding {
  /** The Contact URI as registered. */
  contact: string;
  callId: string;
  cseq: number;
  /** Epoch milliseconds. */
  expiresAt: number;
  registeredAt: number;
  source: Flow;
  userAgent: string;
  /** RFC 3327: the proxies between phone and registrar, kept to reach the phone back. */
  path: string[];
  owner: BindingOwner;
}

export interface ContactChange {
  contact: string;
  /** Seconds, already checked against the limits; 0 removes. */
  expires: number;
}

export interface RegisterUpdate {
  /** '*' is `Contact: *` with `Expires: 0`; an empty list is a query. */
  contacts: ContactChange[] | '*';
  callId: string;
  cseq: number;
  source: Flow;
  userAgent: string;
  path: string[];
  owner: BindingOwner;
  now: number;
}

export type RemovalReason = 'unregistered' | 'replaced' | 'expired';

export type MergeResult =
  | { kind: 'ok'; bindings: Binding[]; added: Binding[]; removed: { binding: Binding; reason: RemovalReason }[] }
  | { kind: 'out-of-order' }
  | { kind: 'too-many' };

export interface ExpiryLimits {
  min: number;
  max: number;
  default: number;
}

/**
 * The expiry a contact asked for: its `expires` parameter, else the Expires
 * header, else the default; too short is refused (423), too long is shortened.
 */
export function contactExpiry(param: string | null | undefined, header: unknown, limits: ExpiryLimits): { ok: true; expires: number } | { ok: false; minExpires: number } | { ok: false; invalid: true } {
  const raw = param ?? (typeof header === 'string' ? header.trim() : undefined);
  let requested = limits.default;
  if (raw !== undefined) {
    if (!/^\d{1,10}$/.test(raw)) return { ok: false, invalid: true };
    requested = Number(raw);
  }
  if (requested === 0) return { ok: true, expires: 0 };
  if (requested < limits.min) return { ok: false, minExpires: limits.min };
  return { ok: true, expires: Math.min(requested, limits.max) };
}

/** Contacts are compared as URIs: scheme and host are case-insensitive. */
export function sameContact(a: string, b: string): boolean {
  return normalizeContact(a) === normalizeContact(b);
}

export function normalizeContact(uri: string): string {
  const m = /^(sips?):(?:([^@]*)@)?([^;?]*)(.*)$/i.exec(uri.trim());
  if (!m) return uri.trim();
  return `${m[1]!.toLowerCase()}:${m[2] !== undefined ? `${m[2]}@` : ''}${m[3]!.toLowerCase()}${m[4]}`;
}

/** Applies a REGISTER to the current bindings of one address of record. */
export function mergeBindings(current: Binding[], u: RegisterUpdate, maxContacts: number): MergeResult {
  const removed: { binding: Binding; reason: RemovalReason }[] = [];
  let live: Binding[] = [];
  for (const b of current) {
    if (b.expiresAt <= u.now) removed.push({ binding: b, reason: 'expired' });
    else live.push(b);
  }
  const outOfOrder = (b: Binding) => b.callId === u.callId && u.cseq <= b.cseq;
  if (u.contacts === '*') {
    if (live.some(outOfOrder)) return { kind: 'out-of-order' };
    for (const b of live) removed.push({ binding: b, reason: 'unregistered' });
    return { kind: 'ok', bindings: [], added: [], removed };
  }
  for (const c of u.contacts) {
    const existing = live.find((b) => sameContact(b.contact, c.contact));
    if (existing && outOfOrder(existing)) return { kind: 'out-of-order' };
  }
  const added: Binding[] = [];
  for (const c of u.contacts) {
    const existing = live.find((b) => sameContact(b.contact, c.contact));
    if (existing) live = live.filter((b) => b !== existing);
    if (c.expires === 0) {
      if (existing) removed.push({ binding: existing, reason: 'unregistered' });
      continue;
    }
    const binding: Binding = {
      contact: c.contact, callId: u.callId, cseq: u.cseq, expiresAt: u.now + c.expires * 1000,
      registeredAt: existing?.registeredAt ?? u.now, source: u.source, userAgent: u.userAgent, path: u.path, owner: u.owner,
    };
    live.push(binding);
    if (!existing) added.push(binding);
  }
  const fresh = new Set(u.contacts.map((c) => normalizeContact(c.contact)));
  if (live.filter((b) => fresh.has(normalizeContact(b.contact))).length > maxContacts) return { kind: 'too-many' };
  if (live.length > maxContacts) {
    const evictable = live.filter((b) => !fresh.has(normalizeContact(b.contact))).sort((a, b) => a.expiresAt - b.expiresAt);
    const evicted = new Set(evictable.slice(0, live.length - maxContacts));
    for (const b of evicted) removed.push({ binding: b, reason: 'replaced' });
    live = live.filter((b) => !evicted.has(b));
  }
  return { kind: 'ok', bindings: live, added, removed };
}
