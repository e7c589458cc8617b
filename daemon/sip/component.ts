import type { Component, ComponentFactory, Runtime } from '../core/component';
import { ConfigError } from '../config/load';
import { BuiltinEngine } from './builtin/engine';
import { RegistrarWorkers } from './workers/pool';
import { sipRoutes } from './api';
import type { ExtensionIdentities } from './extension-identity';
import type { SipIdentityLookup } from './identity';
import { type SipService, createSipService } from './service';

export interface SipComponent extends Component {
  sip: SipService;
  workers: RegistrarWorkers | null;
  identities: ExtensionIdentities;
}

/**
 * The SIP engine and registrar. `lookups` add identity sources after the
 * extensions (the activation lookup for pending phones goes here).
 */
/** How often a drain looks whether the SIP work under way has finished. */
const DRAIN_POLL_MS = 100;

export function sipComponentWith(lookups: (rt: Runtime) => SipIdentityLookup[] = () => []): (rt: Runtime) => SipComponent {
  return (rt) => {
    const { service, store, identities, advertisedHost } = createSipService(rt, lookups(rt));
    const workers = registrarWorkers(rt, service, advertisedHost);
    return {
      name: 'sip',
      sip: service,
      workers,
      identities,
      async http(app) {
        await app.register(sipRoutes(rt, service), { prefix: '/api/v1' });
      },
      async start() {
        await service.engine.start();
        const { udp, tcp } = service.engine.addresses();
        await service.nodes.start({ host: service.advertisedHost, ...(udp ? { udp } : {}), ...(tcp ? { tcp } : {}) });
        service.registrar.start();
        if (workers) await workers.run((service.engine as BuiltinEngine).udpSocket()!);
        rt.log.info({ engine: service.engine.name, ports: service.engine.addresses(), store: rt.config.redisUrl ? 'redis' : 'memory', workers: workers?.pids().length ?? 0 }, 'SIP listening');
      },
      async drain() {
        service.drain(Math.max(1, rt.config.drainSeconds));
        await workers?.drain(Math.max(1, rt.config.drainSeconds));
        while (service.busy() > 0) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      },
      async stop() {
        await service.nodes.stop();
        await workers?.stop();
        service.registrar.stop();
        await service.engine.stop();
        await store.close();
        identities.close();
      },
    };
  };
}

/** The registrar workers `DIALTONE_SIP_WORKERS` asks for, if any; what they hand over goes to this process's engine and registrar. */
function registrarWorkers(rt: Runtime, service: SipService, advertisedHost: string): RegistrarWorkers | null {
  const c = rt.config;
  if (c.sipWorkers === 0) return null;
  const engine = service.engine;
  if (!c.redisUrl) throw new ConfigError('DIALTONE_SIP_WORKERS: registrar workers share bindings through Redis; set DIALTONE_REDIS_URL');
  if (!(engine instanceof BuiltinEngine) || !c.sipTransports.includes('udp')) {
    throw new ConfigError('DIALTONE_SIP_WORKERS: registrar workers share the built-in engine\'s UDP socket; use DIALTONE_SIP_ENGINE=builtin with udp in DIALTONE_SIP_TRANSPORTS');
  }
  return new RegistrarWorkers(c.sipWorkers, { type: 'start', config: c, advertisedHost }, {
    datagram: (datagram, address, port) => engine.injectUdp(datagram, address, port),
    event: (event) => service.registrar.events.emit(event.type, event),
  }, rt.log);
}

export const sipComponent: ComponentFactory = sipComponentWith();
