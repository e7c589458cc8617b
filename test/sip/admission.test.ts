import crypto from 'node:crypto';
import sip from 'sip';
import t from 'tap';
import { createLogger } from '../../daemon/core/log';
import type { IncomingRequest } from '../../daemon/sip/engine';
import type { SipIdentity } from '../../daemon/sip/identity';
import { Arrivals, DEFAULT_ADMISSION, admit, retryAfterSeconds } from '../../daemon/sip/registrar/admission';
import { digestResponse } from '../../daemon/sip/registrar/digest';
import { MemoryStore } from '../../daemon/sip/registrar/memory-store';
import { issueNonce } from '../../daemon/sip/registrar/nonce';
import { Registrar } from '../../daemon/sip/registrar/registrar';

t.test('new registrations are shed first; answers to a challenge only past the hard limit', async (t) => {
  const limits = { inFlight: 10, loopDelayMs: 100, minPerSecond: 500 };
  const busy = { perSecond: 2000 };
  t.equal(admit(false, { inFlight: 0, loopDelayMs: 0, ...busy }, limits), 'admit');
  t.equal(admit(false, { inFlight: 9, loopDelayMs: 99, ...busy }, limits), 'admit');
  t.equal(admit(false, { inFlight: 10, loopDelayMs: 0, perSecond: 1 }, limits), 'shed', 'too many in flight');
  t.equal(admit(false, { inFlight: 0, loopDelayMs: 100, ...busy }, limits), 'shed', 'the event loop is behind while REGISTERs pour in');
  t.equal(admit(false, { inFlight: 0, loopDelayMs: 5000, perSecond: 499 }, limits), 'admit', 'a slow loop with few REGISTERs is busy with something else');
  t.equal(admit(true, { inFlight: 10, loopDelayMs: 5000, ...busy }, limits), 'admit', 'half done: finishing it brings the backlog down');
  t.equal(admit(true, { inFlight: 19, loopDelayMs: 0, ...busy }, limits), 'admit');
  t.equal(admit(true, { inFlight: 20, loopDelayMs: 0, ...busy }, limits), 'shed', 'twice the limit: refused too');
  t.ok(DEFAULT_ADMISSION.loopDelayMs < 500, 'shedding starts before phones retransmit (T1, 500 ms)');
});

t.test('arrivals are counted over the last second and the one under way', async (t) => {
  const a = new Arrivals();
  for (let i = 0; i < 300; i++) a.add(10_000 + i);
  t.equal(a.perSecond, 300, 'the second under way');
  a.add(11_000);
  t.equal(a.perSecond, 300, 'a new second starts: the last whole one still counts');
  for (let i = 0; i < 400; i++) a.add(11_001 + i);
  t.equal(a.perSecond, 401);
  a.add(13_500);
  t.equal(a.perSecond, 1, 'after a quiet second, the old count is forgotten');
});

t.test('Retry-After is spread over 5 to 30 seconds whatever the random source says', async (t) => {
  t.equal(retryAfterSeconds(0), 5);
  t.equal(retryAfterSeconds(0.999999999), 30);
  t.equal(retryAfterSeconds(-1), 5);
  t.equal(retryAfterSeconds(7), 30);
  t.equal(retryAfterSeconds(Number.NaN) >= 5 && retryAfterSeconds(Number.NaN) <= 30, true, 'NaN still gives a valid value');
});

const SECRET = Buffer.alloc(32, 7);
const REALM = 'shed.test';

function request(user: string, password: string | null): { req: IncomingRequest; answer: Promise<{ status: number; headers: Record<string, unknown> }> } {
  const lines = [
    `REGISTER sip:${REALM} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK${crypto.randomBytes(6).toString('hex')}`,
    `From: <sip:${user}@${REALM}>;tag=1`, `To: <sip:${user}@${REALM}>`, `Call-ID: ${crypto.randomBytes(6).toString('hex')}`, 'CSeq: 2 REGISTER',
    `Contact: <sip:${user}@127.0.0.1:5099>`, 'Expires: 600', 'Max-Forwards: 70',
  ];
  if (password !== null) {
    const nonce = issueNonce(SECRET, REALM, Date.now());
    const c = { username: user, realm: REALM, nonce, uri: `sip:${REALM}`, algorithm: 'MD5' as const, qop: 'auth' as const, ncText: '00000001', cnonce: 'abc' };
    lines.push(`Authorization: Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="sip:${REALM}", response="${digestResponse(c, password, 'REGISTER')}", algorithm=MD5, qop=auth, nc=00000001, cnonce="abc"`);
  }
  const message = sip.parse([...lines, 'Content-Length: 0', '', ''].join('\r\n'))!;
  let resolve!: (a: { status: number; headers: Record<string, unknown> }) => void;
  const answer = new Promise<{ status: number; headers: Record<string, unknown> }>((r) => (resolve = r));
  return { req: { message, source: { transport: 'udp', address: '127.0.0.1', port: 5099 }, reply: (status, _reason, opts) => resolve({ status, headers: (opts?.headers ?? {}) as Record<string, unknown> }) }, answer };
}

t.test('a registrar with a backlog answers new REGISTERs 503 with Retry-After, finishes what it started, then takes new ones again', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const identity = (user: string): SipIdentity => ({ kind: 'extension', tenantId: 't', extensionId: user, deviceId: null, username: user, password: `pw-${user}`, realm: REALM, aor: `${user}@${REALM}` });
  const registrar = new Registrar(new MemoryStore(), [async (_domain, user) => {
    await gate;
    return identity(user);
  }], {
    nonceSecret: SECRET, algorithms: ['MD5'], nonceTtlMs: 60_000, expiry: { min: 60, max: 3600, default: 3600 }, maxContacts: 5,
    lockout: { user: 100, source: 100, coolDownMs: 60_000 }, sweepMs: 60_000,
    // The event loop's delay is left out: only the backlog decides here.
    admission: { inFlight: 2, loopDelayMs: Number.MAX_SAFE_INTEGER, minPerSecond: 0 },
  }, createLogger('silent'));
  t.teardown(() => registrar.stop());

  const fresh = request('u0', null);
  registrar.handle(fresh.req);
  t.equal((await fresh.answer).status, 401, 'no backlog: challenged as usual');

  const started = ['u1', 'u2'].map((u) => request(u, `pw-${u}`));
  for (const r of started) registrar.handle(r.req);
  const refused = request('u3', null);
  registrar.handle(refused.req);
  const shed = await refused.answer;
  t.equal(shed.status, 503, 'a new registration is shed while two wait');
  t.match(String(shed.headers['retry-after']), /^([5-9]|[12][0-9]|30)$/, 'with Retry-After of 5 to 30 seconds');

  const halfDone = ['u4', 'u5'].map((u) => request(u, `pw-${u}`));
  for (const r of halfDone) registrar.handle(r.req);
  const overflow = request('u6', 'pw-u6');
  registrar.handle(overflow.req);
  t.equal((await overflow.answer).status, 503, 'at twice the limit an answer to a challenge is shed too');

  release();
  t.same(await Promise.all([...started, ...halfDone].map(async (r) => (await r.answer).status)), [200, 200, 200, 200], 'everything admitted is finished');
  const later = request('u7', null);
  registrar.handle(later.req);
  t.equal((await later.answer).status, 401, 'the backlog gone, new registrations are taken again');
});
