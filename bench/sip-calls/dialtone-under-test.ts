// dialtone as deployed for the calls benchmark: `dialtone serve` (compiled,
// with its Node flags) on a fresh SQLite database seeded with the bench
// tenant's extensions (username <number>xbench, password pw<number>), the
// PBX stand-in at DIALTONE_PBX_URI, and Redis when given.
// Usage: npx ts-node-transpile-only bench/sip-calls/dialtone-under-test.ts <sip port> <pbx port> <phones> [redis-url]
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { rssMb, startDaemon } from '../daemon';
import { seed } from '../seed';

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  });
});

async function main(): Promise<void> {
  const [sipPort, pbxPort, phones, redis] = process.argv.slice(2);
  if (!sipPort || !pbxPort || !phones) throw new Error('usage: dialtone-under-test.ts <sip port> <pbx port> <phones> [redis-url]');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-calls-'));
  const key = 'ab'.repeat(32);
  const dbUrl = `sqlite://${path.join(dir, 'dialtone.sqlite')}`;
  await seed(dbUrl, key, Number(phones));
  const httpPort = await freePort();
  const daemon = await startDaemon({
    DIALTONE_DATA_DIR: dir, DIALTONE_DB_URL: dbUrl, DIALTONE_SECRET_KEY: key, DIALTONE_LOG_LEVEL: 'warn',
    DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(httpPort),
    DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freePort()),
    DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: sipPort, DIALTONE_SIP_TRANSPORTS: 'udp',
    DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPort};transport=udp`,
    ...(redis ? { DIALTONE_REDIS_URL: redis } : {}),
  }, httpPort);
  console.log('ready');
  const timer = setInterval(() => console.log(`rss ${rssMb(daemon.child.pid!)}`), 1000);
  process.once('SIGTERM', async () => {
    clearInterval(timer);
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
