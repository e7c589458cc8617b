import { EventEmitter } from 'node:events';
import sip, { type AuthHeader, type Message } from 'sip';
import { dateHeader } from '../../core/date-header';
import type { Logger } from '../../core/log';
import type { Flow, IncomingRequest } from '../engine';
import type { SipIdentity, SipIdentityLookup } from '../identity';
import { type Binding, type BindingOwner, type ContactChange, type ExpiryLimits, type RemovalReason, contactExpiry } from './bindings';
import { type DigestAlgorithm, type DigestCredentials, challengeOrder, challenges, parseCredentials, responseMatches, unquote } from './digest';
import { type AdmissionLimits, Arrivals, DEFAULT_ADMISSION, LoopDelay, admit, retryAfterSeconds } from './admission';
import { checkNonce, issueNonce, nonceIssuedAt } from './nonce';
import type { LockLimits, RegistrarStore } from './store';

export interface RegistrarOptions {
  /** Signs nonces; the same in every process that shares the store. */
  nonceSecret: Buffer;
  algorithms: readonly DigestAlgorithm[];
  nonceTtlMs: number;
  expiry: ExpiryLimits;
  maxContacts: number;
  lockout: LockLimits & { coolDownMs: number };
  /** How often expired bindings are looked for. */
  sweepMs: number;
  /** When to shed load (admission.ts); the defaults suit a deployment. */
  admission?: AdmissionLimits;
}

/** What the registrar tells the rest of dialtone, on `registrar.events`. */
export interface BindingEvent {
  type: 'registered' | 'unregistered' | 'expired';
  aor: string;
  contact: string;
  source: Flow;
  userAgent: string;
  /** The extension or pending device the binding belongs to. */
  owner: BindingOwner;
  /** Why a binding went: the phone removed it, a newer one replaced it, or it expired. */
  reason?: RemovalReason;
  at: string;
}

export interface RegistrarEvents {
  registered: [BindingEvent];
  unregistered: [BindingEvent];
  expired: [BindingEvent];
}

const ALLOW = 'REGISTER, OPTIONS';
const SIP_SCHEME = /^sips?:/i;
const USER_AGENT_MAX = 200;

/** REGISTERs answered by status, failed authentications, and refusals of a locked-out user or source. */
export interface RegisterCounts {
  answered: Map<number, number>;
  authFailures: number;
  lockouts: number;
}

type Refusal = { status: number; reason: string; headers?: Record<string, unknown> };

type Verified =
  | { kind: 'challenge'; stale: boolean }
  | { kind: 'forbidden' }
  | { kind: 'ok'; identity: SipIdentity; creds: DigestCredentials; lockKeys: { source: string; user: string } };

const UNLIMITED = { source: Number.MAX_SAFE_INTEGER, user: Number.MAX_SAFE_INTEGER };

/** At most one warning about shedding in this long. */
const SHED_LOG_MS = 10_000;

/**
 * The registrar of RFC 3261 §10.3 with digest authentication by dialtone's
 * own nonces. Identities come from the lookups in order (extensions, then
 * pending phones); bindings, nonce counts and failure counters from the store.
 */
export class Registrar {
  readonly events = new EventEmitter<RegistrarEvents>();
  /** Plain numbers requests add to; the metrics read them when scraped. */
  readonly counts: RegisterCounts = { answered: new Map(), authFailures: 0, lockouts: 0 };
  private sweeper: NodeJS.Timeout | null = null;
  private readonly loop = new LoopDelay();
  private readonly arrivals = new Arrivals();
  private inFlight = 0;
  private shed = { count: 0, loggedAt: 0 };

  constructor(
    private readonly store: RegistrarStore,
    private readonly lookups: SipIdentityLookup[],
    private readonly opts: RegistrarOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.sweeper = setInterval(() => void this.sweep(), this.opts.sweepMs);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.loop.stop();
  }

  /** Adds a source of identities (the activation lookup for pending phones). */
  addLookup(lookup: SipIdentityLookup): void {
    this.lookups.push(lookup);
  }

  bindings(aor: string): Promise<Binding[]> {
    return this.store.bindings(aor, Date.now());
  }

