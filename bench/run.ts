import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort } from '../test/helpers/ports';
import { cpuSplitMs, rssMb, startDaemon } from './daemon';
import { seed, type SeededDevice } from './seed';
import { tftpGet } from './tftp-client';

/**
 * dialtone against the usual static servers, on loopback, with the same load
 * and the same bytes: a TFTP boot storm against tftpd-hpa, keep-alive HTTP
 * fetches against nginx (wrk), and dialtone's memory with every file cached.
 * Usage: npm run build && npx ts-node-transpile-only bench/run.ts [devices] [seconds]
 * BENCH_DAEMON_ROOT names another checkout whose build runs instead (to compare two builds in the same minutes).
 */
const DEVICES = Number(process.argv[2] ?? 10_000);
const SECONDS = Number(process.argv[3] ?? 10);
const CONCURRENCY = 50;
const REALM = 'dialtone-provisioning';

const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

function shuffled<T>(list: T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Warm-up only: a transfer lost under load is tried again, so the peers get every file. */
async function fetchWithRetry(port: number, name: string): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tftpGet(port, name, 10_000);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

async function storm(port: number, names: string[]): Promise<{ perSecond: number; p99: number; failed: number; why: string }> {
  const queue = shuffled(names);
  const latencies: number[] = [];
  let failed = 0;
  const reasons = new Map<string, number>();
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
      const t0 = process.hrtime.bigint();
      try {
        await tftpGet(port, name);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (err) {
        failed++;
        const reason = (err as Error).message.split(' ')[0] === 'error' ? (err as Error).message.split(' ').slice(0, 2).join(' ') : (err as Error).message.split(' ')[0]!;
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const why = [...reasons].map(([r, n]) => `${n} ${r}`).join(', ');
  return { perSecond: Math.round(latencies.length / seconds), p99: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0), failed, why };
}

function wrk(url: string, script: string): { rps: number; requests: number; p99: string } {
  const r = spawnSync('wrk', ['-t2', `-c${CONCURRENCY}`, `-d${SECONDS}s`, '--latency', '-s', script, url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const p99 = /99%\s+(\S+)/.exec(r.stdout)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1];
  if (non2xx) console.log(`  (${url}: ${non2xx} non-2xx answers)`);
  return { rps: Math.round(rps), requests, p99 };
}

function wrkScript(file: string, devices: SeededDevice[], nonce: string): void {
  const rows = devices.map((d) => {
    const uri = `/prov/${d.file}`;
    const ha1 = md5(`${d.provUsername}:${REALM}:${d.provPassword}`);
    const response = md5(`${ha1}:${nonce}:00000001:bench:auth:${md5(`GET:${uri}`)}`);
    const header = `Digest username="${d.provUsername}", realm="${REALM}", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="bench", response="${response}"`;
    return `{"${uri}", '${header}'}`;
  });
  fs.writeFileSync(file, `local reqs = {\n${rows.join(',\n')}\n}\nrequest = function()\n  local r = reqs[math.random(#reqs)]\n  return wrk.format("GET", r[1], {["Authorization"] = r[2]})\nend\n`);
}

async function main(): Promise<void> {
  for (const bin of ['wrk', 'nginx', '/usr/sbin/in.tftpd']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) throw new Error(`${bin} is missing (apt-get install wrk nginx-light tftpd-hpa)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-bench-'));
  const files = path.join(dir, 'files');
  fs.mkdirSync(path.join(files), { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const secretKey = crypto.randomBytes(32).toString('hex');
  const [httpPort, tftpPort, peerTftp, nginxPort] = [await freeTcpPort(), await freeUdpPort(), await freeUdpPort(), await freeTcpPort()];
  console.log(`seeding ${DEVICES} provisioned devices…`);
  const devices = await seed(`sqlite://${dir}/dialtone.sqlite`, secretKey, DEVICES);
  const daemon = await startDaemon({
    DIALTONE_DATA_DIR: dir, DIALTONE_DB_URL: `sqlite://${dir}/dialtone.sqlite`, DIALTONE_SECRET_KEY: secretKey, DIALTONE_HTTP_HOST: '127.0.0.1',
    DIALTONE_HTTP_PORT: String(httpPort), DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(tftpPort), DIALTONE_LOG_LEVEL: 'warn',
    DIALTONE_PUBLIC_URL: `http://127.0.0.1:${httpPort}`, DIALTONE_PROV_RATE_LIMIT: '100000',
  }, httpPort, process.env.BENCH_DAEMON_ROOT);
  const peers: { stop(): void }[] = [];
  try {
    console.log('warming: every file once over TFTP, written to disk for the peers…');
    const queue = [...devices];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let d = queue.pop(); d !== undefined; d = queue.pop()) fs.writeFileSync(path.join(files, d.file), await fetchWithRetry(tftpPort, d.file), { mode: 0o644 });
    }));
    const memory = rssMb(daemon.child.pid!);

    const tftpd = spawn('/usr/sbin/in.tftpd', ['-L', '-s', files, '-a', `127.0.0.1:${peerTftp}`, '-u', 'root'], { stdio: 'ignore' });
    peers.push({ stop: () => tftpd.kill() });
    await new Promise((r) => setTimeout(r, 300));
    const names = devices.map((d) => d.file);
    console.log(`TFTP storm: ${names.length} per-MAC files, ${CONCURRENCY} concurrent clients…`);
    const ours = await storm(tftpPort, names);
    const theirs = await storm(peerTftp, names);

    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, `worker_processes 1;\nerror_log ${dir}/nginx-error.log;\npid ${dir}/nginx.pid;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/nginx-tmp;\n  proxy_temp_path ${dir}/nginx-tmp;\n  fastcgi_temp_path ${dir}/nginx-tmp;\n  uwsgi_temp_path ${dir}/nginx-tmp;\n  scgi_temp_path ${dir}/nginx-tmp;\n  server {\n    listen 127.0.0.1:${nginxPort};\n    location /prov/ { alias ${files}/; }\n  }\n}\n`);
    const nginx = spawn('nginx', ['-c', conf, '-p', dir, '-g', 'daemon off; user root;'], { stdio: 'ignore' });
    peers.push({ stop: () => nginx.kill() });
    await new Promise((r) => setTimeout(r, 500));
    const challenge = await fetch(`http://127.0.0.1:${httpPort}/prov/${devices[0]!.file}`);
    const nonce = /nonce="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')![1]!;
    const script = path.join(dir, 'requests.lua');
    wrkScript(script, devices, nonce);
    console.log(`HTTP: random per-MAC files, keep-alive, ${CONCURRENCY} connections, ${SECONDS}s each (dialtone with digest authentication)…`);
    // CPU per request barely depends on what else the machine runs, unlike requests per second.
    const ourCpu = perRequest(daemon.child.pid!, () => wrk(`http://127.0.0.1:${httpPort}`, script));
    const httpOurs = ourCpu.result;
    const theirCpu = perRequest(nginxWorker(nginx.pid!), () => wrk(`http://127.0.0.1:${nginxPort}`, script));
    const httpTheirs = theirCpu.result;
    const memoryAfter = rssMb(daemon.child.pid!);

    console.log('');
    console.log(`| measure | dialtone | peer | ratio |`);
    console.log(`| --- | --- | --- | --- |`);
    console.log(`| TFTP files/s (vs tftpd-hpa) | ${ours.perSecond} | ${theirs.perSecond} | ${(ours.perSecond / theirs.perSecond).toFixed(2)} |`);
    console.log(`| TFTP p99 ms (vs tftpd-hpa) | ${ours.p99} | ${theirs.p99} | ${(ours.p99 / Math.max(1, theirs.p99)).toFixed(2)} |`);
    console.log(`| TFTP failed transfers | ${ours.failed} ${ours.why} | ${theirs.failed} ${theirs.why} | |`);
    console.log(`| HTTP requests/s (vs nginx) | ${httpOurs.rps} | ${httpTheirs.rps} | ${(httpOurs.rps / Math.max(1, httpTheirs.rps)).toFixed(2)} |`);
    console.log(`| HTTP p99 latency | ${httpOurs.p99} | ${httpTheirs.p99} | |`);
    console.log(`| HTTP CPU per request (µs, user + system) | ${ourCpu.user.toFixed(1)} + ${ourCpu.system.toFixed(1)} | ${theirCpu.user.toFixed(1)} + ${theirCpu.system.toFixed(1)} (the worker) | ${((ourCpu.user + ourCpu.system) / Math.max(0.1, theirCpu.user + theirCpu.system)).toFixed(2)} |`);
    console.log(`| dialtone RSS, ${DEVICES} devices cached (MB) | ${memory} (after load: ${memoryAfter}) | | target < 200 |`);
  } finally {
    for (const p of peers) p.stop();
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A wrk run and the CPU a process spent in it per request answered, in µs, user and system apart. */
function perRequest<R extends { requests: number }>(pid: number, run: () => R): { result: R; user: number; system: number } {
  const before = cpuSplitMs(pid);
  const result = run();
  const after = cpuSplitMs(pid);
  const per = (ms: number) => (ms * 1000) / Math.max(1, result.requests);
  return { result, user: per(after.user - before.user), system: per(after.system - before.system) };
}

/** nginx's one worker process, the child of the master spawned. */
function nginxWorker(master: number): number {
  const children = fs.readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).map(Number).filter(Boolean);
  if (children.length !== 1) throw new Error(`nginx has ${children.length} workers, not one`);
  return children[0]!;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
