import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sip, { type Message } from 'sip';
import t, { type Test } from 'tap';
import { createLogger } from '../../daemon/core/log';
import { DrachtioEngine } from '../../daemon/sip/drachtio/engine';
import type { Registrar } from '../../daemon/sip/registrar/registrar';
import { DRACHTIO_SECRET, SKIP_REAL, startDrachtioServer } from '../helpers/drachtio-server';
import { startStandin } from '../helpers/drachtio-standin';
import { REDIS_URL, freePort, sipFixture } from '../helpers/sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';

/**
 * dialtone in front of a drachtio-server that is down, refuses the secret,
 * or dies and comes back. `dialtone serve` runs from dist/ (npm test builds it).
 */
const MAIN = path.join(__dirname, '../../dist/daemon/cli/main.js');

async function serve(t: Test, env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-serve-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      PATH: process.env.PATH, DIALTONE_DATA_DIR: dir, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(await freePort()),
      DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freePort()), DIALTONE_SECRET_KEY: '0'.repeat(63) + '1',
      DIALTONE_LOG_LEVEL: 'silent', DIALTONE_SIP_ENGINE: 'drachtio', ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Still running after 20 s is the hang this guards against.
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  return { code, stderr, ms: Date.now() - started };
}

t.test('dialtone serve with drachtio-server down: one clear line naming DIALTONE_DRACHTIO_HOST/PORT, exit non-zero, no hang', { skip: fs.existsSync(MAIN) ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const port = await freePort();
  const r = await serve(t, { DIALTONE_DRACHTIO_HOST: '127.0.0.1', DIALTONE_DRACHTIO_PORT: String(port), DIALTONE_DRACHTIO_SECRET: 's' });
  t.not(r.code, 0);
  t.not(r.code, null, 'it exits on its own');
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.match(r.stderr, new RegExp(`cannot reach drachtio-server at 127\\.0\\.0\\.1:${port} \\(DIALTONE_DRACHTIO_HOST, DIALTONE_DRACHTIO_PORT\\)`));
});

t.test('dialtone serve with the wrong DIALTONE_DRACHTIO_SECRET: one clear line, exit non-zero', { skip: fs.existsSync(MAIN) ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  for (const server of ['stand-in', 'drachtio-server'] as const) {
    if (server === 'drachtio-server' && SKIP_REAL) continue;
    const adminPort = server === 'stand-in' ? await (async () => {
      const s = await startStandin(DRACHTIO_SECRET);
      t.teardown(() => s.close());
      return s.adminPort;
    })() : (await startDrachtioServer(t)).adminPort;
    const r = await serve(t, { DIALTONE_DRACHTIO_PORT: String(adminPort), DIALTONE_DRACHTIO_SECRET: 'not-the-secret' });
    t.not(r.code, 0, server);
    t.not(r.code, null, `${server}: it exits on its own`);
    t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.match(r.stderr, /refused DIALTONE_DRACHTIO_SECRET/, server);
  }
});

