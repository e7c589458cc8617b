import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import type { TestApp } from '../helpers/app';
import type { ProvisioningComponent } from '../../daemon/provisioning/component';

/** The real clients phones' firmware resembles: tftp-hpa, atftp and curl, run against the daemon on loopback. */

export function hasBinary(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir, name)));
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function tmpFile(): { file: string; dispose(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-tftp-'));
  return { file: path.join(dir, 'out'), dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The file's text, or null when the transfer failed (the client's message in `error`). */
export async function tftpHpaGet(port: number, name: string): Promise<{ body: string | null; error: string }> {
  const out = tmpFile();
  try {
    const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', name, out.file]);
    const body = fs.existsSync(out.file) && r.code === 0 && !/Error|Transfer timed out/i.test(r.stdout + r.stderr) ? fs.readFileSync(out.file, 'utf8') : null;
    return { body, error: r.stdout + r.stderr };
  } finally {
    out.dispose();
  }
}

export async function atftpGet(port: number, name: string, options: string[] = []): Promise<{ body: string | null; error: string }> {
  const out = tmpFile();
  try {
    const r = await run('atftp', ['--tftp-timeout', '2', ...options.flatMap((o) => ['--option', o]), '-g', '-r', name, '-l', out.file, '127.0.0.1', String(port)]);
    const body = r.code === 0 && fs.existsSync(out.file) ? fs.readFileSync(out.file, 'utf8') : null;
    return { body, error: r.stdout + r.stderr };
  } finally {
    out.dispose();
  }
}

export async function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const out = tmpFile();
  const headerFile = `${out.file}.headers`;
  try {
    await run('curl', ['-s', '-D', headerFile, '-o', out.file, '--path-as-is', '--max-time', '20', ...args]);
    const headers = fs.existsSync(headerFile) ? fs.readFileSync(headerFile, 'utf8') : '';
    const blocks = headers.split(/\r?\n\r?\n/).filter((b) => b.startsWith('HTTP/'));
    const last = blocks.at(-1) ?? '';
    const status = /^HTTP\/[\d.]+ (\d{3})/.exec(last);
    return { status: status ? Number(status[1]) : 0, body: fs.existsSync(out.file) ? fs.readFileSync(out.file, 'utf8') : '', headers: last };
  } finally {
    out.dispose();
  }
}

export function provisioning(ta: TestApp): ProvisioningComponent {
  return ta.app.components.find((c) => c.name === 'provisioning') as ProvisioningComponent;
}

/** Sends one raw datagram to the TFTP port and returns the first answer (null if none within waitMs). */
export async function rawTftp(port: number, packet: Buffer, waitMs = 5000): Promise<Buffer | null> {
  const s = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | null>((resolve) => {
      const guard = setTimeout(() => resolve(null), waitMs);
      s.on('message', (msg) => {
        clearTimeout(guard);
        resolve(msg);
      });
      s.send(packet, port, '127.0.0.1');
    });
  } finally {
    s.close();
  }
}

export function rrq(name: string, mode = 'octet', options: Record<string, string> = {}): Buffer {
  const parts = [name, mode, ...Object.entries(options).flat()].map((p) => Buffer.concat([Buffer.from(p, 'latin1'), Buffer.from([0])]));
  return Buffer.concat([Buffer.from([0, 1]), ...parts]);
}

export const opcode = (b: Buffer | null) => (b && b.length >= 2 ? b.readUInt16BE(0) : null);

/** The Authorization header a phone sends to answer a digest challenge (MD5, qop=auth). */
export function digestAnswer(challenge: unknown, username: string, password: string, uri: string): string {
  const nonce = /nonce="([^"]+)"/.exec(String(challenge))![1]!;
  const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');
  const ha1 = md5(`${username}:dialtone-provisioning:${password}`);
  const response = md5(`${ha1}:${nonce}:00000001:abc:auth:${md5(`GET:${uri}`)}`);
  return `Digest username="${username}", realm="dialtone-provisioning", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="abc", response="${response}"`;
}
