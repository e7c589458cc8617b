import crypto from 'node:crypto';
import t from 'tap';
import { DigestAuth, REALM, digestSecret, parseDigest } from '../../daemon/provisioning/serve/digest';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');
const USER = 'prov0015654aa937';
const PASSWORD = 'Jq7tX9pLmN2vR4sW8kD3hF6c';
const URI = '/prov/0015654aa937.cfg';

function answer(nonce: string, o: { password?: string; user?: string; uri?: string; method?: string; qop?: boolean; realm?: string; nc?: string } = {}): string {
  const user = o.user ?? USER;
  const uri = o.uri ?? URI;
  const ha1 = md5(`${user}:${o.realm ?? REALM}:${o.password ?? PASSWORD}`);
  const ha2 = md5(`${o.method ?? 'GET'}:${uri}`);
  const nc = o.nc ?? '00000001';
  if (o.qop === false) return `Digest username="${user}", realm="${o.realm ?? REALM}", nonce="${nonce}", uri="${uri}", response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
  return `Digest username="${user}", realm="${o.realm ?? REALM}", nonce="${nonce}", uri="${uri}", qop=auth, nc=${nc}, cnonce="c0ffee", response="${md5(`${ha1}:${nonce}:${nc}:c0ffee:auth:${ha2}`)}"`;
}

function setup(start = Date.parse('2026-11-22T06:00:00Z')) {
  const clock = { now: start };
  const auth = new DigestAuth(Buffer.alloc(32, 7), () => clock.now);
  const secret = digestSecret(USER, PASSWORD);
  const verify = (header: string | undefined, o: { basic?: boolean; method?: string } = {}) =>
    auth.verify(header, o.method ?? 'GET', { basicAllowed: o.basic ?? false, secret: (u) => (u === USER ? secret : null) });
  const nonce = () => /nonce="([^"]+)"/.exec(auth.challenge({ basic: false })[0]!)![1]!;
  return { clock, auth, verify, nonce };
}

t.test('the device credentials pass, with and without qop, and again with the same nonce', async (t) => {
  const { verify, nonce } = setup();
  const n = nonce();
  t.equal(verify(answer(n)), USER);
  t.equal(verify(answer(n, { nc: '00000002' })), USER, 'the nonce, verified once, keeps working');
  t.equal(verify(answer(n, { qop: false })), USER);
  t.equal(verify(answer(n).replace(/response="([0-9a-f]+)"/, (_m, r: string) => `response="${r.toUpperCase()}"`)), USER, 'the response in capitals');
});

t.test('wrong credentials fail, however often the nonce was good before', async (t) => {
  const { verify, nonce } = setup();
  const n = nonce();
  t.equal(verify(answer(n)), USER);
  t.equal(verify(answer(n, { password: 'wrong' })), null, 'wrong password');
  t.equal(verify(answer(n, { user: 'prov0015654aa938' })), null, 'another username');
  t.equal(verify(answer(n, { uri: '/prov/other.cfg' }).replace('uri="/prov/other.cfg"', `uri="${URI}"`)), null, 'a response for another uri');
  t.equal(verify(answer(n), { method: 'PUT' }), null, 'a response for another method');
  t.equal(verify(answer(n, { realm: 'elsewhere' })), null, 'another realm');
  t.equal(verify(answer(n).replace('MD5', '').replace('qop=auth', 'qop=auth, algorithm=SHA-256')), null, 'an algorithm other than MD5');
});

t.test('the digest is checked against the HA1 of the secret, basic against its password', async (t) => {
  const { auth, nonce } = setup();
  const n = nonce();
  const stale = { password: PASSWORD, ha1: md5(`${USER}:${REALM}:an older password`) };
  t.equal(auth.verify(answer(n), 'GET', { basicAllowed: false, secret: () => stale }), null, 'an HA1 from another password fails');
  t.equal(auth.verify(answer(n, { password: 'an older password' }), 'GET', { basicAllowed: false, secret: () => stale }), USER);
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  t.equal(auth.verify(basic(USER, PASSWORD), 'GET', { basicAllowed: true, secret: () => stale }), USER);
  t.equal(auth.verify(basic(USER, 'an older password'), 'GET', { basicAllowed: true, secret: () => stale }), null);
  t.equal(auth.verify(basic(USER, PASSWORD), 'GET', { basicAllowed: false, secret: () => stale }), null, 'basic refused where not allowed');
  t.equal(auth.verify(`Basic ${Buffer.from('no colon').toString('base64')}`, 'GET', { basicAllowed: true, secret: () => stale }), null);
});

t.test('stale nonces fail, also ones verified while they were fresh', async (t) => {
  const { clock, verify, nonce } = setup();
  const n = nonce();
  t.equal(verify(answer(n)), USER);
  clock.now += 10 * 60_000 + 1;
  t.equal(verify(answer(n)), null, 'past ten minutes');
  clock.now -= 10 * 60_000 + 1;
  t.equal(verify(answer(n)), USER, 'the HMAC is still checked after a stale answer, and the nonce is as good as its time');
  const future = nonce();
  clock.now -= 1000;
  t.equal(verify(answer(future)), null, 'a nonce from the future');
});

t.test('forged and malformed nonces fail, and never enter the cache of verified ones', async (t) => {
  const { clock, verify, nonce } = setup();
  const genuine = nonce();
  t.equal(verify(answer(genuine)), USER);
  const [time] = genuine.split('.');
  const forgedSameTime = `${time}.${crypto.createHmac('sha256', Buffer.alloc(32, 8)).update(time!).digest('base64url')}`;
  t.equal(verify(answer(forgedSameTime)), null, 'the time of a genuine nonce with another key\'s HMAC');
  t.equal(verify(answer(forgedSameTime)), null, 'and again');
  const other = new DigestAuth(Buffer.alloc(32, 9), () => clock.now);
  const foreign = /nonce="([^"]+)"/.exec(other.challenge({ basic: false })[0]!)![1]!;
  t.equal(verify(answer(foreign)), null, 'a nonce from a daemon with another key');
  for (const bad of ['', '.', 'zz.zz', `${time}.`, `.${genuine.split('.')[1]}`, `${'f'.repeat(17)}.${genuine.split('.')[1]}`, `${time}.${genuine.split('.')[1]}.extra`, `-1.${genuine.split('.')[1]}`, '__proto__', 'constructor']) {
    t.equal(verify(answer(bad)), null, `nonce ${JSON.stringify(bad.slice(0, 30))}`);
  }
});

t.test('a flood of genuine nonces keeps the cache bounded and answers right', async (t) => {
  const { clock, verify, nonce } = setup();
  const first = nonce();
  t.equal(verify(answer(first)), USER);
  let passed = 0;
  for (let i = 0; i < 5000; i++) {
    clock.now += 1;
    if (verify(answer(nonce(), { password: 'wrong' })) !== null) passed++;
  }
  t.equal(passed, 0, 'none of the flood passes');
  t.equal(verify(answer(first)), USER, 'a nonce pushed out of the cache is verified again');
  t.equal(verify(answer(first, { password: 'wrong' })), null);
});

t.test('headers that are not digests prove nothing', async (t) => {
  const { verify, nonce } = setup();
  const n = nonce();
  const good = answer(n);
  for (const h of [undefined, '', 'Digest', 'Digest ', 'Bearer abc', 'Basic', 'Basic !!!', good.replace('username=', 'user='), good.replace(/response="[^"]+"/, 'response=""'),
    good.replace(/uri="[^"]+"/, ''), `${good}, ${'x'.repeat(2100)}="y"`, 'Digest username="\\', `Digest ${'a=b, '.repeat(1000)}`, good.replace(/nonce="[^"]+"/, 'nonce=""')]) {
    t.equal(verify(h), null, `${JSON.stringify((h ?? 'undefined').slice(0, 40))}`);
  }
});

t.test('quoted values are unescaped as RFC 7616 says', async (t) => {
  const { verify, nonce } = setup();
  const n = nonce();
  const escaped = answer(n).replace(`username="${USER}"`, `username="${USER.replace('prov', 'p\\r\\ov')}"`);
  t.equal(verify(escaped), USER, 'a backslash quotes the next character');
  t.equal(verify(answer(n).replace(`username="${USER}"`, `username="${USER}\\\\"`)), null, 'an escaped backslash stays one');
});

t.test('the Authorization header is read the same whatever its spelling, and odd ones are not misread', async (t) => {
  const cases: [string, Record<string, string> | null][] = [
    ['Digest username="a", realm="r", uri="/prov/x.cfg", qop=auth, nc=00000001', { username: 'a', realm: 'r', uri: '/prov/x.cfg', qop: 'auth', nc: '00000001' }],
    ['digest USERNAME = "a",\tNC=1,,,  cnonce=""', { username: 'a', nc: '1', cnonce: '' }],
    ['DIGEST\tusername="a"', { username: 'a' }],
    ['Digest username="a\\"b\\\\c", uri="x"', { username: 'a"b\\c', uri: 'x' }],
    ['Digest username="a, uri=b"', { username: 'a, uri=b' }],
    ['Digest username="unterminated, uri=x', { username: '"unterminated', uri: 'x' }],
    ['Digest a=b=c, d="e"f=g', { a: 'b=c', d: 'e', f: 'g' }],
    ['Digest junk; username="a"; x_y=1', { username: 'a', y: '1' }],
    ['Digest a=, b=1', { b: '1' }],
    ['Digest username="a"\r\n, uri="b"', { username: 'a', uri: 'b' }],
    ['Digest username=caf\u00e9, uri=b', { username: 'caf\u00e9', uri: 'b' }],
    ['Digest username=a\u00a0b, uri=c', { username: 'a', uri: 'c' }],
    ['Digest \t', {}],
    ['Digest ', null],
    ['Digest', null],
    ['Digestusername="a"', null],
    ['Basic YTpi', null],
    [`Digest username="${'a'.repeat(2100)}"`, null],
  ];
  for (const [header, expected] of cases) t.same(parseDigest(header), expected, JSON.stringify(header.slice(0, 60)));
});

t.test('verification reads the header as parseDigest does, the usual spelling or not', async (t) => {
  const { verify, nonce } = setup();
  const n = nonce();
  const good = answer(n);
  t.equal(verify(good.replace(/(\w+)=/g, (_m, k: string) => `${k.toUpperCase()}\t=\t`).replace(/^Digest/, 'DIGEST')), USER, 'keys in capitals, tabs around =');
  t.equal(verify(good.replace(`username="${USER}"`, `username="${USER.slice(0, 4)}\\${USER.slice(4)}"`)), USER, 'a needless escape in a quoted value');
  t.equal(verify(good.replace(/cnonce="c0ffee"/, 'cnonce=c0ffee')), USER, 'an unquoted value');
  t.equal(verify(good.replace('qop=auth', 'qop=auth; junk')), null, 'a qop spoiled by junk is read as written, and the response no longer matches');
  t.equal(verify(`${good}, username="someone-else"`), null, 'a repeated parameter: the last one counts');
});

t.test('a header that proved the expected secret proves it again only while nothing that mattered changed', async (t) => {
  const { clock, auth, nonce } = setup();
  const secret = digestSecret(USER, PASSWORD);
  const other = digestSecret(USER, 'another password of another device');
  const check = (header: string, o: { method?: string; expected?: typeof secret; secret?: typeof secret } = {}) =>
    auth.verify(header, o.method ?? 'GET', { basicAllowed: false, secret: (u) => (u === USER ? (o.secret ?? secret) : null), expected: o.expected ?? secret });
  const n = nonce();
  const good = answer(n);
  t.equal(check(good), USER);
  t.equal(check(good), USER, 'the same header again');
  t.equal(check(good, { method: 'HEAD' }), null, 'the same header for another method: the digest covers the method');
  t.equal(check(good, { expected: other, secret: other }), null, 'the same header against another device\'s secret');
  t.equal(check(answer(n, { password: 'wrong' })), null, 'another header with a wrong password, after a good one');
  t.equal(check(good), USER, 'the good one still proves it');
  clock.now += 11 * 60_000;
  t.equal(check(good), null, 'once its nonce is stale, the header that proved the secret before does not');
});
