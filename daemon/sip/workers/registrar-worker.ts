import type dgram from 'node:dgram';
import type { Config } from '../../config/options';
import { ChangeFeed } from '../../core/changes';
import { createLogger } from '../../core/log';
import { SecretBox } from '../../crypto/secret-box';
import { loadSecretKey } from '../../crypto/secret-key';
import { hearChanges } from '../../ops/change-relay';
import { activationIdentities } from '../../provisioning/activation';
import { openDatabase } from '../../storage/database';
import { BuiltinEngine } from '../builtin/engine';
import { extensionIdentities } from '../extension-identity';
import { Registrar } from '../registrar/registrar';
import { RedisStore } from '../registrar/redis-store';
import { refuseWhileDraining } from '../drain';
import { registrarOptions } from '../service';
import type { FromWorker, ToWorker } from './messages';
import { triage } from './triage';

/**
 * A registrar worker: a process of its own answering REGISTER and OPTIONS on
 * the daemon's UDP socket, which the daemon shares with it, so that a
 * registration storm is spread over more than one core. Bindings, nonce counts
 * and lockouts are in Redis, which every process shares. Whatever else
 * arrives here (calls to the registration service, answers to resyncs) is
 * handed to the daemon as it came, and every binding event is reported to it.
 */
function tell(message: FromWorker): void {
  process.send?.(message);
}

async function run(start: Extract<ToWorker, { type: 'start' }>, udp: dgram.Socket): Promise<void> {
  const config: Config = start.config;
  const log = createLogger(config.logLevel).child({ component: 'sip-worker', worker: process.pid });
  if (!config.redisUrl) throw new Error('a registrar worker needs DIALTONE_REDIS_URL');
  const secrets = new SecretBox(loadSecretKey(config.secretKey, config.dataDir).key);
  const db = openDatabase(config.dbUrl);
  const store = new RedisStore(config.redisUrl);
  // Changes are committed in the daemon (or another node), which relays them through Redis: this process only hears them.
  const changes = new ChangeFeed();
  const heard = hearChanges(changes, { redisUrl: config.redisUrl, log });
  const identities = extensionIdentities({ knex: db.knex, secrets, changes });
  heard.start();
  const registrar = new Registrar(store, [
    identities.lookup,
    activationIdentities(db.knex, secrets, config.activationDomain),
  ], registrarOptions(config, secrets), log);
  const engine = new BuiltinEngine({
    host: config.sipHost, port: config.sipPort, wsPort: null, transports: ['udp'], advertisedHost: start.advertisedHost,
    sharedUdp: udp,
    handOver: (datagram, address, port) => {
      const verdict = triage(datagram);
      if (verdict === 'hand-over') tell({ type: 'datagram', datagram, address, port });
      return verdict !== 'answer';
    },
  }, log);
  // The daemon drains its workers with itself: a REGISTER they took meanwhile would be new work on a node that is going away.
  let retryAfter: number | null = null;
  process.on('message', (m: ToWorker) => {
    if (m.type !== 'drain') return;
    retryAfter = m.retryAfterSeconds;
    tell({ type: 'draining' });
  });
  engine.onRequest((req) => {
    if (!refuseWhileDraining(req, retryAfter)) registrar.handle(req);
  });
  // The daemon alone sweeps for expired bindings: this registrar's sweeper is never started, and reports only what REGISTERs here changed.
  for (const type of ['registered', 'unregistered', 'expired'] as const) registrar.events.on(type, (event) => tell({ type: 'event', event }));
  await engine.start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await engine.stop();
    await store.close();
    heard.close();
    identities.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  // The daemon went away without stopping us: nobody is left to hand anything to.
  process.once('disconnect', () => void stop());
  tell({ type: 'ready' });
}

process.once('message', (message: Extract<ToWorker, { type: 'start' }>, handle: unknown) => {
  run(message, handle as dgram.Socket).catch((err: unknown) => {
    createLogger(message.config?.logLevel ?? 'info').error({ err }, 'SIP registrar worker failed to start');
    process.exit(1);
  });
});
