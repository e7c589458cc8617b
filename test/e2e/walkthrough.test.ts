import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hasBinary } from '../provisioning/clients';
import { freeTcpPort, freeUdpPort } from '../helpers/ports';

const root = path.join(__dirname, '..', '..');
const missing = ['curl', 'jq', 'sipp'].filter((b) => !hasBinary(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (.ci/apt-packages)` : false;

/** Runs a command to its end; the whole output, interleaved as a person would see it. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b));
    child.stderr.on('data', (b: Buffer) => (output += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

t.test("the README's walk-through script runs unmodified against `dialtone serve` and ends with a phone registered", { skip }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-walkthrough-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const httpPort = await freeTcpPort();
  // Phones are told loopback here: the test sends nothing beyond this machine's loopback.
  const env = {
    PATH: process.env.PATH, DIALTONE_DATA_DIR: dataDir, DIALTONE_PUBLIC_HOST: '127.0.0.1', DIALTONE_HTTP_HOST: '127.0.0.1',
    DIALTONE_HTTP_PORT: String(httpPort), DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_PORT: String(await freeUdpPort()),
    DIALTONE_SIP_WS_PORT: String(await freeTcpPort()), DIALTONE_LOG_LEVEL: 'warn',
  };
  const daemon = spawn(process.execPath, [path.join(root, 'dist', 'daemon', 'cli', 'main.js'), 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout.on('data', (b: Buffer) => (log += b));
  daemon.stderr.on('data', (b: Buffer) => (log += b));
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  t.teardown(async () => {
    daemon.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const walk = await run('bash', [path.join(root, 'scripts', 'walkthrough.sh')], { ...env, DIALTONE_URL: `http://127.0.0.1:${httpPort}` });
  t.equal(walk.code, 0, walk.code === 0 ? 'the script exits 0' : walk.output + log);
  t.match(walk.output, /account\.1\.outbound_proxy\.1\.port = \d+/, 'the phone file names the registrar');
  t.match(walk.output, /"contact": "sip:1001@127\.0\.0\.1:\d+"/, 'the registration is listed');
  t.match(walk.output, /registration registered/, 'and in the device timeline');
  t.match(walk.output, /^done: extension 1001 of acme\d{6}\.example\.com is registered/m);
});
