import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import t, { type Test } from 'tap';
import { FrontDoor } from '../../daemon/http/front-door';
import { type LaneAnswer, laneHead } from '../../daemon/http/raw-lane';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const text = (status: number, body: string, extra: Record<string, string> = {}): LaneAnswer => {
  const b = Buffer.from(body, 'latin1');
  return { head: laneHead(status, { ...extra, 'content-type': 'text/plain', 'content-length': b.length }), body: b };
};

/** A node:http server whose /prov/ GETs and HEADs go through a raw lane; whatever node:http gets is answered as `node <method> <url> <body length>`. */
async function laneServer(t: Test) {
  const calls: string[] = [];
  const door = new FrontDoor();
  const server = http.createServer(door.listener((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      const body = `node ${req.method} ${req.url} ${size}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }));
  door.laneFor(server, 'connection');
  door.add('/prov/', (req, res) => res.end(`node handler ${req.url}`), (req) => {
    calls.push(req.target);
    const [, , kind, n] = req.target.split('/');
    if (kind === 'slow') return new Promise((resolve) => setTimeout(() => resolve(text(200, `slow ${n}`)), Number(n) % 7));
    if (kind === 'big') return text(200, 'z'.repeat(64 * 1024));
    if (kind === 'stream') return { head: laneHead(200, { 'content-length': 6 }), body: null, stream: () => Readable.from([Buffer.from('str'), Buffer.from('eam')]) };
    if (kind === 'throw') throw new Error('handler failure');
    return text(200, `lane ${req.method} ${req.target} ${req.userAgent ?? '-'}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, calls, port: (server.address() as net.AddressInfo).port };
}

/** Splits what came back into answers; `heads` are the positions of answers to HEAD, which have no body. */
function replies(raw: string, heads: number[] = []): Reply[] {
  const out: Reply[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const [line, ...fields] = raw.slice(at, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const f of fields) headers[f.slice(0, f.indexOf(':')).toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
    const chunked = headers['transfer-encoding'] === 'chunked';
    // node:http's own refusals end with an empty chunked body at most.
    const length = heads.includes(out.length) ? 0 : chunked ? raw.indexOf('0\r\n\r\n', end + 4) + 5 - (end + 4) : Number(headers['content-length'] ?? 0);
    out.push({ status: Number(line!.split(' ')[1]), headers, body: chunked ? '' : raw.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/** Writes `input` (in pieces when given several), half-closes when asked, and collects everything until the server closes. */
function exchange(port: number, input: string | string[], o: { halfClose?: boolean; gapMs?: number; heads?: number[] } = {}): Promise<{ raw: string; replies: Reply[] }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let raw = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (raw += d));
    s.on('error', reject);
    s.on('close', () => resolve({ raw, replies: replies(raw, o.heads) }));
    void (async () => {
      for (const piece of Array.isArray(input) ? input : [input]) {
        s.write(Buffer.from(piece, 'latin1'));
        if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
      }
      if (o.halfClose) s.end();
    })();
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const CLOSE = 'Connection: close\r\n';

t.test('plain requests are answered on the lane, in order, with node:http\'s connection fields', async (t) => {
  const { port, calls } = await laneServer(t);
  const { replies: r } = await exchange(port, [get('/prov/a', 'User-Agent: Phone/1\r\n'), `HEAD /prov/b HTTP/1.1\r\nHost: x\r\n\r\n${get('/prov/c', CLOSE)}`], { gapMs: 20, heads: [1] });
  t.same(r.map((x) => [x.status, x.body]), [[200, 'lane GET /prov/a Phone/1'], [200, ''], [200, 'lane GET /prov/c -']]);
  t.same(calls, ['/prov/a', '/prov/b', '/prov/c']);
  t.match(r[0]!.headers, { connection: 'keep-alive', 'keep-alive': /^timeout=\d+$/, date: /GMT$/, 'content-type': 'text/plain' });
  t.equal(r[1]!.headers['content-length'], String('lane HEAD /prov/b -'.length), 'HEAD keeps the length of the body it does not get');
  t.equal(r[2]!.headers.connection, 'close', 'Connection: close is honoured, and the server closed');
});

t.test('thousands of pipelined requests, sync and async, come back in order; a client that does not read is not buffered without bound', async (t) => {
  const { port, calls } = await laneServer(t);
  const paths = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `/prov/slow/${i}` : `/prov/fast/${i}`));
  const { replies: r } = await exchange(port, paths.map((p, i) => get(p, i === paths.length - 1 ? CLOSE : '')).join(''));
  t.equal(r.length, paths.length);
  t.ok(r.every((x, i) => x.body === (i % 3 === 0 ? `slow ${i}` : `lane GET /prov/fast/${i} -`)), 'each answer is that of its request');
  t.equal(calls.length, paths.length);

  const s = net.connect(port, '127.0.0.1');
  t.teardown(() => s.destroy());
  await new Promise((r) => s.once('connect', r));
  s.pause();
  s.write(get('/prov/big/x').repeat(2000));
  let seen = -1;
  while (seen !== calls.length) {
    seen = calls.length;
    await new Promise((r) => setTimeout(r, 300));
  }
  t.ok(calls.length - paths.length < 2000, `answering stops while the client reads nothing (${calls.length - paths.length} of 2000 answered)`);
  let got = 0;
  s.on('data', (d: Buffer) => (got += d.length));
  s.resume();
  while (calls.length - paths.length < 2000) await new Promise((r) => setTimeout(r, 50));
  t.pass('and goes on once it reads');
  t.ok(got > 0);
});

t.test('a request the lane does not fully understand, and all after it, go to node:http at its first byte', async (t) => {
  const { port, calls } = await laneServer(t);
  const post = 'POST /prov/a.log HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello';
  const { replies: r } = await exchange(port, get('/prov/slow/1') + get('/prov/one') + post + get('/prov/two', CLOSE));
  t.same(r.map((x) => x.body), ['slow 1', 'lane GET /prov/one -', 'node handler /prov/a.log', 'node handler /prov/two'], 'answers stay in order across the hand-over');
  t.same(calls, ['/prov/slow/1', '/prov/one']);

  const other = await exchange(port, get('/healthz', CLOSE));
  t.same(other.replies.map((x) => x.body), ['node GET /healthz 0']);
  const split = await exchange(port, ['GET /prov/piece', 'wise HTTP/1.1\r\n', 'Host: x\r\n', CLOSE, '\r\n'], { gapMs: 20 });
  t.same(split.replies.map((x) => x.body), ['lane GET /prov/piecewise -'], 'a head in a few pieces is still the lane\'s');
  const trickled = await exchange(port, [...'GET /prov/trickle HTTP/1.1\r\nHost: x\r\n'].concat([CLOSE, '\r\n']), { gapMs: 5 });
  t.same(trickled.replies.map((x) => x.body), ['node handler /prov/trickle'], 'a head trickled byte by byte goes to node:http\'s incremental parser');
});

t.test('smuggling attempts and malformed heads get node:http\'s answers, never the lane\'s', async (t) => {
  const { port, calls } = await laneServer(t);
  const smuggled = get('/prov/inner');
  const cases: [string, string, number][] = [
    ['TE and CL', `GET /prov/a HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length + 5}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`, 400],
    ['two lengths', `GET /prov/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`, 400],
    ['NUL in a field', 'GET /prov/a HTTP/1.1\r\nHost: x\r\nUser-Agent: a\0b\r\n\r\n', 400],
    ['bare LF', 'GET /prov/a HTTP/1.1\nHost: x\nX: y\r\n\r\n', 400],
    ['obs-fold', 'GET /prov/a HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\n b\r\n\r\n', 400],
    ['no Host', 'GET /prov/a HTTP/1.1\r\nUser-Agent: a\r\n\r\n', 400],
    ['a huge head', `GET /prov/a HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(40_000)}\r\n\r\n`, 431],
  ];
  for (const [what, input, status] of cases) {
    const { replies: r } = await exchange(port, input);
    t.same(r.map((x) => x.status), [status], what);
  }
  const withBody = await exchange(port, `GET /prov/a HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}${get('/prov/b', CLOSE)}`);
  t.same(withBody.replies.map((x) => x.body), ['node handler /prov/a', 'node handler /prov/b'], 'a GET with a body: the body is a body, not a request');
  t.same(calls, [], 'the lane answered none of them');
});

t.test('half-closed clients get every answer they asked for, then the end', async (t) => {
  const { port } = await laneServer(t);
  const full = await exchange(port, get('/prov/a') + get('/prov/slow/2') + get('/prov/c'), { halfClose: true });
  t.same(full.replies.map((x) => x.body), ['lane GET /prov/a -', 'slow 2', 'lane GET /prov/c -']);
  const partial = await exchange(port, `${get('/prov/a')}GET /prov/b HTTP/1.1\r\nHo`, { halfClose: true });
  t.same(partial.replies.map((x) => x.status), [200, 400], 'half a head is a bad request');
  const handed = await exchange(port, `${get('/prov/a')}POST /prov/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`, { halfClose: true });
  t.same(handed.replies.map((x) => x.body), ['lane GET /prov/a -', 'node handler /prov/x'], 'node:http answers what it was handed and closes');
});

t.test('slow and idle clients are cut off, as node:http cuts them', async (t) => {
  const { server, port } = await laneServer(t);
  server.headersTimeout = 1000;
  server.keepAliveTimeout = 1000;
  const slow = await exchange(port, 'GET /prov/a HTTP/1.1\r\nHost: x\r\n');
  t.match(slow.raw, /^HTTP\/1\.1 408 /, 'a head never finished gets 408, then the connection closes');
  const idle = await exchange(port, get('/prov/a'));
  t.same(idle.replies.map((x) => x.status), [200], 'an idle keep-alive connection is closed after its answer');
});

t.test('streamed bodies, failing handlers, and server.close()', async (t) => {
  const { server, port } = await laneServer(t);
  const streamed = await exchange(port, get('/prov/stream') + get('/prov/after', CLOSE));
  t.same(streamed.replies.map((x) => x.body), ['stream', 'lane GET /prov/after -']);
  const failed = await exchange(port, get('/prov/throw'));
  t.equal(failed.raw, '', 'a handler that throws gets its connection cut, with nothing half-written');

  const idle = net.connect(port, '127.0.0.1');
  let got = '';
  idle.on('data', (d) => (got += d));
  const closedByServer = new Promise((r) => idle.on('close', r));
  idle.write(get('/prov/a'));
  while (!got.includes('lane GET')) await new Promise((r) => setTimeout(r, 10));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await closedByServer;
  t.pass('server.close() finishes though a keep-alive client sat idle on the lane');
});

t.test('a head kept with a cached answer holds its own bytes, not a block of the shared pool', async (t) => {
  const kept = laneHead(200, { 'content-type': 'text/plain', 'content-length': 3 }, true);
  t.equal(kept.toString('latin1'), 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n');
  t.equal(kept.buffer.byteLength, kept.length, 'memory of exactly its size');
  const passing = laneHead(401, { 'content-length': 0 });
  t.equal(passing.toString('latin1'), 'HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n', 'the same form for an answer sent once');
});
