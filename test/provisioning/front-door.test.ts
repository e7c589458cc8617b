import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { startTestApp } from '../helpers/app';
import { deviceByMac } from '../../daemon/provisioning';
import type { Mac } from '../../daemon/provisioning/mac';
import { digestAnswer } from './clients';
import { fleet } from './fleet';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, target: string, o: { headers?: Record<string, string>; body?: string; agent?: http.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Node's client sends no length for OPTIONS or DELETE bodies unless told.
    const length: Record<string, string> = o.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(o.body)) };
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: { ...length, ...o.headers }, agent: o.agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

t.test('the front door answers /prov/ itself, as fastify would, and leaves the rest to fastify', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = ta.app.httpAddress().port;

  const common = await request(port, 'GET', '/prov/y000000000066.cfg');
  t.equal(common.status, 200);
  t.match(common.headers, { 'cache-control': 'no-cache', 'content-type': /^text\/plain/, etag: /^"/ });
  const injected = await ta.call('GET', '/prov/y000000000066.cfg');
  t.equal(injected.raw, common.body, "fastify's route gives the same file");
  t.same([injected.headers.etag, injected.headers['cache-control'], injected.headers['content-type']], [common.headers.etag, 'no-cache', common.headers['content-type']]);

  const head = await request(port, 'HEAD', '/prov/y000000000066.cfg');
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD has no body');
  t.equal(Number(head.headers['content-length']), Buffer.byteLength(common.body, 'latin1'), 'and the length of the GET body');
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg', { headers: { 'if-none-match': `W/${common.headers.etag}` } })).status, 304, 'a weak If-None-Match');
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg', { headers: { 'if-modified-since': 'yesterday-ish' } })).status, 200, 'an unreadable date is no match');
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg?x=1&%zz')).status, 200, 'the query string is ignored, whatever it holds');

  const bad = await request(port, 'GET', '/prov/%E0%A4%A.cfg');
  t.equal(bad.status, 400, 'bad percent-encoding');
  t.equal(bad.body, 'bad request\n');
  for (const method of ['OPTIONS', 'PUT', 'DELETE', 'PATCH', 'POST']) {
    const r = await request(port, method, '/prov/0004f2a1b2c3-app.log', { body: 'x'.repeat(10_000), headers: { 'content-type': 'application/x-whatever' } });
    t.equal(r.status, 405, `${method} is refused`);
    t.equal(r.headers.allow, 'GET, HEAD');
  }
  const unknown = await request(port, 'GET', '/prov/nothing-like-a-phone-file.txt');
  t.equal(unknown.status, 404);
  t.equal(unknown.headers['content-type'], 'text/plain; charset=utf-8');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const upload = await request(port, 'PUT', '/prov/0004f2a1b2c3-app.log', { agent, body: 'log line\n'.repeat(5000), headers: { 'content-type': 'text/plain' } });
  t.equal(upload.status, 405);
  const after = await request(port, 'GET', '/prov/y000000000066.cfg', { agent });
  t.equal(after.status, 200, 'the connection that sent a refused body still serves the next request');
  t.equal(after.body, common.body);
  await request(port, 'PUT', '/prov/0004f2a1b2c3-app.log', { body: 'z'.repeat(3 * 1024 * 1024) }).catch(() => null);
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg')).status, 200, 'a body past the limit (its connection closed) harms nothing else');

  for (const o of [{}, { payload: 'log line\n', headers: { 'content-type': 'text/plain' } }, { body: { a: 1 } }]) {
    const viaFastify = await ta.call('PUT', '/prov/0004f2a1b2c3-app.log', o);
    t.equal(viaFastify.status, 405, `through fastify's route too (${Object.keys(o).join() || 'no body'})`);
    t.equal(viaFastify.headers.allow, 'GET, HEAD');
  }

  t.equal((await request(port, 'GET', '/healthz')).status, 200, 'the rest goes to fastify');
  for (const target of ['/prov', '/provisioning/y000000000066.cfg', '/PROV/y000000000066.cfg', '//prov/y000000000066.cfg']) {
    const r = await request(port, 'GET', target);
    t.equal(r.status, 404, `${target}: fastify's 404`);
    t.match(JSON.parse(r.body), { error: 'not_found' });
  }
});

t.test('firmware is streamed with its own validators, never from outside its folder', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = ta.app.httpAddress().port;
  const dir = ta.app.runtime.config.firmwareDir;
  fs.mkdirSync(dir, { recursive: true });
  const image = Buffer.alloc(300_000);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7) & 255;
  fs.writeFileSync(path.join(dir, 'T46S-66.85.0.5.rom'), image);
  fs.writeFileSync(path.join(ta.dataDir, 'outside.txt'), 'not for phones');
  fs.symlinkSync(path.join(ta.dataDir, 'outside.txt'), path.join(dir, 'escape.rom'));

  const got = await request(port, 'GET', '/prov/firmware/T46S-66.85.0.5.rom');
  t.equal(got.status, 200);
  t.ok(Buffer.from(got.body, 'latin1').equals(image), 'every byte');
  t.match(got.headers, { 'content-type': 'application/octet-stream', 'content-length': String(image.length), 'cache-control': 'no-cache', etag: /^"[0-9a-f]+-[0-9a-f]+"$/ });
  t.equal((await request(port, 'GET', '/prov/firmware/T46S-66.85.0.5.rom', { headers: { 'if-none-match': got.headers.etag! } })).status, 304);
  t.equal((await request(port, 'GET', '/prov/firmware/T46S-66.85.0.5.rom', { headers: { 'if-modified-since': got.headers['last-modified']! } })).status, 304);
  const head = await request(port, 'HEAD', '/prov/firmware/T46S-66.85.0.5.rom');
  t.equal(head.body, '');
  t.equal(head.headers['content-length'], String(image.length));
  const escape = await request(port, 'GET', '/prov/firmware/escape.rom');
  t.equal(escape.status, 404, 'a link out of the folder');
  t.notMatch(escape.body, 'not for phones');
  t.equal((await request(port, 'GET', '/prov/firmware/%2e%2e/outside.txt')).status, 403, 'an encoded climb out of it');
});

