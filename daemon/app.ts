import type { FastifyInstance } from 'fastify';
import { accountsComponent } from './accounts/component';
import { activationComponent } from './activation/component';
import { activationCodeOf } from './activation/welcome';
import { adminComponent } from './admin/component';
import { pbxComponent } from './pbx/component';
import { provisioningComponent } from './provisioning/component';
import { scimComponent } from './scim/component';
import type { Config } from './config/options';
import { ChangeFeed } from './core/changes';
import type { Component, ComponentFactory, Runtime } from './core/component';
import { createLogger, type Logger } from './core/log';
import { SecretBox } from './crypto/secret-box';
import { loadSecretKey } from './crypto/secret-key';
import { createHttpServer } from './http/server';
import { migrate, openDatabase } from './storage/database';
import { sipComponentWith } from './sip/component';
import { activationIdentities } from './provisioning';
import { phonesComponent } from './phones/component';
import { callsComponent } from './sip/proxy/component';
import { version } from './version';
import { checkListeners, listenErrorFor, plannedListeners } from './ops/listeners';
import { opsComponent } from './ops/component';
import { Health } from './ops/health';
import { Metrics } from './ops/metrics';
import { LocalLeases, RedisLeases } from './ops/leases';
import { relayChanges } from './ops/change-relay';
import { sipMetrics } from './sip/metrics';

/**
 * SIP, with pending phones as registrar identities; the phones' files, which name the registrar SIP bound;
 * the phone lifecycle that needs the SIP service; calls through it; and PBX sync, which sends the PBX's
 * calls through it.
 */
function telephony(rt: Runtime): Component[] {
  const sip = sipComponentWith((r) => [activationIdentities(r.db.knex, r.secrets, r.config.activationDomain)])(rt);
  sipMetrics(rt, sip.sip);
  const provisioning = provisioningComponent(rt, sip.sip);
  return [sip, provisioning, phonesComponent(rt, sip.sip, provisioning.timeline), callsComponent(rt, sip.sip), pbxComponent(rt, () => sip.sip.registrarAddress())];
}

/** The parts of the daemon, in start order. Each is a plugin on the small core below. */
export const COMPONENTS: ComponentFactory[] = [
  opsComponent, adminComponent, activationComponent,
  (rt) => accountsComponent(rt, { activationCode: activationCodeOf(rt) }), scimComponent, telephony,
];

export interface App {
  runtime: Runtime;
  http: FastifyInstance;
  components: Component[];
  /**
   * Binds the listeners; the HTTP port actually bound is in `httpAddress`.
   * Every planned address is checked first: one that cannot be bound throws a
   * ListenError naming its option before any listener opens.
   */
  listen(): Promise<void>;
  /** SIGHUP: each component takes on the live options already written into `runtime.config`. */
  reload(): Promise<void>;
  httpAddress(): { host: string; port: number };
  /**
   * SIGTERM: no new HTTP connection, and each component takes no new work;
   * resolves once the HTTP requests, transfers, SIP transactions and calls
   * under way have finished. close() follows (at once, or when the daemon's
   * DIALTONE_DRAIN_SECONDS are up).
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function buildApp(config: Config, opts: { log?: Logger; components?: ComponentFactory[] } = {}): Promise<App> {
  const log = opts.log ?? createLogger(config.logLevel);
  const key = loadSecretKey(config.secretKey, config.dataDir);
  if (key.generatedAt) {
    log.warn({ file: key.generatedAt }, 'DIALTONE_SECRET_KEY is unset: generated a key into the data dir. Back it up: without it stored SIP passwords cannot be read.');
  }
  const db = openDatabase(config.dbUrl);
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ migrations: applied }, 'database migrated');
  const changes = new ChangeFeed();
  // Before any component subscribes, so that caches know from the start that they cannot yet hear other processes.
  const relay = config.redisUrl ? relayChanges(changes, { redisUrl: config.redisUrl, log }) : null;
  const runtime: Runtime = { config, log, db, secrets: new SecretBox(key.key), changes, metrics: new Metrics(version), health: new Health(),
    leases: config.redisUrl ? new RedisLeases(config.redisUrl, log) : new LocalLeases(),
  };
  let http: FastifyInstance;
  let components: Component[];
  try {
    http = await createHttpServer(log, version);
    components = (opts.components ?? COMPONENTS).flatMap((make) => make(runtime));
    for (const c of components) if (c.http) await c.http(http);
  } catch (err) {
    // A component refusing its configuration must not leave the database pool holding the process open.
    await relay?.close();
    await runtime.leases.close();
    await db.close();
    throw err;
  }
  let started: Component[] = [];
  let httpClosed: Promise<void> | null = null;
  // HTTP first: no new connection from here, while downloads under way finish; a keep-alive
  // connection is closed as soon as its response is out rather than at its idle timeout.
  const closeHttp = () => (httpClosed ??= (async () => {
    const idle = setInterval(() => http.server.closeIdleConnections(), 100);
    try {
      await http.close();
    } finally {
      clearInterval(idle);
    }
  })());
  const httpAddress = () => {
    const a = http.server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: config.httpHost, port: config.httpPort };
  };
  return {
    runtime,
    http,
    components,
    async listen() {
      const planned = plannedListeners(config);
      await checkListeners(planned);
      try {
        await http.listen({ host: config.httpHost, port: config.httpPort });
      } catch (err) {
        throw listenErrorFor({ option: 'DIALTONE_HTTP_PORT', protocol: 'tcp', host: config.httpHost, port: config.httpPort }, err);
      }
      log.info({ url: `http://${config.httpHost}:${httpAddress().port}`, publicUrl: config.publicUrl }, 'HTTP listening (admin API, provisioning, /api/docs)');
      relay?.start();
      for (const c of components) {
        await c.start?.();
        started.push(c);
      }
    },
    httpAddress,
    async reload() {
      for (const c of started) await c.reload?.();
    },
    async drain() {
      await Promise.all([closeHttp(), ...started.map((c) => c.drain?.().catch((err: unknown) => log.error({ err, component: c.name }, 'drain failed')))]);
    },
    async close() {
      await closeHttp();
      for (const c of started.reverse()) await c.stop?.().catch((err: unknown) => log.error({ err, component: c.name }, 'stop failed'));
      started = [];
      await relay?.close();
      await runtime.leases.close();
      await db.close();
    },
  };
}
