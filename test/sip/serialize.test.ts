import t from 'tap';
import sip, { type Message } from 'sip';
import { stringify } from '../../daemon/sip/builtin/serialize';

const CRLF = '\r\n';
const request = [
  'REGISTER sip:a.test SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx;rport=5060;received=10.0.0.9', 'Via: SIP/2.0/tcp edge.test;branch=z9hG4bKy',
  'From: "Alice" <sip:201@a.test>;tag=1', 'To: Bob Jones <sip:201@a.test>', 'Call-ID: c1@h', 'CSeq: 2 REGISTER', 'Contact: <sip:201@10.0.0.1:5060>;expires=60, <sip:201@10.0.0.2>',
  'Route: <sip:edge.test;lr>', 'Record-Route: <sip:rr.test;lr>', 'Path: <sip:p.test;lr>', 'Max-Forwards: 70', 'User-Agent: Yealink SIP-T46S', 'X-odd_name.v2: 1',
  'Authorization: Digest username="201", realm="a.test", nonce="n", uri="sip:a.test", response="r", qop=auth, nc=00000001, cnonce="c"',
  'Proxy-Authorization: Digest username="201", realm="b.test", nonce="n", uri="sip:a.test", response="r"', 'Refer-To: <sip:x@a.test>', 'Content-Length: 4',
].join(CRLF) + CRLF + CRLF + 'body';

const copy = (m: Message): Message => structuredClone(m);

t.test('writes messages byte for byte as the sip package does', async (t) => {
  const parsed = sip.parse(request)!;
  const messages: [string, Message][] = [
    ['a parsed request with every kind of header', parsed],
    ['a challenge', {
      status: 401, reason: 'Unauthorized', version: '2.0',
      headers: { via: parsed.headers.via, to: { ...parsed.headers.to!, params: { tag: 'abc' } }, from: parsed.headers.from, 'call-id': 'c1@h', cseq: parsed.headers.cseq,
        'www-authenticate': [{ scheme: 'Digest', realm: '"a.test"', nonce: '"n"', algorithm: 'MD5', qop: '"auth"' }, { scheme: 'Digest', realm: '"a.test"', nonce: '"n"', algorithm: 'SHA-256', qop: '"auth"', stale: 'true' }] },
      content: '',
    }],
    ['a 200 with contacts, a date and a warning', {
      status: 200, reason: 'OK',
      headers: { via: parsed.headers.via, to: parsed.headers.to, contact: [{ uri: 'sip:201@10.0.0.1:5060', params: { expires: '60' } }], date: 'Sun, 22 Nov 2026 08:00:00 GMT', warning: '399 dialtone "x"', 'min-expires': '60', 'subscription-state': 'active', expires: '60', allow: 'REGISTER', accept: 'application/sdp', supported: 'path', server: 's', require: 'r', unsupported: 'u', 'retry-after': '5', 'proxy-authenticate': [{ scheme: 'Digest', realm: '"r"' }], 'authentication-info': { qop: 'auth', rspauth: '"x"' }, path: [], route: [] },
    }],
    ['Contact: * and headers given as text', { status: 200, reason: 'OK', headers: { contact: '*', via: [{ protocol: 'udp', host: '', params: {} }, { protocol: 'udp', host: 'h', port: 0, params: { rport: null, branch: 'z9hG4bK1' } }], 'content-type': 'application/sdp', cseq: { seq: 1, method: 'INVITE' } }, content: 'v=0\r\n' }],
    ['a request to a parsed URI', { method: 'NOTIFY', uri: sip.parseUri('sip:u:pw@h.test:5070;transport=tcp?Subject=x&Priority=urgent') as unknown as string, headers: { event: 'check-sync', 'max-forwards': '70', 'x-unknown-header': 5 } }],
  ];
  for (const [name, m] of messages) t.equal(stringify(copy(m)), sip.stringify(copy(m)), name);
});
