import os from 'node:os';
import { refuseWhileDraining } from './drain';
import type { Runtime } from '../core/component';
import type { Config } from '../config/options';
import type { SecretBox } from '../crypto/secret-box';
import { ConfigError } from '../config/load';
import { BuiltinEngine } from './builtin/engine';
import { DrachtioEngine } from './drachtio/engine';
import type { IncomingRequest, SipEngine } from './engine';
import { type ExtensionIdentities, extensionIdentities } from './extension-identity';
import type { SipIdentityLookup } from './identity';
import { Registrar, type RegistrarOptions } from './registrar/registrar';
import { MemoryStore } from './registrar/memory-store';
import { RedisStore } from './registrar/redis-store';
import type { RegistrarStore } from './registrar/store';
import { type ResyncResult, resyncContacts } from './resync';
import { LocalNodes, RedisNodes, type SipNodes } from './nodes';
import { type NodeHops, nodeHops } from './proxy/node-hop';

/** The SIP side of dialtone as other parts see it: the registrar's events, bindings, resync. */
export interface SipService {
  engine: SipEngine;
  registrar: Registrar;
  /** The host in our Via, Contact and Record-Route headers. */
  advertisedHost: string;
  /** The dialtone nodes sharing Redis, and the way to phones whose connection one of them holds. */
  nodes: SipNodes;
  hops: NodeHops;
  /** `host:port` phones and softphones register at. */
  registrarAddress(): string;
  /** `ws://host:port` for SIP over WebSocket, or null when that transport is off. */
  websocketUrl(): string | null;
  /** Sends the resync NOTIFY to every contact registered for `aor`; resolves with each answer. */
  resync(aor: string, event: string): Promise<ResyncResult[]>;
  /**
   * Hands the requests a service claims to it instead of the default routing
   * (the registrar today): the registration service claims its calls.
   * Services are asked in the order they were added.
   */
  serve(service: SipApplication): void;
  /**
   * SIGTERM: from now on a request that would start something new (outside
   * a dialog) is answered 503 with Retry-After, so the phone or PBX tries
   * another node; requests inside dialogs and answers still pass.
   */
  drain(retryAfterSeconds: number): void;
  /** Work under way that a drain waits for: the engine's transactions and the applications' calls. */
  busy(): number;
}

/** A part of dialtone that answers some SIP requests itself, such as the registration service. */
export interface SipApplication {
  /** True for requests this service answers: cheap, no I/O (it runs for every request). */
  owns(req: IncomingRequest): boolean;
  handle(req: IncomingRequest): void;
  /** Work of its own under way (calls in progress) that a drain waits for. */
  busy?(): number;
}

/** The host in our Via and Contact headers, when none is configured. */
function advertisedHost(sipHost: string, configured: string | null): string {
  if (configured) return configured;
  if (sipHost !== '0.0.0.0' && sipHost !== '::') return sipHost;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function makeEngine(rt: Runtime, advertisedHost: string, node: string): SipEngine {
  const c = rt.config;
  if (c.sipEngine === 'drachtio') {
    if (!c.drachtioSecret) throw new ConfigError('DIALTONE_DRACHTIO_SECRET is required with DIALTONE_SIP_ENGINE=drachtio');
    return new DrachtioEngine({ host: c.drachtioHost, port: c.drachtioPort, secret: c.drachtioSecret }, rt.log);
  }
  return new BuiltinEngine({ host: c.sipHost, port: c.sipPort, wsPort: c.sipWsPort, transports: c.sipTransports, advertisedHost, node, timerCMs: c.sipTimerC * 1000 }, rt.log);
}

/** The registrar's settings, the same in the daemon and in each registrar worker. */
export function registrarOptions(c: Config, secrets: SecretBox): RegistrarOptions {
  return {
    nonceSecret: secrets.derive('sip-nonce'),
    algorithms: c.sipDigestAlgorithms,
    nonceTtlMs: c.sipNonceSeconds * 1000,
    expiry: { min: c.sipExpiresMin, max: c.sipExpiresMax, default: c.sipExpiresMax },
    maxContacts: c.sipMaxContacts,
    lockout: { user: c.sipLockoutUser, source: c.sipLockoutSource, coolDownMs: c.sipLockoutSeconds * 1000 },
    sweepMs: 1000,
  };
}

export function createSipService(rt: Runtime, lookups: SipIdentityLookup[] = []): { service: SipService; store: RegistrarStore; identities: ExtensionIdentities; advertisedHost: string } {
  const c = rt.config;
  const host = advertisedHost(c.sipHost, c.sipPublicHost);
  const nodes: SipNodes = c.redisUrl ? new RedisNodes(c.redisUrl, rt.log) : new LocalNodes();
  const hops = nodeHops(nodes, rt.secrets.derive('sip-node-route'));
  const engine = makeEngine(rt, host, nodes.id);
  const store: RegistrarStore = c.redisUrl ? new RedisStore(c.redisUrl) : new MemoryStore();
  const identities = extensionIdentities({ knex: rt.db.knex, secrets: rt.secrets, changes: rt.changes });
  const registrar = new Registrar(store, [identities.lookup, ...lookups], registrarOptions(c, rt.secrets), rt.log);
  const applications: SipApplication[] = [];
  let retryAfter: number | null = null;
  engine.onRequest((req) => {
    if (refuseWhileDraining(req, retryAfter)) return;
    for (const app of applications) {
      if (app.owns(req)) {
        app.handle(req);
        return;
      }
    }
    registrar.handle(req);
  });
  const service: SipService = {
    engine,
    registrar,
    advertisedHost: host,
    nodes,
    hops,
    registrarAddress: () => `${host}:${engine.addresses().udp ?? engine.addresses().tcp ?? c.sipPort}`,
    websocketUrl: () => (engine.addresses().ws ? `ws://${host}:${engine.addresses().ws}` : null),
    async resync(aor, event) {
      return resyncContacts(engine, hops, aor, await registrar.bindings(aor), event);
    },
    serve(app) {
      applications.push(app);
    },
    drain(seconds) {
      retryAfter = seconds;
    },
    busy() {
      return applications.reduce((n, app) => n + (app.busy?.() ?? 0), engine.pending());
    },
  };
  return { service, store, identities, advertisedHost: host };
}
