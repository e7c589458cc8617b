import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../core/component';
import { bearerAuth } from '../http/auth';
import { tenantForCreate } from '../admin/service/scope';
import { adoptExtensions } from './adopt';

export function adoptRoutes(rt: Runtime) {
  const knex = rt.db.knex;
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));
    app.post<{ Querystring: { tenantId?: string; dryRun?: boolean } }>('/extensions/adopt', {
      schema: {
        tags: ['extensions'],
        summary: 'Create profiles for extensions that have none (from caller ID name and voicemail email), never for extensions marked unassigned; the report flags profiles to clean up',
        querystring: {
          type: 'object', additionalProperties: false,
          properties: { tenantId: { type: 'string', maxLength: 64, description: 'Only with an operator token' }, dryRun: { type: 'boolean', default: false } },
        },
      },
    }, async (req) => {
      const tenantId = await tenantForCreate(knex, req.scope, req.query.tenantId);
      return adoptExtensions(knex, rt.changes, req.scope, tenantId, req.query.dryRun ?? false);
    });
  };
}
