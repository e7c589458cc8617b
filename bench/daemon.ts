import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knex from 'knex';
import { NODE_FLAGS } from '../daemon/cli/node-flags';

export const ROOT = path.resolve(__dirname, '..');

/**
 * Runs the compiled daemon (npm run build first) as its own process, so its memory and CPU are its own, with the Node flags it is deployed with.
 * `root` is the checkout whose build runs (another build of dialtone, to compare two in the same minutes).
 * BENCH_NODE_FLAGS adds V8 flags after the deployed ones (the later of two wins), to try one before changing NODE_FLAGS;
 * BENCH_DAEMON_STDOUT names a file for the daemon's standard output (where `--trace-gc` writes).
 */
export async function startDaemon(env: Record<string, string>, httpPort: number, root = ROOT): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const main = path.join(root, 'dist/daemon/cli/main.js');
  if (!fs.existsSync(main)) throw new Error('run `npm run build` first');
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const stdout = process.env.BENCH_DAEMON_STDOUT ? fs.openSync(process.env.BENCH_DAEMON_STDOUT, 'a') : 'ignore';
  const child = spawn(process.execPath, [...NODE_FLAGS, ...extra, ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), main, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  let exited = false;
  child.once('exit', () => (exited = true));
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error('the daemon exited at start; see its message above');
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (r.ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    child,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** Resident memory of a process, from /proc (Linux). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
  return Math.round(kb / 1024);
}

/** CPU time a process has used so far in user space and in the kernel, in milliseconds, from /proc (Linux). */
export function cpuSplitMs(pid: number): { user: number; system: number } {
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: (Number(fields[11]) * 1000) / 100, system: (Number(fields[12]) * 1000) / 100 };
}

/** CPU time a process has used so far, user and system together, in milliseconds. */
export function cpuMs(pid: number): number {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** Seconds until the process used under 5 % of a core for two seconds running (at most five minutes): a daemon done with an import's mail. */
export async function idleAfter(pid: number): Promise<number> {
  const started = Date.now();
  let calm = 0;
  while (calm < 2 && Date.now() - started < 300_000) {
    const before = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    calm = cpuMs(pid) - before < 50 ? calm + 1 : 0;
  }
  return Math.round((Date.now() - started) / 1000);
}

/** A fresh, empty MariaDB/MySQL database on the server `base` names, and how to drop it. */
export async function mysqlDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const u = new URL(base);
  const name = `dialtone_bench_${crypto.randomBytes(4).toString('hex')}`;
  const conn = { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
  const admin = knex({ client: 'mysql2', connection: conn });
  await admin.raw(`create database \`${name}\` character set utf8mb4 collate utf8mb4_unicode_ci`);
  await admin.destroy();
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const k = knex({ client: 'mysql2', connection: conn });
      await k.raw(`drop database if exists \`${name}\``);
      await k.destroy();
    },
  };
}
