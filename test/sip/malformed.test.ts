import crypto from 'node:crypto';
import t from 'tap';
import WebSocket from 'ws';
import sip from 'sip';
import { RawPeer } from '../helpers/sip-client';
import { sipFixture } from '../helpers/sip';

const CRLF = '\r\n';
function request(o: { via?: boolean; headers?: string[]; omit?: string[]; cseq?: string; body?: string; contentLength?: string; end?: boolean; port?: number; transport?: string } = {}): string {
  const lines = [
    'REGISTER sip:a.test SIP/2.0',
    ...(o.via === false ? [] : [`Via: SIP/2.0/${o.transport ?? 'UDP'} 127.0.0.1:${o.port ?? 9};branch=z9hG4bK${crypto.randomBytes(5).toString('hex')};rport`]),
    'From: <sip:201@a.test>;tag=1', 'To: <sip:201@a.test>', 'Call-ID: junk-1', `CSeq: ${o.cseq ?? '1 REGISTER'}`, 'Max-Forwards: 70',
    ...(o.headers ?? []),
    `Content-Length: ${o.contentLength ?? String((o.body ?? '').length)}`,
  ].filter((l) => !(o.omit ?? []).some((h) => l.toLowerCase().startsWith(`${h.toLowerCase()}:`)));
  return lines.join(CRLF) + (o.end === false ? '' : CRLF + CRLF + (o.body ?? ''));
}

const options = (port: number, transport = 'UDP') => request({ port, transport }).replace(/REGISTER/g, 'OPTIONS');

t.test('malformed SIP never crashes the daemon and gets 400 where SIP says so', async (t) => {
  const f = await sipFixture(t);
  const udp = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => udp.close());
  const port = udp.localPort;
  const answered: [string, string, number | null][] = [
    ['truncated before the end of the headers', request({ port, end: false }), 400],
    ['a Content-Length longer than the body', request({ port, contentLength: '500', body: 'abc' }), 400],
    ['a Content-Length that is not a number', request({ port, contentLength: 'abc' }), 400],
    ['no Call-ID', request({ port, omit: ['Call-ID'] }), 400],
    ['a Call-ID with a space in it', request({ port }).replace('Call-ID: junk-1', 'Call-ID: junk 1'), 400],
    ['a Call-ID with a bare line feed in it', request({ port }).replace('Call-ID: junk-1', 'Call-ID: junk\n1'), 400],
    ['a Call-ID with a control character in it', request({ port }).replace('Call-ID: junk-1', 'Call-ID: junk\u00011'), 400],
    ['no CSeq', request({ port, omit: ['CSeq'] }), 400],
    ['a CSeq naming another method', request({ port, cseq: '1 INVITE' }), 400],
    ['a CSeq that is not a number', request({ port, cseq: 'x REGISTER' }), 400],
    ['huge headers', request({ port, headers: [`X-Junk: ${'a'.repeat(20_000)}`] }), 513],
    ['a bad Contact', request({ port, headers: ['Contact: <>'] }), 400],
    ['a broken Authorization', request({ port, headers: ['Authorization: Digest ,,,=,="', 'Contact: <sip:a@b>'] }), 401],
    ['an Authorization with no scheme', request({ port, headers: ['Authorization: '] }), 401],
    ['a bad Request-URI', request({ port }).replace('sip:a.test', 'http://a.test'), 400],
    ['a REGISTER to a tel: URI', request({ port }).replace('REGISTER sip:a.test', 'REGISTER tel:+15550100'), 416],
    ['an unsupported method', request({ port, cseq: '1 PUBLISH' }).replace(/^REGISTER/, 'PUBLISH'), 405],
    ['an INVITE from a caller that has not authenticated', request({ port, cseq: '1 INVITE' }).replace(/^REGISTER/, 'INVITE'), 407],
    ['a negative CSeq', request({ port, cseq: '-1 REGISTER' }), 400],
    ['a CSeq with junk after its number', request({ port, cseq: '1x REGISTER' }), 400],
  ];
  for (const [name, text, status] of answered) {
    const r = await udp.request(text);
    t.equal(r.status, status, name);
  }
  const silent: [string, Buffer | string][] = [
    ['no Via', request({ via: false })],
    ['binary junk', crypto.randomBytes(700)],
    ['NUL bytes', Buffer.alloc(300)],
    ['only line breaks', '\r\n\r\n\r\n'],
    ['a header line without a colon', `${request({ port }).slice(0, -4)}${CRLF}nonsense${CRLF}${CRLF}`],
    ['a stray response', `SIP/2.0 200 OK${CRLF}Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnope${CRLF}From: <sip:a@b>;tag=1${CRLF}To: <sip:a@b>${CRLF}Call-ID: x${CRLF}CSeq: 1 NOTIFY${CRLF}Content-Length: 0${CRLF}${CRLF}`],
    ['a stray ACK', request({ port, cseq: '1 ACK' }).replace(/^REGISTER/, 'ACK')],
  ];
  for (const [, junk] of silent) udp.send(junk);
  const alive = await udp.request(options(port));
  t.equal(alive.status, 200, 'after the unanswerable ones, the daemon still answers');

  t.test('over TCP, a stream that cannot be framed is answered if possible and closed', async (t) => {
    const tcp = await RawPeer.tcp(f.ports.tcp!);
    t.teardown(() => tcp.close());
    const r = await tcp.request(request({ port: tcp.localPort, transport: 'TCP', contentLength: 'abc' }));
    t.equal(r.status, 400);
    const tcp2 = await RawPeer.tcp(f.ports.tcp!);
    t.teardown(() => tcp2.close());
    tcp2.send(`REGISTER sip:a.test SIP/2.0${CRLF}X: ${'b'.repeat(40_000)}`);
    await tcp2.closed;
    t.pass('a header block past the limit closes the connection');
    const tcp3 = await RawPeer.tcp(f.ports.tcp!);
    t.teardown(() => tcp3.close());
    tcp3.send(crypto.randomBytes(5000));
    tcp3.send(options(tcp3.localPort, 'TCP'));
    await tcp3.closed;
    t.pass('junk that frames as a message closes the connection');
    const fresh = await RawPeer.tcp(f.ports.tcp!);
    t.teardown(() => fresh.close());
    t.equal((await fresh.request(options(fresh.localPort, 'TCP'))).status, 200);
  });

  t.test('over WebSocket, junk frames are dropped and the connection keeps working', async (t) => {
    const ws = new WebSocket(`ws://127.0.0.1:${f.ports.ws}`, 'sip');
    t.teardown(() => ws.terminate());
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const replies: string[] = [];
    ws.on('message', (d) => replies.push(d.toString()));
    ws.send(crypto.randomBytes(400));
    ws.send('INVITE nothing');
    ws.send(request({ transport: 'WS', contentLength: '99' }));
    ws.send(options(0, 'WS'));
    while (replies.length < 2) await new Promise((r) => setTimeout(r, 20));
    t.same(replies.map((r) => sip.parse(r)?.status), [400, 200]);
  });
});
