import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freeTcpPort, freeUdpPort } from './ports';
import { freePort } from './sip';

export const ROOT = path.join(__dirname, '..', '..');

/** `dialtone serve` from dist/ on a data dir of its own and free loopback ports (and `extra` settings), ready to be asked; stopped at the test's end. */
export async function startServe(t: Test, extra: Record<string, string> = {}): Promise<{ env: NodeJS.ProcessEnv; url: string; log(): string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-serve-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const httpPort = await freeTcpPort();
  // Phones are told loopback here: the test sends nothing beyond this machine's loopback.
  const env = {
    PATH: process.env.PATH, DIALTONE_DATA_DIR: dataDir, DIALTONE_PUBLIC_HOST: '127.0.0.1', DIALTONE_HTTP_HOST: '127.0.0.1',
    DIALTONE_HTTP_PORT: String(httpPort), DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_PORT: String(await freePort()),
    DIALTONE_SIP_WS_PORT: String(await freeTcpPort()), DIALTONE_LOG_LEVEL: 'warn', ...extra,
  };
  const daemon = spawn(process.execPath, [path.join(ROOT, 'dist', 'daemon', 'cli', 'main.js'), 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout.on('data', (b: Buffer) => (log += b));
  daemon.stderr.on('data', (b: Buffer) => (log += b));
  const exited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));
  t.teardown(async () => {
    daemon.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${httpPort}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { env, url, log: () => log };
}

/** Runs a command to its end; the whole output, interleaved as a person would see it. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b));
    child.stderr.on('data', (b: Buffer) => (output += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
