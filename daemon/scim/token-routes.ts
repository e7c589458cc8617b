import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../core/component';
import { bearerAuth } from '../http/auth';
import { tenantForCreate } from '../admin/service/scope';
import { recordAudit } from '../audit/log';
import { createScimToken, revokeScimToken } from './tokens';

/** Administrators create and revoke the SCIM tokens they give to an identity provider. */
export function scimTokenRoutes(rt: Runtime) {
  const knex = rt.db.knex;
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));
    app.post<{ Body: { label?: unknown; tenantId?: unknown } }>('/scim-tokens', {
      schema: { tags: ['scim'], summary: 'Create a SCIM bearer token for this tenant (shown once)', body: { type: 'object', properties: { label: { type: 'string' }, tenantId: { type: 'string', description: 'Only with an operator token' } } } },
    }, async (req, reply) => {
      const tenantId = await tenantForCreate(knex, req.scope, req.body?.tenantId);
      const label = typeof req.body?.label === 'string' && req.body.label.trim() ? req.body.label.trim() : 'identity provider';
      const created = await createScimToken(knex, tenantId, label);
      await recordAudit(knex, { tenantId, actor: req.scope.actor, kind: 'scim_token', objectId: created.id, action: 'created', detail: { label } });
      reply.status(201);
      return { id: created.id, tenantId, label, token: created.token, scimBaseUrl: `${rt.config.publicUrl}/scim/v2` };
    });
    app.delete<{ Params: { id: string } }>('/scim-tokens/:id', { schema: { tags: ['scim'], summary: 'Revoke a SCIM token' } }, async (req, reply) => {
      const tenantId = await revokeScimToken(knex, req.scope.tenantId, req.params.id);
      await recordAudit(knex, { tenantId, actor: req.scope.actor, kind: 'scim_token', objectId: req.params.id, action: 'revoked' });
      reply.status(204).send();
    });
  };
}
