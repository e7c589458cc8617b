import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import t, { type Test } from 'tap';
import { freeTcpPort, freeUdpPort } from '../helpers/ports';

// The compiled daemon, as systemd runs it; `npm test` builds first.
const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');
const FIXTURES = path.join(__dirname, 'fixtures');

interface Datagram { text: string; monotonic_us: number; fields: Record<string, string> }

/** systemd's side of the protocol: a real unix datagram socket, bound by Python's socket module. */
class NotifySocket {
  readonly received: Datagram[] = [];
  private waiters: (() => void)[] = [];


  static async open(t: Test, address: string): Promise<NotifySocket> {
    const proc = spawn('python3', ['-u', path.join(FIXTURES, 'notify-socket.py'), address], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => void proc.kill());
    const sock = new NotifySocket();
    const lines = readline.createInterface({ input: proc.stdout! });
    await new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        if (line === 'ready') return resolve();
        const d = JSON.parse(line) as Datagram;
        d.fields = Object.fromEntries(d.text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
        sock.received.push(d);
        for (const w of sock.waiters.splice(0)) w();
      });
    });
    return sock;
  }

  /** The first datagram after index `from` that has `field`, waiting for it. */
  async next(field: string, from = 0, timeoutMs = 30000): Promise<{ d: Datagram; index: number }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const index = this.received.findIndex((d, i) => i >= from && field in d.fields);
      if (index >= 0) return { d: this.received[index]!, index };
      if (Date.now() > end) throw new Error(`no ${field} after datagram ${from}: ${JSON.stringify(this.received.map((d) => d.text))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
}

interface Daemon { proc: ChildProcess; http: number; dataDir: string; output: () => string; exited: Promise<number | null> }

async function startDaemon(t: Test, env: Record<string, string>, nodeArgs: string[] = []): Promise<Daemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-notify-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const http = await freeTcpPort();
  const sip = await freeUdpPort();
  const proc = spawn(process.execPath, [...nodeArgs, CLI, 'serve'], {
    env: {
      PATH: process.env.PATH, DIALTONE_DATA_DIR: dir, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(http),
      DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1',
      DIALTONE_SIP_PORT: String(sip), DIALTONE_SIP_TRANSPORTS: 'udp,tcp', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  t.teardown(() => void proc.kill('SIGKILL'));
  return { proc, http, dataDir: dir, output: () => output, exited };
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

// Generous: a daemon started from the TypeScript sources beside a full parallel test run took over 15 s to listen.
async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('over an abstract socket: STATUS while starting, READY once listening, WATCHDOG at half WATCHDOG_USEC, reload with MONOTONIC_USEC', async (t) => {
  const address = `@dialtone-test-${crypto.randomBytes(6).toString('hex')}`;
  const sock = await NotifySocket.open(t, address);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-notify-conf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'dialtone.json');
  fs.writeFileSync(configFile, JSON.stringify({ logLevel: 'info', provRateLimit: 30 }));
  const d = await startDaemon(t, { NOTIFY_SOCKET: address, WATCHDOG_USEC: '400000', DIALTONE_CONFIG: configFile });

  const status = await sock.next('STATUS');
  t.match(status.d.fields.STATUS, /^starting/);
  const ready = await sock.next('READY', status.index);
  t.ok(ready.index > status.index, 'READY comes after the start-up STATUS lines');
  t.equal(ready.d.fields.MAINPID, String(d.proc.pid));
  t.match(ready.d.fields.STATUS, /^serving: HTTP \d+/);
  t.ok(await connects(d.http), 'the HTTP listener accepts connections once READY=1 is sent');

  const w1 = await sock.next('WATCHDOG', ready.index);
  const w2 = await sock.next('WATCHDOG', w1.index + 1);
  const w3 = await sock.next('WATCHDOG', w2.index + 1);
  t.equal(w1.d.fields.WATCHDOG, '1');
  t.ok(w3.d.monotonic_us - w1.d.monotonic_us < 4_000_000, 'pinged several times within a few WATCHDOG_USEC');

  // A failed fetch of one name counts against the source and that name; the reload lowers the limit to 2 while running.
  const missing = `no-such-file-${crypto.randomBytes(4).toString('hex')}.cfg`;
  const miss = () => fetch(`http://127.0.0.1:${d.http}/prov/${missing}`).then((r) => r.status);
  for (let i = 0; i < 3; i++) t.equal(await miss(), 404, 'under the limit of 30');
  fs.writeFileSync(configFile, JSON.stringify({ logLevel: 'debug', provRateLimit: 2, sipNonceSeconds: 60 }));
  const before = sock.received.length;
  d.proc.kill('SIGHUP');
  const reloading = await sock.next('RELOADING', before);
  const usec = Number(reloading.d.fields.MONOTONIC_USEC);
  t.ok(Math.abs(reloading.d.monotonic_us - usec) < 2_000_000, `MONOTONIC_USEC ${usec} is CLOCK_MONOTONIC (receiver read ${reloading.d.monotonic_us})`);
  const again = await sock.next('READY', reloading.index);
  t.ok(again.index > reloading.index);
  await until('the reload log line', () => /"msg":"reloaded/.test(d.output()));
  t.match(d.output(), /"option":"DIALTONE_SIP_NONCE_SECONDS".*takes effect at the next restart/, 'a changed restart-only option is named');
  t.match(d.output(), /"applied":\["logLevel","provRateLimit"\]/);
  t.equal(await miss(), 429, 'the lowered limit applies at once, to the minute already counting');

  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0);
  const stopping = await sock.next('STOPPING', again.index);
  t.match(stopping.d.fields.STATUS, /^draining/);
});

