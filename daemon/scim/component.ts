import type { Component, Runtime } from '../core/component';
import { scimRoutes } from './routes';
import { scimTokenRoutes } from './token-routes';

/** SCIM 2.0 under /scim/v2 for identity providers, and the admin API for its tokens. */
export function scimComponent(rt: Runtime): Component {
  return {
    name: 'scim',
    async http(app) {
      await app.register(scimRoutes(rt), { prefix: '/scim/v2' });
      await app.register(scimTokenRoutes(rt), { prefix: '/api/v1' });
    },
  };
}
