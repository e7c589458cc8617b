import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hasBinary } from '../provisioning/clients';
import { freePort } from '../helpers/sip';
import { freeTcpPort, freeUdpPort } from '../helpers/ports';

const root = path.join(__dirname, '..', '..');
const missing = ['curl', 'jq', 'sipp'].filter((b) => !hasBinary(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (.ci/apt-packages)` : false;

t.test("the README's calls walk-through runs unmodified against `dialtone serve`: both directions, 302/480, 911 with its location", { skip }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-calls-walkthrough-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const httpPort = await freeTcpPort();
  const env = {
    PATH: process.env.PATH, DIALTONE_DATA_DIR: dataDir, DIALTONE_PUBLIC_HOST: '127.0.0.1', DIALTONE_HTTP_HOST: '127.0.0.1',
    DIALTONE_HTTP_PORT: String(httpPort), DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_PORT: String(await freePort()),
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
    if (await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const pbxPort = await freePort();
  const output = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const child = spawn('bash', [path.join(root, 'scripts', 'calls-walkthrough.sh')], {
      cwd: root, env: { ...env, DIALTONE_URL: `http://127.0.0.1:${httpPort}`, PBX_PORT: String(pbxPort) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b));
    child.stderr.on('data', (b: Buffer) => (text += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, text });
    });
  });
  t.equal(output.code, 0, output.code === 0 ? 'the script exits 0' : output.text + log);
  t.match(output.text, /P-Asserted-Identity: "Ada Lovelace" <sip:2001@calls\d+\.example\.com>/, "the PBX is told phone A's identity");
  t.match(output.text, /the PBX's call reached phone B and ended with the PBX's BYE/);
  t.match(output.text, /2003: SIP\/2\.0 302 Moved Temporarily <sip:5550100@calls\d+\.example\.com>/);
  t.match(output.text, /2004: SIP\/2\.0 480 Temporarily Unavailable/);
  t.match(output.text, /<ca:A3>Chicago<\/ca:A3>/, '911 carries the site address');
  t.match(output.text, /^done: calls of calls\d+\.example\.com went both ways through dialtone/m);
});
