// dialtone's registrar alone, for the benchmark: the built-in engine and the
// store the daemon would use, with the bench users (1000..10999, password
// pw<user>, realm sip.test) in place of the database lookup.
// Usage: node registrar-under-test.mjs <port> [redis-url]
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { BuiltinEngine } = require('../../dist/daemon/sip/builtin/engine.js');
const { Registrar } = require('../../dist/daemon/sip/registrar/registrar.js');
const { MemoryStore } = require('../../dist/daemon/sip/registrar/memory-store.js');
const { RedisStore } = require('../../dist/daemon/sip/registrar/redis-store.js');
const { createLogger } = require('../../dist/daemon/core/log.js');

const [port, redisUrl] = [Number(process.argv[2]), process.argv[3]];
const log = createLogger('warn');
const store = redisUrl ? new RedisStore(redisUrl, `dialtone:bench:${process.pid}:`) : new MemoryStore();
const lookup = async (domain, username) => {
  const n = Number(username);
  if (domain !== 'sip.test' || !Number.isInteger(n) || n < 1000 || n > 100999) return null;
  return { kind: 'extension', tenantId: 'bench', extensionId: username, deviceId: null, username, password: `pw${username}`, realm: 'sip.test', aor: `${username}@sip.test` };
};
const registrar = new Registrar(store, [lookup], {
  nonceSecret: Buffer.alloc(32, 3), algorithms: ['MD5', 'SHA-256'], nonceTtlMs: 300_000,
  expiry: { min: 60, max: 3600, default: 3600 }, maxContacts: 5,
  lockout: { source: 1e9, user: 1e9, coolDownMs: 60_000 }, sweepMs: 1000,
}, log);
const engine = new BuiltinEngine({ host: '127.0.0.1', port, wsPort: null, transports: ['udp'], advertisedHost: '127.0.0.1' }, log);
engine.onRequest((req) => registrar.handle(req));
await engine.start();
registrar.start();
process.stdout.write('ready\n');
const mb = (n) => Math.round(n / 1048576);
setInterval(() => {
  const m = process.memoryUsage();
  process.stdout.write(`rss ${mb(m.rss)} heap ${mb(m.heapUsed)} external ${mb(m.external)} buffers ${mb(m.arrayBuffers)}\n`);
}, 1000).unref();
const stop = async () => {
  registrar.stop();
  await engine.stop();
  await store.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