/** A child process that runs `script` on the built adapter; it must end by itself, which a live socket or timer would prevent. */
async function ownProcess(script: string, env: Record<string, string>, onOutput: (out: string) => void = () => undefined): Promise<{ code: number | null; out: string }> {
  const engine = path.join(__dirname, '../../dist/daemon/sip/drachtio/engine.js');
  const log = path.join(__dirname, '../../dist/daemon/core/log.js');
  const child = spawn(process.execPath, ['-e', `const { DrachtioEngine } = require(${JSON.stringify(engine)}); const { createLogger } = require(${JSON.stringify(log)});
const engine = new DrachtioEngine({ host: '127.0.0.1', port: Number(process.env.PORT), secret: process.env.SECRET }, createLogger('silent'));
(async () => { ${script} })().then(() => console.log('done'), (err) => console.log('failed: ' + err.message));`], { env: { ...env, PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    onOutput(out);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  clearTimeout(timer);
  return { code, out };
}

t.test('the adapter leaves nothing running after a failed start, or a stop once drachtio-server is gone', { skip: fs.existsSync(MAIN) ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const failed = await ownProcess('try { await engine.start(); } finally { await engine.stop(); }', { PORT: String(await freePort()), SECRET: 's' });
  t.equal(failed.code, 0, 'the process ends by itself after a failed start');
  t.match(failed.out, /failed: cannot reach drachtio-server/);
  const s = await startStandin(DRACHTIO_SECRET);
  let closing: Promise<void> | null = null;
  const after = await ownProcess(`await engine.start(); console.log('up'); await new Promise((r) => setTimeout(r, 500)); await engine.stop();`, { PORT: String(s.adminPort), SECRET: DRACHTIO_SECRET }, (out) => {
    if (out.startsWith('up')) closing ??= s.close();
  });
  await closing;
  t.equal(after.code, 0, 'the process ends by itself after stop() with drachtio-server gone');
  t.match(after.out, /up\ndone/);
});

t.test('a drachtio-server that accepts the connection and never answers fails the start in time', async (t) => {
  // It reads what it is sent and answers nothing.
  const silent = net.createServer((socket) => socket.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => silent.close(() => r())));
  const port = (silent.address() as net.AddressInfo).port;
  const engine = new DrachtioEngine({ host: '127.0.0.1', port, secret: 's', startTimeoutMs: 300 }, createLogger('silent'));
  await t.rejects(engine.start(), new RegExp(`drachtio-server at 127\\.0\\.0\\.1:${port} \\(DIALTONE_DRACHTIO_HOST, DIALTONE_DRACHTIO_PORT\\) did not answer within 0\\.3 s`));
  await engine.stop();
  await new Promise((r) => setTimeout(r, 800));
  t.equal(await new Promise<number>((r) => silent.getConnections((_err, n) => r(n))), 0, 'and its connection is closed');
});

t.test('drachtio-server killed and restarted while a phone is registered', { skip: SKIP_REAL || (REDIS_URL ? false : 'DIALTONE_TEST_REDIS_URL is unset') }, async (t) => {
  const server = await startDrachtioServer(t);
  const f = await sipFixture(t, {
    DIALTONE_SIP_ENGINE: 'drachtio', DIALTONE_DRACHTIO_HOST: '127.0.0.1', DIALTONE_DRACHTIO_PORT: String(server.adminPort),
    DIALTONE_DRACHTIO_SECRET: DRACHTIO_SECRET, DIALTONE_REDIS_URL: REDIS_URL,
  });
  const registrar = (f.ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { registrar: Registrar } }).sip.registrar;
  const aor = `${f.extension.number}@${f.domain}`;
  const phone = await RawPeer.udp(server.sipPort);
  t.teardown(() => phone.close());
  const register = async (callId: string) => {
    const base = { domain: f.domain, user: f.extension.number, callId };
    const challenge = await phone.request(registerText(phone, base));
    return phone.request(registerText(phone, { ...base, cseq: 2, authorization: answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` }) }));
  };
  t.equal((await register('before')).status, 200);
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();

  await server.kill('SIGKILL');
  t.equal((await registrar.bindings(aor)).length, 1, 'the binding survives in Redis while drachtio-server is gone');
  const down = await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: {} });
  t.equal(down.status, 200, 'the API keeps serving');
  t.match(down.body.results, [{ status: null }], 'a resync while drachtio-server is gone says nothing was reached');
  await server.restart();

  // dialtone finds drachtio-server again on its own (drachtio-server answers 503 until an application is connected).
  let again: Message | null = null;
  for (let attempt = 0; attempt < 50 && again?.status !== 401; attempt++) {
    again = await Promise.race([
      phone.request(registerText(phone, { domain: f.domain, user: f.extension.number, callId: `probe${attempt}` })),
      new Promise<null>((r) => setTimeout(() => r(null), 200)),
    ]);
    if (again?.status !== 401) await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(again?.status, 401, 'dialtone is reconnected');
  t.equal((await register('after')).status, 200);
  t.equal((await registrar.bindings(aor)).length, 1, 'one binding, refreshed');
  const res = f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: {} });
  let notify;
  do notify = await phone.next(); while (notify.method !== 'NOTIFY');
  phone.send(sip.stringify(sip.makeResponse(notify, 200, 'OK')));
  t.match((await res).body.results, [{ status: 200 }], 'the binding from Redis is reached through the restarted drachtio-server');
  // The probes' own 200 ms timers run out first.
  await new Promise((r) => setTimeout(r, 400));
  t.ok(timers() <= before, `no timer left behind by the reconnection (${before} before, ${timers()} after)`);
});