t.test('a loop that stops turning stops the watchdog pings; they resume when it turns again', async (t) => {
  const address = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-notify-sock-')), 'notify');
  t.teardown(() => fs.rmSync(path.dirname(address), { recursive: true, force: true }));
  const sock = await NotifySocket.open(t, address);
  const d = await startDaemon(t, { NOTIFY_SOCKET: address, WATCHDOG_USEC: '200000' }, ['-r', path.join(FIXTURES, 'hang-on-sigusr2.cjs')]);
  const ready = await sock.next('READY');
  const first = await sock.next('WATCHDOG', ready.index);
  await sock.next('WATCHDOG', first.index + 1);
  const mark = sock.received.length;
  d.proc.kill('SIGUSR2');
  // The loop is blocked for 3 s: the next ping after the hang comes once it turns again.
  await new Promise((r) => setTimeout(r, 3500));
  const after = await sock.next('WATCHDOG', mark);
  const pings = sock.received.filter((x) => 'WATCHDOG' in x.fields).map((x) => x.monotonic_us);
  const gaps = pings.slice(1).map((p, i) => p - pings[i]!);
  t.ok(Math.max(...gaps) >= 2_500_000, `no ping while the loop was blocked (largest gap ${Math.max(...gaps)} µs)`);
  await sock.next('WATCHDOG', after.index + 1);
  t.pass('pings resume');
  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0);
});

t.test('SIGTERM drains: a download under way finishes, nothing new is accepted, then the daemon exits 0', async (t) => {
  const d = await startDaemon(t, { DIALTONE_DRAIN_SECONDS: '20' });
  const firmware = path.join(d.dataDir, 'firmware');
  fs.mkdirSync(firmware, { recursive: true });
  const body = crypto.randomBytes(8 * 1024 * 1024);
  fs.writeFileSync(path.join(firmware, 'big.rom'), body);
  await until('the HTTP listener', () => /HTTP listening/.test(d.output()));
  const socket = net.connect(d.http, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (b: Buffer) => {
    chunks.push(b);
    socket.pause();
  });
  socket.write('GET /prov/firmware/big.rom HTTP/1.1\r\nHost: x\r\n\r\n');
  await until('the first bytes of the download', () => chunks.length > 0);
  d.proc.kill('SIGTERM');
  await until('the drain to begin', () => /stopping: no new work/.test(d.output()));
  t.notOk(await connects(d.http), 'no new connection is accepted while draining');
  const ended = new Promise((r) => socket.on('end', r));
  socket.on('data', () => socket.resume());
  socket.resume();
  t.equal(await d.exited, 0);
  await ended;
  const all = Buffer.concat(chunks);
  const head = all.indexOf('\r\n\r\n');
  t.match(all.subarray(0, head).toString(), /^HTTP\/1.1 200/);
  t.ok(all.subarray(head + 4).equals(body), 'the whole file arrived');
  t.match(d.output(), /"msg":"stopped"/);
});

t.test('SIGTERM drains: a TFTP transfer under way finishes before the daemon exits 0', async (t) => {
  const tftpPort = await freeUdpPort();
  const d = await startDaemon(t, { DIALTONE_DRAIN_SECONDS: '60', DIALTONE_TFTP_PORT: String(tftpPort) });
  fs.mkdirSync(path.join(d.dataDir, 'firmware'), { recursive: true });
  const body = crypto.randomBytes(16 * 1024 * 1024);
  fs.writeFileSync(path.join(d.dataDir, 'firmware', 'big.rom'), body);
  await until('the TFTP listener', () => /TFTP listening/.test(d.output()));
  const out = path.join(d.dataDir, 'downloaded.rom');
  // tftp-hpa's client, 512-byte blocks one at a time: the transfer lasts long enough to be caught under way.
  const client = spawn('tftp', ['-m', 'binary', '127.0.0.1', String(tftpPort), '-c', 'get', 'big.rom', out], { stdio: 'ignore' });
  const done = new Promise<number | null>((resolve) => client.on('exit', resolve));
  await until('the transfer to start', () => fs.existsSync(out) && fs.statSync(out).size > 0);
  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0);
  t.equal(await done, 0);
  t.ok(fs.readFileSync(out).equals(body), 'the whole file arrived');
});

t.test('without the optional module, NOTIFY_SOCKET is logged once and the daemon runs', async (t) => {
  const d = await startDaemon(t, { NOTIFY_SOCKET: '@dialtone-nobody', NODE_PATH: '' }, ['-r', path.join(FIXTURES, 'no-sd-notify.cjs')]);
  await until('the HTTP listener', () => /HTTP listening/.test(d.output()));
  t.equal(d.output().match(/optional sd-notify module is not installed/g)?.length, 1);
  d.proc.kill('SIGTERM');
  t.equal(await d.exited, 0);
});