  /** Answers every request the engine hands over; never throws. */
  handle(req: IncomingRequest): void {
    const method = req.message.method;
    // An ACK belongs to a dialog or to a non-2xx answer already given: it is never answered.
    if (method === 'ACK') return;
    if (method === 'OPTIONS') {
      req.reply(200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp', supported: 'path' } });
      return;
    }
    if (method !== 'REGISTER') {
      req.reply(method === 'CANCEL' ? 481 : 405, method === 'CANCEL' ? 'Call/Transaction Does Not Exist' : 'Method Not Allowed', { headers: { allow: ALLOW } });
      return;
    }
    // Started here rather than in start(): registrar workers never start the sweeper, but shed load too.
    this.loop.start();
    this.register(req).catch((err: unknown) => {
      this.log.error({ err, source: `${req.source.transport}:${req.source.address}:${req.source.port}` }, 'REGISTER failed');
      this.answer(req, 500, 'Server Internal Error');
    });
  }

  /** Every final answer to a REGISTER goes through here, counted by status for the metrics. */
  private answer(req: IncomingRequest, status: number, reason: string, opts?: Parameters<IncomingRequest['reply']>[2]): void {
    this.counts.answered.set(status, (this.counts.answered.get(status) ?? 0) + 1);
    req.reply(status, reason, opts);
  }

  private async register(req: IncomingRequest): Promise<void> {
    const m = req.message;
    this.arrivals.add(Date.now());
    const load = { inFlight: this.inFlight, loopDelayMs: this.loop.ms, perSecond: this.arrivals.perSecond };
    if (admit(m.headers.authorization !== undefined, load, this.opts.admission ?? DEFAULT_ADMISSION) === 'shed') {
      this.shedding(req);
      return;
    }
    // The engine refused Request-URIs that do not parse; only the scheme is left to check.
    if (!SIP_SCHEME.test(m.uri ?? '')) {
      this.answer(req, 416, 'Unsupported URI Scheme');
      return;
    }
    const toUri = sip.parseUri(m.headers.to?.uri ?? '');
    if (!toUri || !toUri.user) {
      this.answer(req, 404, 'Not Found', { headers: { warning: '399 dialtone "the To header must name a user at a SIP domain"' } });
      return;
    }
    // The tenant comes from the address of record: phones often put the registrar's IP address in the Request-URI.
    const domain = toUri.host.toLowerCase();
    const contacts = this.contactChanges(m);
    if ('status' in contacts) {
      this.answer(req, contacts.status, contacts.reason, contacts.headers ? { headers: contacts.headers } : {});
      return;
    }
    this.inFlight++;
    try {
      const checked = await this.verify(req, m.headers.authorization, domain, 'REGISTER');
      if (checked.kind === 'challenge') {
        this.challenge(req, domain, checked.stale);
        return;
      }
      if (checked.kind === 'forbidden') {
        this.answer(req, 403, 'Forbidden');
        return;
      }
      const { identity, creds, lockKeys } = checked;
      if (!mayRegister(identity, toUri.user)) {
        this.log.info({ username: creds.username, to: toUri.user.slice(0, 64), source: req.source.address }, 'SIP registration refused: To names another user');
        this.answer(req, 403, 'Forbidden', { headers: { warning: '399 dialtone "the credentials do not belong to the address in To"' } });
        return;
      }
      await this.bind(req, identity, creds, contacts.changes, lockKeys);
    } finally {
      this.inFlight--;
    }
  }

  /** 503 with Retry-After (RFC 3261 §21.5.4): the phone tries again later, or another registrar it knows. */
  private shedding(req: IncomingRequest): void {
    this.answer(req, 503, 'Service Unavailable', { headers: { 'retry-after': String(retryAfterSeconds(Math.random())) } });
    this.shed.count++;
    const now = Date.now();
    if (now - this.shed.loggedAt < SHED_LOG_MS) return;
    this.log.warn({ shed: this.shed.count, inFlight: this.inFlight, loopDelayMs: Math.round(this.loop.ms) }, 'registrar overloaded: new registrations answered 503 with Retry-After');
    this.shed = { count: 0, loggedAt: now };
  }

  private async bind(req: IncomingRequest, identity: SipIdentity, creds: DigestCredentials, contacts: ContactChange[] | '*', lockKeys: { source: string; user: string }): Promise<void> {
    const m = req.message;
    const now = Date.now();
    const userAgent = typeof m.headers['user-agent'] === 'string' ? m.headers['user-agent'].slice(0, USER_AGENT_MAX) : '';
    const outcome = await this.store.register({
      aor: identity.aor,
      update: {
        contacts, callId: m.headers['call-id']!, cseq: m.headers.cseq!.seq, source: req.source, userAgent,
        owner: { kind: identity.kind, tenantId: identity.tenantId, extensionId: identity.extensionId, deviceId: identity.deviceId },
        path: (m.headers.path ?? []).map((p) => `<${sip.stringifyUri(p.uri)}>`), now,
      },
      maxContacts: this.opts.maxContacts, nonce: creds.nonce, nonceIssuedAt: nonceIssuedAt(creds.nonce), nc: creds.nc, nonceTtlMs: this.opts.nonceTtlMs,
      lockKeys, limits: this.opts.lockout,
    });
    switch (outcome.kind) {
      case 'locked':
        this.counts.lockouts++;
        this.log.info({ username: creds.username, source: req.source.address }, 'SIP registration refused: too many failed attempts');
        this.answer(req, 403, 'Forbidden', { headers: { warning: '399 dialtone "too many failed attempts, try later"' } });
        return;
      case 'replay':
        this.challenge(req, identity.realm, false);
        return;
      case 'out-of-order':
        this.answer(req, 400, 'Bad Request', { headers: { warning: '399 dialtone "CSeq is not higher than the binding\'s for this Call-ID"' } });
        return;
      case 'too-many':
        this.answer(req, 403, 'Forbidden', { headers: { warning: `399 dialtone "at most ${this.opts.maxContacts} contacts"` } });
        return;
    }
    const headers: Record<string, unknown> = { date: dateHeader(now) };
    if (outcome.bindings.length > 0) {
      headers.contact = outcome.bindings.map((b) => ({ uri: b.contact, params: { expires: String(Math.max(0, Math.round((b.expiresAt - now) / 1000))) } }));
    }
    if (m.headers.path && m.headers.path.length > 0) headers.path = m.headers.path;
    this.answer(req, 200, 'OK', { headers });
    const at = new Date(now).toISOString();
    for (const b of outcome.added) this.events.emit('registered', event('registered', identity.aor, b, at));
    for (const r of outcome.removed) {
      const type = r.reason === 'expired' ? 'expired' : 'unregistered';
      this.events.emit(type, { ...event(type, identity.aor, r.binding, at), reason: r.reason });
    }
  }

  /** The changes a REGISTER asks for, or why it cannot be honoured. */
  private contactChanges(m: Message): { changes: ContactChange[] | '*' } | Refusal {
    const contact = m.headers.contact;
    const wildcard = contact === '*' || (Array.isArray(contact) && contact.some((c) => c.uri === '*'));
    if (wildcard) {
      if (Array.isArray(contact) && contact.length > 1) return { status: 400, reason: 'Bad Request', headers: { warning: '399 dialtone "Contact: * must stand alone"' } };
      const expires = typeof m.headers.expires === 'string' ? m.headers.expires.trim() : undefined;
      if (expires !== '0') return { status: 400, reason: 'Bad Request', headers: { warning: '399 dialtone "Contact: * needs Expires: 0"' } };
      return { changes: '*' };
    }
    const changes: ContactChange[] = [];
    for (const c of Array.isArray(contact) ? contact : []) {
      if (!sip.parseUri(c.uri)) return { status: 400, reason: 'Bad Request', headers: { warning: '399 dialtone "bad Contact URI"' } };
      const e = contactExpiry(c.params.expires, m.headers.expires, this.opts.expiry);
      if (!e.ok && 'minExpires' in e) return { status: 423, reason: 'Interval Too Brief', headers: { 'min-expires': String(e.minExpires) } };
      if (!e.ok) return { status: 400, reason: 'Bad Request', headers: { warning: '399 dialtone "bad expires value"' } };
      changes.push({ contact: c.uri, expires: e.expires });
    }
    return { changes };
  }

  /**
   * The digest check every authenticated request goes through: the
   * credentials for `domain`, a nonce of ours still valid, an identity whose
   * password gives the same response. A wrong password counts against the
   * user and the source; nonce counts and lockout are the caller's step.
   */
  private async verify(req: IncomingRequest, headers: AuthHeader[] | undefined, domain: string, method: string): Promise<Verified> {
    const auth = (headers ?? []).find((h) => unquote(h.realm)?.toLowerCase() === domain);
    if (!auth) return { kind: 'challenge', stale: false };
    const creds = parseCredentials(auth);
    if ('problem' in creds) {
      this.log.debug({ problem: creds.problem, source: req.source.address }, 'SIP credentials not usable');
      return { kind: 'challenge', stale: false };
    }
    const nonce = checkNonce(this.opts.nonceSecret, creds.nonce, domain, Date.now(), this.opts.nonceTtlMs);
    if (nonce !== 'valid') return { kind: 'challenge', stale: nonce === 'stale' };
    const lockKeys = { source: req.source.address, user: `${domain}/${creds.username}` };
    const identity = await this.identify(domain, creds.username);
    if (!identity || identity.realm.toLowerCase() !== domain || !responseMatches(creds, identity.password, method)) {
      this.counts.authFailures++;
      await this.store.recordFailure(lockKeys, this.opts.lockout.coolDownMs);
      this.log.info({ username: creds.username, domain, method, source: req.source.address }, 'SIP authentication failed');
      return { kind: 'forbidden' };
    }
    return { kind: 'ok', identity, creds, lockKeys };
  }

  /**
   * Who sent a request other than REGISTER (a phone's INVITE, MESSAGE or
   * SUBSCRIBE), proven as a proxy proves it: 407 and Proxy-Authorization,
   * with the registrar's nonces, replay rule and lockout. Resolves null once
   * the request has been answered (challenged or refused). An emergency call
   * is never refused by the lockout.
   */
  async authenticate(req: IncomingRequest, domain: string, opts: { emergency?: boolean } = {}): Promise<SipIdentity | null> {
    const realm = domain.toLowerCase();
    const checked = await this.verify(req, req.message.headers['proxy-authorization'] as AuthHeader[] | undefined, realm, req.message.method ?? '');
    if (checked.kind === 'challenge') {
      this.challenge(req, realm, checked.stale, 407);
      return null;
    }
    if (checked.kind === 'forbidden') {
      req.reply(403, 'Forbidden', { headers: { warning: '399 dialtone "wrong credentials"' } });
      return null;
    }
    const { identity, creds, lockKeys } = checked;
    const outcome = await this.store.authorize({
      key: identity.aor, nonce: creds.nonce, nonceIssuedAt: nonceIssuedAt(creds.nonce), nc: creds.nc, nonceTtlMs: this.opts.nonceTtlMs,
      lockKeys, limits: opts.emergency ? UNLIMITED : this.opts.lockout, now: Date.now(),
    });
    if (outcome === 'locked') {
      this.counts.lockouts++;
      req.reply(403, 'Forbidden', { headers: { warning: '399 dialtone "too many failed attempts, try later"' } });
      return null;
    }
    if (outcome === 'replay') {
      this.challenge(req, realm, false, 407);
      return null;
    }
    return identity;
  }

  private challenge(req: IncomingRequest, realm: string, stale: boolean, status: 401 | 407 = 401): void {
    const nonce = issueNonce(this.opts.nonceSecret, realm, Date.now());
    const ua = req.message.headers['user-agent'];
    const order = challengeOrder(this.opts.algorithms, typeof ua === 'string' ? ua : '');
    if (status === 401) this.answer(req, 401, 'Unauthorized', { headers: { 'www-authenticate': challenges(order, realm, nonce, stale) } });
    else req.reply(407, 'Proxy Authentication Required', { headers: { 'proxy-authenticate': challenges(order, realm, nonce, stale) } });
  }

  private async identify(domain: string, username: string): Promise<SipIdentity | null> {
    for (const lookup of this.lookups) {
      const found = await lookup(domain, username);
      if (found) return found;
    }
    return null;
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await this.store.sweep(Date.now(), 1000, (err) => this.log.warn({ err }, 'sweeping a part of the SIP bindings failed; the rest was swept'));
      const at = new Date().toISOString();
      for (const e of expired) this.events.emit('expired', { ...event('expired', e.aor, e.binding, at), reason: 'expired' });
    } catch (err) {
      this.log.warn({ err }, 'sweeping expired SIP bindings failed');
    }
  }
}

/**
 * RFC 3261 §10.3 step 6: the authenticated user must own the address of
 * record in To. A phone names its line by the SIP username or by the
 * extension number (the user part of the AOR); either is accepted.
 */
function mayRegister(identity: SipIdentity, toUser: string): boolean {
  return toUser === identity.username || toUser === identity.aor.slice(0, identity.aor.lastIndexOf('@'));
}

function event(type: BindingEvent['type'], aor: string, b: Binding, at: string): BindingEvent {
  return { type, aor, contact: b.contact, source: b.source, userAgent: b.userAgent, owner: b.owner, at };
}
