import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import type { Test } from 'tap';
import { freeTcpPort } from './ports';
import { REDIS_URL } from './sip';

const run = promisify(execFile);

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, name)));
}

/** Debian's redis-server and redis-cli (packages redis-server, redis-tools) start the clusters and sentinels below. */
export const SKIP_REDIS_SERVER: string | false = onPath('redis-server') && onPath('redis-cli') ? false : 'redis-server or redis-cli is not installed (Debian: apt-get install redis-server)';

interface Servers {
  dir: string;
  spawn(args: string[]): Promise<void>;
  /** Kills the server on that port, as a crash would. */
  kill(port: number): Promise<void>;
}

/** Redis servers of a test in a temporary folder, killed and the folder removed at the test's end. */
function servers(t: Test, name: string): Servers {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dialtone-${name}-`));
  const children: ChildProcess[] = [];
  const byPort = new Map<number, ChildProcess>();
  const end = (child: ChildProcess) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('close', () => resolve());
    child.kill('SIGKILL');
  });
  // A test process that dies before its teardown must not leave servers behind.
  const orphans = () => children.forEach((child) => child.kill('SIGKILL'));
  process.once('exit', orphans);
  t.teardown(async () => {
    process.off('exit', orphans);
    await Promise.all(children.map(end));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    async spawn(args) {
      const child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
      children.push(child);
      const port = Number(args[args.indexOf('--port') + 1]);
      byPort.set(port, child);
      await until(`redis-server on ${port} to answer`, async () => (await ask(port, ['PING'])) === 'PONG');
    },
    kill: (port) => end(byPort.get(port)!),
  };
}

/** One command to one server on loopback, answered or null. */
async function ask(port: number, command: [string, ...string[]]): Promise<unknown> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return await r.call(...command);
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const LOOPBACK = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--daemonize', 'no'];
const COMMON = [...LOOPBACK, '--save', '', '--appendonly', 'no'];

export interface RedisCluster {
  /** DIALTONE_REDIS_URL for it. */
  url: string;
  /** The masters' ports, in the URL's order. */
  ports: number[];
  /** Kills one master, as a crash would; the others keep serving their slots. */
  kill(port: number): Promise<void>;
}

/** Three masters, no replicas, every slot assigned, on free loopback ports; the slots of a master killed fail alone. */
export async function startRedisCluster(t: Test): Promise<RedisCluster> {
  const s = servers(t, 'redis-cluster');
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [port, bus] = [await freeTcpPort(), await freeTcpPort()];
    await s.spawn(['--port', String(port), '--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', `nodes-${port}.conf`, '--cluster-require-full-coverage', 'no', '--logfile', `${port}.log`, ...COMMON]);
    ports.push(port);
  }
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { cwd: s.dir });
  for (const port of ports) {
    await until(`cluster_state:ok on ${port}`, async () => String(await ask(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'));
  }
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}/`, ports, kill: s.kill };
}

export interface RedisSentinel {
  url: string;
  masterPort: number;
}

/** One master and one sentinel watching it under the name `dialtone`. */
export async function startRedisSentinel(t: Test): Promise<RedisSentinel> {
  const s = servers(t, 'redis-sentinel');
  const masterPort = await freeTcpPort();
  await s.spawn(['--port', String(masterPort), '--logfile', 'master.log', ...COMMON]);
  const port = await freeTcpPort();
  // A sentinel rewrites its configuration file, so it needs one of its own rather than arguments alone.
  const conf = path.join(s.dir, 'sentinel.conf');
  fs.writeFileSync(conf, `sentinel monitor dialtone 127.0.0.1 ${masterPort} 1\n`);
  await s.spawn([conf, '--sentinel', '--port', String(port), '--logfile', 'sentinel.log', '--dir', s.dir, ...LOOPBACK]);
  await until('the sentinel to know its master', async () => Array.isArray(await ask(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'dialtone'])));
  return { url: `redis+sentinel://127.0.0.1:${port}/dialtone`, masterPort };
}

export interface RedisDeployment {
  name: string;
  skip: string | false;
  /** DIALTONE_REDIS_URL of a deployment for the test: the shared test Redis, or one started for it and gone at its end. */
  start(t: Test): Promise<string>;
}

/** Each way dialtone meets Redis, for suites that must pass on all of them. */
export const REDIS_DEPLOYMENTS: RedisDeployment[] = [
  { name: 'one Redis', skip: REDIS_URL ? false : 'DIALTONE_TEST_REDIS_URL is unset', start: async () => REDIS_URL },
  { name: 'a Redis Cluster', skip: SKIP_REDIS_SERVER, start: async (t) => (await startRedisCluster(t)).url },
  { name: 'a master behind a sentinel', skip: SKIP_REDIS_SERVER, start: async (t) => (await startRedisSentinel(t)).url },
];
