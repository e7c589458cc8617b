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

/**
 * SIP, with pending phones as registrar identities; the phones' files, which name the registrar SIP bound;
 * the phone lifecycle that needs the SIP service; calls through it; and PBX sync, which sends the PBX's
 * calls through it.
 */
function telephony(rt: Runtime): Component[] {
  const sip = sipComponentWith((r) => [activationIdentities(r.db.knex, r.secrets, r.config.activationDomain)])(rt);
  return [sip, provisioningComponent(rt, sip.sip), phonesComponent(rt, sip.sip), callsComponent(rt, sip.sip), pbxComponent(rt, () => sip.sip.registrarAddress())];
}

/** The parts of the daemon, in start order. Each is a plugin on the small core below. */
export const COMPONENTS: ComponentFactory[] = [
  adminComponent, activationComponent,
  (rt) => accountsComponent(rt, { activationCode: activationCodeOf(rt) }), scimComponent, telephony,
];

export interface App {
  runtime: Runtime;
  http: FastifyInstance;
  components: Component[];
  /** Binds the listeners; the HTTP port actually bound is in `httpAddress`. */
  listen(): Promise<void>;
  httpAddress(): { host: string; port: number };
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
  const runtime: Runtime = { config, log, db, secrets: new SecretBox(key.key), changes: new ChangeFeed() };
  let http: FastifyInstance;
  let components: Component[];
  try {
    http = await createHttpServer(log, version);
    components = (opts.components ?? COMPONENTS).flatMap((make) => make(runtime));
    for (const c of components) if (c.http) await c.http(http);
  } catch (err) {
    // A component refusing its configuration must not leave the database pool holding the process open.
    await db.close();
    throw err;
  }
  let started: Component[] = [];
  const httpAddress = () => {
    const a = http.server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: config.httpHost, port: config.httpPort };
  };
  return {
    runtime,
    http,
    components,
    async listen() {
      await http.listen({ host: config.httpHost, port: config.httpPort });
      log.info({ url: `http://${config.httpHost}:${httpAddress().port}`, publicUrl: config.publicUrl }, 'HTTP listening (admin API, provisioning, /api/docs)');
      for (const c of components) {
        await c.start?.();
        started.push(c);
      }
    },
    httpAddress,
    async close() {
      for (const c of started.reverse()) await c.stop?.().catch((err: unknown) => log.error({ err, component: c.name }, 'stop failed'));
      started = [];
      await http.close();
      await db.close();
    },
  };
}
