import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { type TestApp, makeTenant, startTestApp } from './app';
import { freeUdpRun } from './ports';

export const REDIS_URL = process.env.DIALTONE_TEST_REDIS_URL ?? '';

/** Whether a Debian binary the test needs is installed (CI installs it; elsewhere the test skips). */
export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/** A port free for both UDP and TCP on loopback, for a peer that must be told its port. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

export interface SippRun {
  code: number | null;
  stdout: string;
  stderr: string;
  errors: string;
}

/** Starts sipp on loopback with a scenario text; `done` resolves when it exits, and the test's end stops it. */
export async function startSipp(t: Test, scenario: string, target: string, args: string[], port?: number): Promise<{ done: Promise<SippRun>; stop(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-sipp-'));
  const file = path.join(dir, 'scenario.xml');
  fs.writeFileSync(file, scenario);
  const localPort = port ?? await freePort();
  const media = await freeUdpRun(4);
  const child = spawn('sipp', [target, '-sf', file, '-i', '127.0.0.1', '-p', String(localPort), '-mp', String(media), '-m', '1', '-l', '1',
    '-timeout', '30s', '-timeout_error', '-trace_err', '-error_file', path.join(dir, 'errors.log'), ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<SippRun>((resolve) => child.on('close', (code) => {
    const errFile = path.join(dir, 'errors.log');
    resolve({ code, stdout, stderr, errors: fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : '' });
  }));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  t.teardown(async () => {
    stop();
    await done;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { done, stop };
}

/** Runs sipp to the end of its scenario. */
export async function runSipp(t: Test, scenario: string, target: string, args: string[]): Promise<SippRun> {
  return (await startSipp(t, scenario, target, args)).done;
}

export interface SipFixture {
  ta: TestApp;
  token: string;
  domain: string;
  extension: { id: string; number: string };
  creds: { username: string; password: string; domain: string; registrar: string; websocket: string | null };
  ports: { udp?: number; tcp?: number; ws?: number };
}

/** A listening daemon with one tenant and one extension, and that extension's SIP credentials. */
export async function sipFixture(t: Test, env: Record<string, string> = {}, number = '201'): Promise<SipFixture> {
  const ta = await startTestApp(t, 'sqlite', { env });
  await ta.app.listen();
  const domain = `sip${Math.random().toString(36).slice(2, 8)}.test`;
  const { admin, token } = await makeTenant(ta, domain);
  const ext = await ta.call('POST', '/api/v1/extensions', { token, body: { number, userId: admin.id } });
  if (ext.status !== 201) throw new Error(`extension: ${ext.status} ${ext.raw}`);
  const creds = await ta.call('GET', `/api/v1/extensions/${ext.body.id}/sip-credentials`, { token });
  if (creds.status !== 200) throw new Error(`credentials: ${creds.status} ${creds.raw}`);
  const sip = ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { engine: { addresses(): SipFixture['ports'] } } };
  return { ta, token, domain, extension: { id: ext.body.id, number }, creds: creds.body, ports: sip.sip.engine.addresses() };
}

/** A REGISTER → 401 → REGISTER with credentials → 200 scenario for sipp. */
export function registerScenario(o: { user: string; password: string; domain: string; aorUser: string; expires: number; transport?: 'UDP' | 'TCP'; finalStatus?: number; stayForNotify?: boolean }): string {
  const transport = o.transport ?? 'UDP';
  const msg = (cseq: number, auth: string) => `
      REGISTER sip:${o.domain} SIP/2.0
      Via: SIP/2.0/${transport} [local_ip]:[local_port];branch=[branch];rport
      From: <sip:${o.aorUser}@${o.domain}>;tag=[call_number]
      To: <sip:${o.aorUser}@${o.domain}>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Contact: <sip:${o.aorUser}@[local_ip]:[local_port];transport=${transport.toLowerCase()}>
      Max-Forwards: 70
      Expires: ${o.expires}
      User-Agent: sipp-test${auth ? `\n      ${auth}` : ''}
      Content-Length: 0
`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[${msg(1, '')}]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[${msg(2, `[authentication username=${o.user} password=${o.password}]`)}]]></send>
  <recv response="${o.finalStatus ?? 200}"/>
${o.stayForNotify ? stayForNotify() : ''}</scenario>
`;
}

/** Stays registered long enough to be sent a NOTIFY, which sipp's -aa answers 200. */
function stayForNotify(): string {
  return '  <pause milliseconds="25000"/>\n';
}
