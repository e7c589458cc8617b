import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadSecretKey } from '../../daemon/crypto/secret-key';
import { SecretBox } from '../../daemon/crypto/secret-box';
import { parseMac } from '../../daemon/provisioning/mac';
import { newDeviceRow } from '../../daemon/provisioning/store/devices';
import { openDatabase } from '../../daemon/storage/database';
import { MYSQL_URL, freshDatabase } from '../helpers/databases';
import { freeTcpPort, freeUdpPort } from '../helpers/ports';

const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');
const KEY = 'ab'.repeat(32);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('two daemons on one MariaDB and Redis: a once-only job runs on one of them', { skip: MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set' }, async (t) => {
  const db = await freshDatabase('mysql');
  t.teardown(() => db.dispose());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-nodes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const base = { PATH: process.env.PATH, DIALTONE_DB_URL: db.url, DIALTONE_SECRET_KEY: KEY, DIALTONE_DATA_DIR: dir };
  const migrated = spawnSync(process.execPath, [CLI, 'migrate'], { env: base, encoding: 'utf8' });
  t.equal(migrated.status, 0, migrated.stderr);

  // A pending device that stopped asking 40 days ago, for the expiry both nodes would otherwise run at start.
  const knex = openDatabase(db.url);
  const row = newDeviceRow(new SecretBox(loadSecretKey(KEY, dir).key), { mac: parseMac('0015654aa937')!, tenantId: null, vendor: 'yealink', model: null, extensionId: null });
  const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
  await knex.knex('devices').insert({ ...row, created_at: old, last_seen_at: old });
  t.teardown(() => knex.close());

  const redisPort = await freeTcpPort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => void redis.kill('SIGKILL'));

  const nodes: { proc: ChildProcess; http: number; out: () => string; exited: Promise<number | null> }[] = [];
  for (let i = 0; i < 2; i++) {
    const http = await freeTcpPort();
    const proc = spawn(process.execPath, [CLI, 'serve'], {
      env: {
        ...base, DIALTONE_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`, DIALTONE_LOG_LEVEL: 'debug', DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(http),
        DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(await freeUdpPort()),
        DIALTONE_SIP_TRANSPORTS: 'udp,tcp',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
    t.teardown(() => void proc.kill('SIGKILL'));
    nodes.push({ proc, http, out: () => out, exited });
  }
  for (const n of nodes) await until('both nodes listening', () => /SIP listening/.test(n.out()));
  for (const n of nodes) {
    await until('both nodes ready', async () => (await fetch(`http://127.0.0.1:${n.http}/readyz`)).status === 200);
    t.same(await (await fetch(`http://127.0.0.1:${n.http}/readyz`)).json(), { status: 'ready', database: 'up', redis: 'up', sip: 'up' });
  }
  await until('the stale pending device to be removed', async () => (await knex.knex('devices').where('id', row.id as string).first()) === undefined);
  const all = nodes.map((n) => n.out()).join('');
  const count = (re: RegExp) => all.match(new RegExp(re.source, 'g'))?.length ?? 0;
  t.equal(count(/"job":"pending-device-expiry","msg":"once-only job: running here"/), 1, 'one node ran the expiry');
  t.equal(count(/"job":"pending-device-expiry","msg":"once-only job: another process holds the lease"/), 1, 'the other left it');
  t.equal(count(/removed pending devices that stopped asking/), 1);

  for (const n of nodes) n.proc.kill('SIGTERM');
  for (const n of nodes) t.equal(await n.exited, 0, 'each node drains and exits 0');
});
