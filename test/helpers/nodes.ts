import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freshDatabase } from './databases';
import { freeTcpPort, freeUdpPort } from './ports';
import { freePort } from './sip';

/**
 * Several `dialtone serve` processes from dist/ on one MariaDB and one
 * Redis of their own (a redis-server on a free loopback port), as an
 * operator runs them; everything is stopped at the test's end.
 */
export const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');
export const KEY = 'ab'.repeat(32);

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Node {
  proc: ChildProcess;
  http: number;
  /** The SIP port, the same number for UDP and TCP. */
  sip: number;
  url: string;
  out(): string;
  exited: Promise<number | null>;
}

export interface Cluster {
  /** The environment every node shares: database, secret key, data dir, Redis. */
  env: NodeJS.ProcessEnv;
  dbUrl: string;
  redisPort: number;
  /** Starts a node and waits until /readyz says ready. */
  start(extra?: Record<string, string>): Promise<Node>;
  /** Runs the CLI on the shared database; stdout parsed as JSON. */
  cli(args: string[]): Record<string, unknown>;
}

/** A redis-server of the test's own on a free loopback port, killed at the test's end. */
export async function startRedis(t: Test, args: string[] = []): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freeTcpPort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(async () => {
    proc.kill('SIGKILL');
    await exited;
  });
  await until(`redis-server on ${port}`, () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG');
  return { port, proc };
}

export async function startCluster(t: Test, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const db = await freshDatabase('mysql');
  t.teardown(() => db.dispose());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-nodes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const redis = await startRedis(t);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, DIALTONE_DB_URL: db.url, DIALTONE_SECRET_KEY: KEY, DIALTONE_DATA_DIR: dir,
    DIALTONE_REDIS_URL: `redis://127.0.0.1:${redis.port}/0`, ...extraEnv,
  };
  const migrated = spawnSync(process.execPath, [CLI, 'migrate'], { env, encoding: 'utf8' });
  if (migrated.status !== 0) throw new Error(`migrate: ${migrated.stderr}`);
  return {
    env,
    dbUrl: db.url,
    redisPort: redis.port,
    cli(args) {
      const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 30000 });
      if (r.status !== 0) throw new Error(`dialtone ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    },
    async start(extra = {}) {
      const http = await freeTcpPort();
      const sip = await freePort();
      const proc = spawn(process.execPath, [CLI, 'serve'], {
        env: {
          ...env, DIALTONE_LOG_LEVEL: 'debug', DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(http), DIALTONE_PUBLIC_HOST: '127.0.0.1',
          DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(sip),
          DIALTONE_SIP_TRANSPORTS: 'udp,tcp', ...extra,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      t.teardown(async () => {
        if (!t.passing()) t.comment(`node on HTTP ${http}, SIP ${sip}:\n${out.slice(-6000)}`);
        proc.kill('SIGKILL');
        await exited;
      });
      const url = `http://127.0.0.1:${http}`;
      await until(`the node on ${http} to be ready`, async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200);
      return { proc, http, sip, url, out: () => out, exited };
    },
  };
}
