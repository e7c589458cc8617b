import t from 'tap';
import { HAND_OVER, INCOMPLETE, MAX_HEAD, parseRequestHead } from '../../daemon/http/request-head';

const PREFIXES = ['/prov/'];
const parse = (text: string, from = 0) => parseRequestHead(text, from, PREFIXES);
const GET = 'GET /prov/a.cfg HTTP/1.1\r\nHost: x\r\n';

t.test('a plain GET or HEAD under a prefix is parsed, with the fields an answer depends on', async (t) => {
  const text = 'GET /prov/001565000001.cfg?x=%zz HTTP/1.1\r\nhost: 127.0.0.1\r\nAUTHORIZATION:   Digest username="a", uri="/prov/x"  \r\nUser-Agent: Yealink SIP-T46S 66.86.0.15 00:15:65:00:00:01\r\n'
    + 'If-None-Match: "abc", W/"def"\r\nif-modified-since: Sat, 21 Nov 2026 10:00:00 GMT\r\nAccept: */*\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n';
  t.same(parse(text), {
    method: 'GET', target: '/prov/001565000001.cfg?x=%zz', authorization: 'Digest username="a", uri="/prov/x"', userAgent: 'Yealink SIP-T46S 66.86.0.15 00:15:65:00:00:01',
    ifNoneMatch: '"abc", W/"def"', ifModifiedSince: 'Sat, 21 Nov 2026 10:00:00 GMT', close: false, length: text.length,
  });
  t.match(parse('HEAD /prov/a HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n'), { method: 'HEAD', close: true, authorization: undefined });
  const two = `${GET}\r\nGET /prov/b.cfg HTTP/1.1\r\nHost: y\r\n\r\n`;
  const first = parse(two);
  t.ok(first !== INCOMPLETE && first !== HAND_OVER);
  t.match(parse(two, (first as { length: number }).length), { target: '/prov/b.cfg' }, 'the next pipelined request is parsed from where the first ends');
});

t.test('a head still arriving is incomplete only while it can still become one of ours', async (t) => {
  for (const partial of ['', 'G', 'GE', 'GET', 'GET /pr', 'HEAD /prov/', GET, `${GET}\r`, 'GET /prov/a HTTP/1.1\r\nHost: x\r\nUser-Agent: long']) {
    t.equal(parse(partial), INCOMPLETE, JSON.stringify(partial));
  }
  for (const partial of ['P', 'POST /prov/', 'GET /api/', 'GET  /prov/', 'get /prov/', 'OPTIONS * HTTP/1.1\r\n', 'GET /prov/a HTTP/1.1\nHost: x', 'GET /prov/a\0', `GET /prov/${'a'.repeat(MAX_HEAD)}`]) {
    t.equal(parse(partial), HAND_OVER, `${JSON.stringify(partial.slice(0, 40))} goes to node:http at once`);
  }
});

