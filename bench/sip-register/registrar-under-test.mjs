// dialtone's registrar alone, for the benchmark: the built-in engine and the
// store the daemon would use, with the bench users (1000..100999, password
// pw<user>, realm sip.test) answered from memory in place of the database lookup.
// With BENCH_WORKERS=n, n registrar workers share the UDP socket, started and
// relayed by the daemon's own worker pool (the workers here use the bench users too).
// Usage: node registrar-under-test.mjs <port> [redis-url]
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
const require = createRequire(import.meta.url);
const { BuiltinEngine } = require('../../dist/daemon/sip/builtin/engine.js');
const { Registrar } = require('../../dist/daemon/sip/registrar/registrar.js');
const { MemoryStore } = require('../../dist/daemon/sip/registrar/memory-store.js');
const { RedisStore } = require('../../dist/daemon/sip/registrar/redis-store.js');
const { RegistrarWorkers } = require('../../dist/daemon/sip/workers/pool.js');
const { createLogger } = require('../../dist/daemon/core/log.js');

const log = createLogger('warn');
const lookup = async (domain, username) => {
  const n = Number(username);
  if (domain !== 'sip.test' || !Number.isInteger(n) || n < 1000 || n > 100999) return null;
  return { kind: 'extension', tenantId: 'bench', extensionId: username, deviceId: null, username, password: `pw${username}`, realm: 'sip.test', aor: `${username}@sip.test` };
};
const registrarFor = (store) => new Registrar(store, [lookup], {
  nonceSecret: Buffer.alloc(32, 3), algorithms: ['MD5', 'SHA-256'], nonceTtlMs: 300_000,
  expiry: { min: 60, max: 3600, default: 3600 }, maxContacts: 5,
  lockout: { source: 1e9, user: 1e9, coolDownMs: 60_000 }, sweepMs: 1000,
}, log);
const { triage } = require('../../dist/daemon/sip/workers/triage.js');

if (process.env.BENCH_WORKER === '1') {
  process.once('message', async (start, udp) => {
    // The daemon's key prefix: the worker shares its bindings, as in the daemon.
    const store = new RedisStore(start.config.redisUrl, `dialtone:bench:${process.ppid}:`);
    const registrar = registrarFor(store);
    const engine = new BuiltinEngine({
      host: '127.0.0.1', port: 0, wsPort: null, transports: ['udp'], advertisedHost: '127.0.0.1', sharedUdp: udp,
      handOver: (datagram, address, port) => {
        const verdict = triage(datagram);
        if (verdict === 'hand-over') process.send({ type: 'datagram', datagram, address, port });
        return verdict !== 'answer';
      },
    }, log);
    engine.onRequest((req) => registrar.handle(req));
    await engine.start();
    process.once('SIGTERM', async () => {
      await engine.stop();
      await store.close();
      process.exit(0);
    });
    process.send({ type: 'ready' });
  });
} else {
  const [port, redisUrl] = [Number(process.argv[2]), process.argv[3]];
  const workerCount = Number(process.env.BENCH_WORKERS ?? 0);
  const store = redisUrl ? new RedisStore(redisUrl, `dialtone:bench:${process.pid}:`) : new MemoryStore();
  const registrar = registrarFor(store);
  const engine = new BuiltinEngine({ host: '127.0.0.1', port, wsPort: null, transports: ['udp'], advertisedHost: '127.0.0.1' }, log);
  engine.onRequest((req) => registrar.handle(req));
  await engine.start();
  registrar.start();
  let workers = null;
  if (workerCount > 0) {
    if (!redisUrl) throw new Error('BENCH_WORKERS needs a Redis URL');
    process.env.BENCH_WORKER = '1';
    workers = new RegistrarWorkers(workerCount, { type: 'start', config: { redisUrl }, advertisedHost: '127.0.0.1' }, {
      datagram: (d, address, p) => engine.injectUdp(d, address, p),
      event: (e) => registrar.events.emit(e.type, e),
    }, log, fileURLToPath(import.meta.url));
    await workers.run(engine.udpSocket());
  }
  process.stdout.write('ready\n');
  const mb = (n) => Math.round(n / 1048576);
  // Resident memory of the daemon and its workers together.
  const rss = () => {
    let kb = 0;
    for (const pid of [process.pid, ...(workers?.pids() ?? [])]) {
      try {
        kb += Number(/VmRSS:\s+(\d+)/.exec(require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      } catch {}
    }
    return Math.round(kb / 1024);
  };
  setInterval(() => {
    const m = process.memoryUsage();
    process.stdout.write(`rss ${rss()} heap ${mb(m.heapUsed)} external ${mb(m.external)} buffers ${mb(m.arrayBuffers)}\n`);
  }, 1000).unref();
  const stop = async () => {
    await workers?.stop();
    registrar.stop();
    await engine.stop();
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
