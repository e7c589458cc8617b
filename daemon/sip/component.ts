import type { Component, ComponentFactory, Runtime } from '../core/component';
import { sipRoutes } from './api';
import type { SipIdentityLookup } from './identity';
import { type SipService, createSipService } from './service';

export interface SipComponent extends Component {
  sip: SipService;
}

/**
 * The SIP engine and registrar. `lookups` add identity sources after the
 * extensions (the activation lookup for pending phones goes here).
 */
export function sipComponentWith(lookups: (rt: Runtime) => SipIdentityLookup[] = () => []): (rt: Runtime) => SipComponent {
  return (rt) => {
    const { service, store } = createSipService(rt, lookups(rt));
    return {
      name: 'sip',
      sip: service,
      async http(app) {
        await app.register(sipRoutes(rt, service), { prefix: '/api/v1' });
      },
      async start() {
        await service.engine.start();
        service.registrar.start();
        rt.log.info({ engine: service.engine.name, ports: service.engine.addresses(), store: rt.config.redisUrl ? 'redis' : 'memory' }, 'SIP listening');
      },
      async stop() {
        service.registrar.stop();
        await service.engine.stop();
        await store.close();
      },
    };
  };
}

export const sipComponent: ComponentFactory = sipComponentWith();
