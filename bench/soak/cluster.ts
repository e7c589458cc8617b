import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeTcpPort, freeUdpPort } from '../../test/helpers/ports';
import { api, eachConcurrently, importPeople } from '../api';
import { ROOT, idleAfter, mysqlDatabase, startDaemon } from '../daemon';

/**
 * Two `dialtone serve` nodes on one MariaDB database and one Redis, set up as
 * an operator would: a bulk upload of PHONES people with extensions, a Yealink
 * phone entered by MAC on each extension, and each phone's first fetch of its
 * file (which hands it its SIP and provisioning credentials, as a phone learns
 * them). Phone i belongs to node A when i is even, B when odd: it fetches from
 * and registers at its node. Writes into <work>:
 *   phones-a.csv, phones-b.csv  sipp injection: number;[authentication …];User-Agent
 *   pbx.csv                     sipp injection for the PBX: number;SIP port of the node it calls through
 *   fetches.json                what the hourly fetcher needs per phone
 *   nodes.json                  each node's pid and ports
 * then prints `ready` and runs until SIGTERM, when it stops both nodes and drops the database.
 *   npx ts-node-transpile-only bench/soak/cluster.ts <work dir> <redis url> <pbx port>
 */
const [work, redisUrl, pbxPort] = process.argv.slice(2) as [string, string, string];
const PHONES = Number(process.env.SOAK_PHONES ?? 10_000);
const DOMAIN = 'bench.example.net';
const MODEL = 'T46S';

export interface SoakNode { name: string; pid: number; http: number; sip: number; metrics: number }
export interface SoakPhone { node: string; http: number; file: string; userAgent: string; provUsername: string; provPassword: string }

const macOf = (i: number) => `001565${(0x100000 + i).toString(16).padStart(6, '0')}`;
const userAgentOf = (mac: string) => `Yealink SIP-${MODEL} 66.86.0.15 ${mac.match(/../g)!.join(':')}`;

/** `key = value` of a Yealink file. */
function setting(file: string, key: string): string {
  const m = new RegExp(`^${key.replace(/\./g, '\\.')} = (.*)$`, 'm').exec(file);
  if (!m) throw new Error(`the phone's file has no ${key}`);
  return m[1]!;
}

async function main(): Promise<void> {
  const mysql = await mysqlDatabase(process.env.DIALTONE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/');
  const secretKey = crypto.randomBytes(32).toString('hex');
  const dirs: string[] = [];
  const nodes: { name: string; env: Record<string, string>; ports: Omit<SoakNode, 'name' | 'pid'> }[] = [];
  for (const name of ['a', 'b']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dialtone-soak-${name}-`));
    dirs.push(dir);
    const [http, sip, tftp, metrics] = [await freeTcpPort(), await freeUdpPort(), await freeUdpPort(), await freeTcpPort()];
    nodes.push({
      name, ports: { http, sip, metrics },
      env: {
        DIALTONE_DATA_DIR: dir, DIALTONE_DB_URL: mysql.url, DIALTONE_REDIS_URL: redisUrl, DIALTONE_SECRET_KEY: secretKey,
        DIALTONE_LOG_LEVEL: 'warn', DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(http),
        DIALTONE_PUBLIC_URL: `http://127.0.0.1:${http}`, DIALTONE_SIP_PUBLIC_HOST: '127.0.0.1',
        DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(sip), DIALTONE_SIP_TRANSPORTS: 'udp',
        DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(tftp), DIALTONE_METRICS_LISTEN: `127.0.0.1:${metrics}`,
        DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPort};transport=udp`,
      },
    });
  }
  const running: { name: string; daemon: Awaited<ReturnType<typeof startDaemon>> }[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(running.map((r) => r.daemon.stop()));
    await mysql.drop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    process.exit(code);
  };
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));
  try {
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'dist/daemon/cli/main.js'), 'token', 'create', '--operator', '--label', 'soak'], { env: { ...process.env, ...a.env }, encoding: 'utf8' });
    if (cli.status !== 0) throw new Error(`token create: ${cli.stderr}`);
    const token = JSON.parse(cli.stdout).token as string;
    running.push({ name: 'a', daemon: await startDaemon(a.env, a.ports.http) });
    const base = `http://127.0.0.1:${a.ports.http}/api/v1`;
    const t0 = Date.now();
    const { imported, extensions } = await importPeople(base, token, DOMAIN, PHONES);
    await eachConcurrently(extensions, 8, async (e, i) => {
      await api(base, token, 'POST', '/devices', { mac: macOf(i), model: MODEL, extensionId: e.id });
    });
    process.stderr.write(`soak: ${imported} extensions imported and ${extensions.length} phones entered through node A in ${Math.round((Date.now() - t0) / 1000)} s\n`);
    running.push({ name: 'b', daemon: await startDaemon(b.env, b.ports.http) });

    const t1 = Date.now();
    const registers: string[][] = [[], []];
    const pbx: string[] = [];
    const fetches: SoakPhone[] = [];
    await eachConcurrently(extensions, 8, async (e, i) => {
      const node = nodes[i % 2]!;
      const mac = macOf(i);
      const userAgent = userAgentOf(mac);
      const res = await fetch(`http://127.0.0.1:${node.ports.http}/prov/${mac}.cfg`, { headers: { 'user-agent': userAgent } });
      const file = await res.text();
      if (res.status !== 200) throw new Error(`phone ${mac}'s first fetch from node ${node.name}: ${res.status} ${file.slice(0, 200)}`);
      const user = setting(file, 'account.1.user_name');
      registers[i % 2]!.push(`${user};[authentication username=${setting(file, 'account.1.auth_name')} password=${setting(file, 'account.1.password')}];${userAgent}`);
      // The PBX calls each phone through the other node than the one it registered at half the time: bindings are shared through Redis.
      pbx.push(`${e.number};${nodes[(i >> 1) % 2]!.ports.sip}`);
      fetches.push({ node: node.name, http: node.ports.http, file: `${mac}.cfg`, userAgent, provUsername: setting(file, 'static.auto_provision.server.username'), provPassword: setting(file, 'static.auto_provision.server.password') });
    });
    for (const [i, node] of nodes.entries()) fs.writeFileSync(path.join(work, `phones-${node.name}.csv`), ['SEQUENTIAL', ...registers[i]!, ''].join('\n'));
    fs.writeFileSync(path.join(work, 'pbx.csv'), ['RANDOM', ...pbx, ''].join('\n'));
    fs.writeFileSync(path.join(work, 'fetches.json'), JSON.stringify(fetches));
    const idle = await Promise.all(running.map((r) => idleAfter(r.daemon.child.pid!)));
    process.stderr.write(`soak: ${fetches.length} phones fetched their first file in ${Math.round((Date.now() - t1) / 1000)} s; both nodes idle ${Math.max(...idle)} s later\n`);
    const soakNodes: SoakNode[] = running.map((r, i) => ({ name: r.name, pid: r.daemon.child.pid!, ...nodes[i]!.ports }));
    fs.writeFileSync(path.join(work, 'nodes.json'), JSON.stringify(soakNodes));
    process.stdout.write('ready\n');
  } catch (err) {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    await stop(1);
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