t.test('anything outside the strict grammar is handed to node:http', async (t) => {
  const cases: Record<string, string> = {
    'another path': 'GET /api/v1/devices HTTP/1.1\r\nHost: x\r\n\r\n',
    'a prefix without its slash': 'GET /prov HTTP/1.1\r\nHost: x\r\n\r\n',
    'absolute form': 'GET http://x/prov/a HTTP/1.1\r\nHost: x\r\n\r\n',
    'a write': 'PUT /prov/a.log HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc',
    'OPTIONS': 'OPTIONS /prov/a HTTP/1.1\r\nHost: x\r\n\r\n',
    'a lowercase method': 'get /prov/a HTTP/1.1\r\nHost: x\r\n\r\n',
    'HTTP/1.0': 'GET /prov/a HTTP/1.0\r\nHost: x\r\n\r\n',
    'no version': 'GET /prov/a\r\nHost: x\r\n\r\n',
    'two spaces in the request line': 'GET  /prov/a HTTP/1.1\r\nHost: x\r\n\r\n',
    'a space in the target': 'GET /prov/a b HTTP/1.1\r\nHost: x\r\n\r\n',
    'no Host': 'GET /prov/a HTTP/1.1\r\nUser-Agent: x\r\n\r\n',
    'two Hosts': `${GET}Host: y\r\n\r\n`,
    'a body length': `${GET}Content-Length: 5\r\n\r\nhello`,
    'two zero lengths': `${GET}Content-Length: 0\r\nContent-Length: 0\r\n\r\n`,
    'a signed length': `${GET}Content-Length: +0\r\n\r\n`,
    'chunked': `${GET}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    'TE and CL together': `${GET}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n`,
    'Expect': `${GET}Expect: 100-continue\r\n\r\n`,
    'Upgrade': `${GET}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    'a Connection list': `${GET}Connection: keep-alive, TE\r\n\r\n`,
    'two Connection fields': `${GET}Connection: keep-alive\r\nConnection: close\r\n\r\n`,
    'obs-fold': `${GET}User-Agent: a\r\n  folded\r\n\r\n`,
    'a tab-led line': `${GET}\tUser-Agent: a\r\n\r\n`,
    'a space before the colon': `${GET}User-Agent : a\r\n\r\n`,
    'no colon': `${GET}User-Agent\r\n\r\n`,
    'an empty name': `${GET}: a\r\n\r\n`,
    'a name with a slash': `${GET}User/Agent: a\r\n\r\n`,
    'bare LF line ends': 'GET /prov/a HTTP/1.1\nHost: x\n\n\r\n\r\n',
    'a bare LF inside': `${GET}User-Agent: a\nb\r\n\r\n`,
    'a bare CR inside': `${GET}User-Agent: a\rb\r\n\r\n`,
    'NUL': `${GET}User-Agent: a\0b\r\n\r\n`,
    'a control byte': `${GET}User-Agent: a\x1bb\r\n\r\n`,
    'DEL': `${GET}User-Agent: a\x7fb\r\n\r\n`,
    'obs-text': `${GET}User-Agent: caf\xe9\r\n\r\n`,
    'a control byte in the target': 'GET /prov/a\x01 HTTP/1.1\r\nHost: x\r\n\r\n',
    'two Authorization fields': `${GET}Authorization: a\r\nAuthorization: b\r\n\r\n`,
    'two User-Agent fields': `${GET}User-Agent: a\r\nUser-Agent: b\r\n\r\n`,
    'two If-None-Match fields': `${GET}If-None-Match: "a"\r\nIf-None-Match: "b"\r\n\r\n`,
    'two If-Modified-Since fields': `${GET}If-Modified-Since: a\r\nIf-Modified-Since: b\r\n\r\n`,
    'too many fields': `${GET}${'X-A: 1\r\n'.repeat(100)}\r\n`,
    'an oversize head': `${GET}X-A: ${'a'.repeat(MAX_HEAD)}\r\n\r\n`,
  };
  for (const [what, text] of Object.entries(cases)) t.equal(parse(text), HAND_OVER, what);
});

t.test('field names are matched in any case, and names that only look alike are other fields', async (t) => {
  t.equal(parse(`${GET}hOsT: y\r\n\r\n`), HAND_OVER, 'a second Host in another case');
  t.equal(parse(`${GET}TRANSFER-ENCODING: chunked\r\n\r\n0\r\n\r\n`), HAND_OVER);
  t.match(parse(`${GET}aUtHoRiZaTiOn: Digest a=1\r\nuSeR-aGeNt: phone\r\n\r\n`), { authorization: 'Digest a=1', userAgent: 'phone' });
  const alike = `${GET}Hosts: y\r\nX-Host: y\r\nHos: y\r\nAuthorizatiom: no\r\nUser_Agent: no\r\nUser-Agent2: no\r\nContent-Lengths: 5\r\nUpgrades: x\r\n\r\n`;
  t.match(parse(alike), { authorization: undefined, userAgent: undefined, close: false }, 'none of them is read as the field it resembles');
});
