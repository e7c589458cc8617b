import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort } from '../../test/helpers/ports';
import { api, eachConcurrently, importPeople } from '../api';
import { ROOT, idleAfter, mysqlDatabase, startDaemon } from '../daemon';

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
    const { imported, extensions } = await importPeople(base, token, DOMAIN, EXTENSIONS);
    const rows = new Array<string>(extensions.length);
    await eachConcurrently(extensions, 16, async (e, i) => {
      const c = await api(base, token, 'GET', `/extensions/${e.id}/sip-credentials`);
      if (c.domain !== DOMAIN) throw new Error(`extension ${e.number} registers at ${c.domain}`);
      rows[i] = `${e.number};[authentication username=${c.username} password=${c.password}]`;
    });
    fs.writeFileSync(usersFile, ['SEQUENTIAL', ...rows, ''].join('\n'));
    // The upload queued a welcome email per person: the registrations are measured once the daemon has sent them and is idle.
    const quietAfter = await idleAfter(daemon.child.pid!);
    process.stderr.write(`${kind}: ${imported} extensions imported, ${rows.length} SIP credentials read through the API; the daemon was idle ${quietAfter} s later\n`);
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
