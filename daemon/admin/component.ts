import type { Component, Runtime } from '../core/component';
import { isReachable } from '../storage/database';
import { adminRoutes } from './api/routes';

/** The admin API under /api/v1, and the health probes an orchestrator polls. */
export function adminComponent(rt: Runtime): Component {
  return {
    name: 'admin-api',
    async http(app) {
      app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
      app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
        const db = await isReachable(rt.db);
        reply.status(db ? 200 : 503);
        return { status: db ? 'ready' : 'unavailable', database: db ? 'reachable' : 'unreachable' };
      });
      await app.register(adminRoutes(rt), { prefix: '/api/v1' });
    },
  };
}
