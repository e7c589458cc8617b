import t from 'tap';
import { contactExpiry, mergeBindings, normalizeContact, type Binding } from '../../daemon/sip/registrar/bindings';
import { challengeOrder, challenges, digestResponse, parseCredentials, responseMatches } from '../../daemon/sip/registrar/digest';
import { checkNonce, issueNonce, nonceIssuedAt } from '../../daemon/sip/registrar/nonce';

const RFC7616 = {
  username: 'Mufasa', realm: 'http-auth@example.org', nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', uri: '/dir/index.html',
  qop: 'auth' as const, ncText: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
};

t.test('digest responses match RFC 7616 §3.9.1 for MD5 and SHA-256', async (t) => {
  t.equal(digestResponse({ ...RFC7616, algorithm: 'MD5' }, 'Circle of Life', 'GET'), '8ca523f5e9506fed4657c9700eebdbec');
  t.equal(digestResponse({ ...RFC7616, algorithm: 'SHA-256' }, 'Circle of Life', 'GET'), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
});

t.test('credentials are parsed from the header, quoted or not', async (t) => {
  const header = { scheme: 'Digest', username: '"Mufasa"', realm: `"${RFC7616.realm}"`, nonce: `"${RFC7616.nonce}"`, uri: `"${RFC7616.uri}"`, algorithm: 'SHA-256', qop: 'auth', nc: '00000001', cnonce: `"${RFC7616.cnonce}"`, response: '"753927FA0E85D155564E2E272A28D1802CA10DAF4496794697CF8DB5856CB6C1"' };
  const c = parseCredentials(header);
  if ('problem' in c) throw new Error(c.problem);
  t.equal(c.nc, 1);
  t.equal(responseMatches(c, 'Circle of Life', 'GET'), true);
  t.equal(responseMatches(c, 'circle of life', 'GET'), false);
  t.equal(responseMatches({ ...c, response: 'short' }, 'Circle of Life', 'GET'), false);
});

t.test('credentials without what replay protection needs are refused', async (t) => {
  const base = { scheme: 'Digest', username: '"u"', realm: '"r"', nonce: '"n"', uri: '"sip:r"', response: '"x"', qop: 'auth', nc: '00000001', cnonce: '"c"' };
  t.match(parseCredentials({ ...base, qop: undefined }), { problem: /qop=auth/ });
  t.match(parseCredentials({ ...base, nc: 'zz' }), { problem: /nc/ });
  t.match(parseCredentials({ ...base, algorithm: 'SHA-512-256' }), { problem: /unsupported algorithm/ });
  t.match(parseCredentials({ ...base, scheme: 'Basic' }), { problem: /Digest/ });
  t.match(parseCredentials({ ...base, username: undefined }), { problem: /incomplete/ });
  t.match(parseCredentials({ ...base, cnonce: `"${'c'.repeat(600)}"` }), { problem: /too long/ });
});

t.test('challenges follow the configured order', async (t) => {
  const list = challenges(['MD5', 'SHA-256'], 'a.test', 'n', true);
  t.same(list.map((c) => c.algorithm), ['MD5', 'SHA-256']);
  t.match(list[0], { realm: '"a.test"', qop: '"auth"', stale: 'true' });
  t.same(challenges(['SHA-256'], 'a.test', 'n', false).map((c) => [c.algorithm, c.stale]), [['SHA-256', undefined]]);
});

t.test('nonces are bound to the realm and expire as stale', async (t) => {
  const secret = Buffer.alloc(32, 7);
  const now = 1_800_000_000_000;
  const n = issueNonce(secret, 'a.test', now);
  t.equal(checkNonce(secret, n, 'a.test', now + 1000, 60_000), 'valid');
  t.equal(checkNonce(secret, n, 'b.test', now + 1000, 60_000), 'invalid', 'another realm');
  t.equal(checkNonce(Buffer.alloc(32, 8), n, 'a.test', now, 60_000), 'invalid', 'another secret');
  t.equal(checkNonce(secret, n, 'a.test', now + 61_000, 60_000), 'stale');
  t.equal(checkNonce(secret, n.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')), 'a.test', now, 60_000), 'invalid', 'tampered time');
  for (const junk of ['', 'x', `${'f'.repeat(40)}.${'A'.repeat(27)}`, '\u0000'.repeat(50)]) t.equal(checkNonce(secret, junk, 'a.test', now, 60_000), 'invalid');
});

t.test('nonces issued in one millisecond get distinct issue times, never more than 2 ms ahead', async (t) => {
  const secret = Buffer.alloc(32, 7);
  const now = 1_900_000_000_000;
  const times = Array.from({ length: 5 }, () => nonceIssuedAt(issueNonce(secret, 'a.test', now)));
  t.same(times.slice(0, 3), [now, now + 1, now + 2], 'so the replay rule does not take the second for an older one');
  t.same(times.slice(3), [now, now], 'a storm does not push them further ahead of the clock');
  t.ok(times.every((at) => checkNonce(secret, issueNonce(secret, 'a.test', at), 'a.test', now, 60_000) === 'valid'));
});

t.test('expiry comes from the contact, then the header, then the default, within limits', async (t) => {
  const limits = { min: 60, max: 3600, default: 1800 };
  t.same(contactExpiry('120', '999', limits), { ok: true, expires: 120 });
  t.same(contactExpiry(undefined, '999', limits), { ok: true, expires: 999 });
  t.same(contactExpiry(undefined, undefined, limits), { ok: true, expires: 1800 });
  t.same(contactExpiry('0', undefined, limits), { ok: true, expires: 0 });
  t.same(contactExpiry('30', undefined, limits), { ok: false, minExpires: 60 });
  t.same(contactExpiry('99999', undefined, limits), { ok: true, expires: 3600 });
  t.same(contactExpiry('-1', undefined, limits), { ok: false, invalid: true });
  t.same(contactExpiry(undefined, 'soon', limits), { ok: false, invalid: true });
});

t.test('bindings merge per RFC 3261 §10.3', async (t) => {
  const src = { transport: 'udp' as const, address: '10.0.0.1', port: 5060 };
  const update = { callId: 'c', cseq: 2, source: src, userAgent: 'ua', path: [], owner: { kind: 'extension', tenantId: 't1', extensionId: 'e1', deviceId: null } as const, now: 1000 };
  const old: Binding = { contact: 'sip:a@h1', callId: 'c', cseq: 1, expiresAt: 5000, registeredAt: 0, source: src, userAgent: 'ua', path: [], owner: { kind: 'extension', tenantId: 't1', extensionId: 'e1', deviceId: null } };
  const stale: Binding = { ...old, contact: 'sip:a@h0', expiresAt: 500 };
  const r = mergeBindings([old, stale], { ...update, contacts: [{ contact: 'sip:a@H1', expires: 10 }] }, 5);
  t.match(r, { kind: 'ok', added: [], removed: [{ reason: 'expired', binding: { contact: 'sip:a@h0' } }] });
  if (r.kind === 'ok') t.match(r.bindings, [{ contact: 'sip:a@H1', expiresAt: 11_000, registeredAt: 0, cseq: 2 }]);
  t.same(mergeBindings([old], { ...update, cseq: 1, contacts: [] }, 5).kind, 'ok', 'a query does not compare CSeq');
  t.same(mergeBindings([old], { ...update, cseq: 1, contacts: [{ contact: 'sip:a@h1', expires: 0 }] }, 5), { kind: 'out-of-order' });
  t.equal(normalizeContact('SIP:Alice@Example.COM;transport=TCP'), 'sip:Alice@example.com;transport=TCP');
});

t.test('clients that read only the last challenge get the preferred one last', async (t) => {
  t.same(challengeOrder(['MD5', 'SHA-256'], 'SIP.js/0.21.2'), ['SHA-256', 'MD5']);
  t.same(challengeOrder(['MD5', 'SHA-256'], 'Yealink SIP-T46G 28.72.0.1'), ['MD5', 'SHA-256']);
});
