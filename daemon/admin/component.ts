import type { Component, Runtime } from '../core/component';
import { adminRoutes } from './api/routes';

/** The admin API under /api/v1, and the health probes an orchestrator polls. */
export function adminComponent(rt: Runtime): Component {
  return {
    name: 'admin-api',
    async http(app) {
      app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
      // Each dependency with its state, so an operator sees which one is down while it is down.
      app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
        const report = await rt.health.report();
        const ready = Object.values(report).every((d) => d.up);
        reply.status(ready ? 200 : 503);
        const body: Record<string, string> = { status: ready ? 'ready' : 'unavailable' };
        for (const [name, d] of Object.entries(report)) body[name] = d.up ? 'up' : `down: ${d.reason}`;
        return body;
      });
      await app.register(adminRoutes(rt), { prefix: '/api/v1' });
    },
  };
}