t.test('a failure inside answers 500 and the daemon goes on serving', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = ta.app.httpAddress().port;
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg')).status, 200);
  await ta.app.runtime.db.knex.destroy();
  const failed = await request(port, 'GET', '/prov/001565000042.cfg');
  t.equal(failed.status, 500, 'a new MAC needs the database, which is gone');
  t.equal(failed.body, 'internal error; see the daemon log\n');
  t.equal((await request(port, 'GET', '/prov/y000000000066.cfg')).status, 200, 'a cached file is still served');
});

/** One request on its own connection, everything the server sent back as latin1. */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from(head, 'latin1')));
    let raw = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (raw += d));
    s.on('error', reject);
    s.on('close', () => resolve(raw));
  });
}

t.test('the raw lane and node:http answer every kind of provisioning request with the same bytes', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = ta.app.httpAddress().port;
  let viaNode = 0;
  ta.app.http.server.on('request', () => viaNode++);
  const dir = ta.app.runtime.config.firmwareDir;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'fw.rom'), Buffer.alloc(70_000, 7));
  const f = await fleet(ta);
  const d = f.devices.find((x) => x.vendor === 'yealink')!;
  const uri = `/prov/${d.mac}.cfg`;
  t.equal((await request(port, 'GET', uri, { headers: { 'user-agent': d.ua } })).status, 200, 'the first full configuration');
  const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
  const challenge = (await request(port, 'GET', uri)).headers['www-authenticate'];
  const authorization = digestAnswer(challenge, device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), uri);
  const common = await request(port, 'GET', '/prov/y000000000066.cfg');

  const requests: [string, string, number][] = [
    ['a common file', 'GET /prov/y000000000066.cfg HTTP/1.1\r\n', 200],
    ['HEAD', 'HEAD /prov/y000000000066.cfg HTTP/1.1\r\n', 200],
    ['If-None-Match', `GET /prov/y000000000066.cfg HTTP/1.1\r\nIf-None-Match: ${common.headers.etag}\r\n`, 304],
    ['If-Modified-Since', `GET /prov/y000000000066.cfg HTTP/1.1\r\nIf-Modified-Since: ${common.headers['last-modified']}\r\n`, 304],
    ['a device file without credentials', `GET ${uri} HTTP/1.1\r\nUser-Agent: ${d.ua}\r\n`, 401],
    ['a device file with them', `GET ${uri} HTTP/1.1\r\nUser-Agent: ${d.ua}\r\nAuthorization: ${authorization}\r\n`, 200],
    ['a wrong password', `GET ${uri} HTTP/1.1\r\nAuthorization: ${authorization.replace(/response="[0-9a-f]/, 'response="x')}\r\n`, 401],
    ['bad percent-encoding', 'GET /prov/%E0%A4%A.cfg HTTP/1.1\r\n', 400],
    ['an unknown name', 'GET /prov/nothing-like-a-phone-file.txt HTTP/1.1\r\n', 404],
    ['a forbidden name', 'GET /prov/firmware/%2e%2e/x HTTP/1.1\r\n', 403],
    ['firmware', 'GET /prov/firmware/fw.rom HTTP/1.1\r\n', 200],
    ['firmware, HEAD', 'HEAD /prov/firmware/fw.rom HTTP/1.1\r\n', 200],
  ];
  // The date, and the time a fresh nonce carries, are the only things that may differ.
  const normal = (raw: string) => raw.replace(/\r\nDate: [^\r]+/, '').replace(/nonce="[^"]+"/g, 'nonce="N"');
  for (const [what, line, status] of requests) {
    const before = viaNode;
    const lane = await rawExchange(port, `${line}Host: x\r\nConnection: close\r\n\r\n`);
    t.equal(viaNode, before, `${what}: answered on the lane`);
    t.ok(lane.startsWith(`HTTP/1.1 ${status} `), `${what}: ${status}`);
    // A field node:http accepts and the lane does not (obs-text) sends the same request through node:http.
    const node = await rawExchange(port, `${line}Host: x\r\nX-Note: caf\xe9\r\nConnection: close\r\n\r\n`);
    t.equal(viaNode, before + 1, `${what}: handed to node:http`);
    t.equal(normal(lane), normal(node), `${what}: the same answer`);
  }
});
