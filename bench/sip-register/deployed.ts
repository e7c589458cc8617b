import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort } from '../../test/helpers/ports';
import { ROOT, cpuMs, mysqlDatabase, startDaemon } from '../daemon';

/**
 * dialtone as deployed, for bench/sip-register/run.sh: `dialtone serve` on
 * SQLite or MariaDB, with Redis, and 10,000 extensions made as an operator
 * would (a bulk upload through the API), their SIP credentials read back
 * through the API into sipp's injection file. Prints `ready <sip port> <pid>`
 * and runs until SIGTERM, then stops the daemon and drops its database.
 *   npx ts-node-transpile-only bench/sip-register/deployed.ts <sqlite|mariadb> <redis-url> <workers> <users.csv> [daemon checkout]
 */
const [kind, redisUrl, workers, usersFile, root = ROOT] = process.argv.slice(2) as [string, string, string, string, string?];
const EXTENSIONS = Number(process.env.BENCH_EXTENSIONS ?? 10_000);
const DOMAIN = 'sip.test';

async function api(base: string, token: string, method: string, url: string, body?: string | object): Promise<any> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = typeof body === 'string' ? 'text/csv' : 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : null;
}

/** Seconds until the process used under 5 % of a core for two seconds running (at most five minutes). */
async function quiet(pid: number): Promise<number> {
  const started = Date.now();
  let calm = 0;
  while (calm < 2 && Date.now() - started < 300_000) {
    const before = cpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    calm = cpuMs(pid) - before < 50 ? calm + 1 : 0;
  }
  return Math.round((Date.now() - started) / 1000);
}

async function main(): Promise<void> {
  if (kind !== 'sqlite' && kind !== 'mariadb') throw new Error('the first argument is sqlite or mariadb');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-sip-bench-'));
  const mysqlBase = process.env.DIALTONE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
  const mysql = kind === 'mariadb' ? await mysqlDatabase(mysqlBase) : null;
  const [httpPort, sipPort, wsPort, tftpPort] = [await freeTcpPort(), await freeUdpPort(), await freeTcpPort(), await freeUdpPort()];
  const env = {
    DIALTONE_DATA_DIR: dir, DIALTONE_DB_URL: mysql?.url ?? `sqlite://${dir}/dialtone.sqlite`, DIALTONE_REDIS_URL: redisUrl,
    DIALTONE_SECRET_KEY: crypto.randomBytes(32).toString('hex'), DIALTONE_LOG_LEVEL: 'warn',
    DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(httpPort), DIALTONE_PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
    DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(sipPort), DIALTONE_SIP_WS_PORT: String(wsPort), DIALTONE_SIP_WORKERS: workers,
    DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(tftpPort),
  };
  const cli = spawnSync(process.execPath, [path.join(root, 'dist/daemon/cli/main.js'), 'token', 'create', '--operator', '--label', 'bench'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (cli.status !== 0) throw new Error(`token create: ${cli.stderr}`);
  const token = JSON.parse(cli.stdout).token as string;
  const daemon = await startDaemon(env, httpPort, root);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await daemon.stop();
    await mysql?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  try {
    const base = `http://127.0.0.1:${httpPort}/api/v1`;
    const { tenant } = await api(base, token, 'POST', '/tenants', { name: 'Bench', sipDomain: DOMAIN, admin: { firstName: 'Bench', lastName: 'Admin', email: 'admin@bench.example', username: 'bench.admin' } });
    const lines = ['First Name,Last Name,Email,Username,Extension'];
    for (let i = 0; i < EXTENSIONS; i++) lines.push(`Person${i},Bench,person${i}@bench.example,p${i},${10000 + i}`);
    const imported = await api(base, token, 'POST', `/users/bulk?tenantId=${tenant.id}`, lines.join('\r\n'));
    const extensions: { id: string; number: string }[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await api(base, token, 'GET', `/extensions?limit=500&offset=${offset}`);
      extensions.push(...page.items);
      if (extensions.length >= page.total) break;
    }
    const rows = new Array<string>(extensions.length);
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let i = next++; i < extensions.length; i = next++) {
        const c = await api(base, token, 'GET', `/extensions/${extensions[i]!.id}/sip-credentials`);
        if (c.domain !== DOMAIN) throw new Error(`extension ${extensions[i]!.number} registers at ${c.domain}`);
        rows[i] = `${extensions[i]!.number};[authentication username=${c.username} password=${c.password}]`;
      }
    }));
    fs.writeFileSync(usersFile, ['SEQUENTIAL', ...rows, ''].join('\n'));
    // The upload queued a welcome email per person: the registrations are measured once the daemon has sent them and is idle.
    const quietAfter = await quiet(daemon.child.pid!);
    process.stderr.write(`${kind}: ${imported.extensions} extensions imported, ${rows.length} SIP credentials read through the API; the daemon was idle ${quietAfter} s later\n`);
    process.stdout.write(`ready ${sipPort} ${daemon.child.pid}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    await stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
