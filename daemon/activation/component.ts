import type { Component, Runtime } from '../core/component';
import { bearerAuth } from '../http/auth';
import { currentCodeFor, issueCode } from './codes';

/** Activation codes as administrators see them: issued per extension, shown on the device report. */
export function activationComponent(rt: Runtime): Component {
  const deps = { knex: rt.db.knex, secrets: rt.secrets };
  return {
    name: 'activation',
    async http(app) {
      await app.register(async (api) => {
        api.addHook('preHandler', bearerAuth(rt.db.knex));
        const params = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] };
        api.post<{ Params: { id: string } }>('/extensions/:id/activation-code', {
          schema: { tags: ['extensions'], params, summary: 'Issue a device activation code (the previous unused one stops working)' },
        }, async (req, reply) => {
          reply.status(201);
          return issueCode(deps, req.scope, req.params.id);
        });
        api.get<{ Params: { id: string } }>('/extensions/:id/activation-code', {
          schema: { tags: ['extensions'], params, summary: 'The live activation code of an extension' },
        }, async (req) => currentCodeFor(rt.db.knex, rt.secrets, req.scope, req.params.id));
      }, { prefix: '/api/v1' });
    },
  };
}
