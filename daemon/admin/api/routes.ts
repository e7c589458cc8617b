import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../core/component';
import { bearerAuth, requireOperator } from '../../http/auth';
import * as extensions from '../service/extensions';
import * as sites from '../service/sites';
import * as tenantPbx from '../service/tenant-pbx';
import * as tenants from '../service/tenants';
import * as users from '../service/users';
import { project } from './projection';
import { extensionBody, idParams, pageQuery, pbxBody, siteBody, userBody } from './schemas';

type Id = { Params: { id: string } };
type ListQuery = { limit?: number; offset?: number; fields?: string; [k: string]: unknown };

const USER_FIELDS = ['id', 'tenantId', 'firstName', 'lastName', 'email', 'username', 'kind', 'jobTitle', 'department', 'address', 'personalPhone', 'language', 'siteId', 'directory', 'status', 'isAdmin', 'disabledAt', 'createdAt', 'updatedAt'] as const;
const SITE_FIELDS = ['id', 'tenantId', 'name', 'address', 'timezone', 'language', 'createdAt', 'updatedAt'] as const;
const EXTENSION_FIELDS = ['id', 'tenantId', 'number', 'userId', 'siteId', 'callerId', 'voicemail', 'fax', 'forwarding', 'musicOnHold', 'recording', 'externalCalling', 'emergencyAddress', 'emergencyAddressSource', 'codecs', 'onlineAccess', 'createdAt', 'updatedAt'] as const;


export function adminRoutes(rt: Runtime) {
  const knex = rt.db.knex;
  const deps = { knex, changes: rt.changes, secrets: rt.secrets };
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));

    app.get('/tenants', { schema: { tags: ['tenants'], summary: 'Tenants the token can see' } }, async (req) => ({ items: await tenants.listTenants(knex, req.scope) }));
    app.post('/tenants', { schema: { tags: ['tenants'], summary: 'Create a tenant with its primary administrator (operator only)' } }, async (req, reply) => {
      requireOperator(req);
      reply.status(201);
      return tenants.createTenant(knex, req.body, rt.changes, req.scope.actor);
    });
    app.get<Id>('/tenants/:id', { schema: { tags: ['tenants'], params: idParams } }, async (req) => tenants.getTenant(knex, req.scope, req.params.id));
    app.patch<Id>('/tenants/:id', { schema: { tags: ['tenants'], params: idParams, summary: 'Rename, or change the primary administrator' } }, async (req) => tenants.updateTenant(knex, req.scope, req.params.id, req.body, rt.changes));
    // Which PBX a tenant's calls reach is the operator's infrastructure, not the tenant's to see or change.
    const defaultPbx = rt.config.pbxUri;
    app.get<Id>('/tenants/:id/pbx', { schema: { tags: ['tenants'], params: idParams, summary: 'The PBX the tenant\'s calls go to (operator only)' } }, async (req) => {
      requireOperator(req);
      return tenantPbx.getTenantPbx(knex, req.scope, req.params.id, defaultPbx);
    });
    app.put<Id>('/tenants/:id/pbx', { schema: { tags: ['tenants'], params: idParams, body: pbxBody, summary: 'Give the tenant a PBX of its own (operator only)' } }, async (req) => {
      requireOperator(req);
      return tenantPbx.setTenantPbx(knex, rt.changes, req.scope, req.params.id, req.body, defaultPbx);
    });
    app.delete<Id>('/tenants/:id/pbx', { schema: { tags: ['tenants'], params: idParams, summary: 'Return the tenant to DIALTONE_PBX_URI (operator only)' } }, async (req) => {
      requireOperator(req);
      return tenantPbx.clearTenantPbx(knex, rt.changes, req.scope, req.params.id, defaultPbx);
    });

    app.get<{ Querystring: ListQuery }>('/sites', {
      schema: { tags: ['sites'], querystring: { type: 'object', properties: { ...pageQuery, name: { type: 'string', maxLength: 100 } }, additionalProperties: false } },
    }, async (req) => {
      const page = await sites.listSites(knex, req.scope, req.query as never);
      return { ...page, items: project(page.items, req.query.fields, SITE_FIELDS) };
    });
    app.post('/sites', { schema: { tags: ['sites'], body: siteBody } }, async (req, reply) => {
      reply.status(201);
      return sites.createSite(knex, rt.changes, req.scope, req.body);
    });
    app.get<Id>('/sites/:id', { schema: { tags: ['sites'], params: idParams } }, async (req) => sites.getSite(knex, req.scope, req.params.id));
    app.patch<Id>('/sites/:id', { schema: { tags: ['sites'], params: idParams } }, async (req) => sites.patchSite(knex, rt.changes, req.scope, req.params.id, req.body));

    app.get<{ Querystring: ListQuery }>('/users', {
      schema: {
        tags: ['users'],
        querystring: {
          type: 'object', additionalProperties: false,
          properties: {
            ...pageQuery, name: { type: 'string', maxLength: 100 }, email: { type: 'string', maxLength: 254 }, username: { type: 'string', maxLength: 64 },
            status: { enum: ['active', 'disabled'] }, extension: { type: 'string', maxLength: 10 }, siteId: { type: 'string', maxLength: 64 },
          },
        },
      },
    }, async (req) => {
      const page = await users.listUsers(knex, req.scope, req.query as never);
      return { ...page, items: project(page.items, req.query.fields, USER_FIELDS) };
    });
    app.post('/users', { schema: { tags: ['users'], body: userBody } }, async (req, reply) => {
      reply.status(201);
      return users.createUser(knex, rt.changes, req.scope, req.body);
    });
    app.get<Id>('/users/:id', { schema: { tags: ['users'], params: idParams } }, async (req) => users.getUser(knex, req.scope, req.params.id));
    app.patch<Id>('/users/:id', { schema: { tags: ['users'], params: idParams, body: { ...userBody, required: [] } } }, async (req) => users.patchUser(knex, rt.changes, req.scope, req.params.id, req.body));
    app.delete<Id>('/users/:id', { schema: { tags: ['users'], params: idParams, summary: 'Always refused: profiles are disabled, never deleted' } }, async (req) => {
      await users.getUser(knex, req.scope, req.params.id);
      return users.deleteUser();
    });
    app.post<Id>('/users/:id/disable', { schema: { tags: ['users'], params: idParams, summary: 'Disable; extensions go to the primary administrator' } }, async (req) => users.disableUser(knex, rt.changes, req.scope, req.params.id));
    app.post<Id>('/users/:id/enable', { schema: { tags: ['users'], params: idParams } }, async (req) => users.enableUser(knex, rt.changes, req.scope, req.params.id));

    app.get<{ Querystring: ListQuery }>('/extensions', {
      schema: {
        tags: ['extensions'],
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQuery, number: { type: 'string', maxLength: 10 }, userId: { type: 'string', maxLength: 64 } } },
      },
    }, async (req) => {
      const page = await extensions.listExtensions(knex, req.scope, req.query as never);
      return { ...page, items: project(page.items, req.query.fields, EXTENSION_FIELDS) };
    });
    app.post('/extensions', { schema: { tags: ['extensions'], body: extensionBody } }, async (req, reply) => {
      reply.status(201);
      return extensions.createExtension(deps, req.scope, req.body);
    });
    app.get<Id>('/extensions/:id', { schema: { tags: ['extensions'], params: idParams } }, async (req) => extensions.getExtension(knex, req.scope, req.params.id));
    app.patch<Id>('/extensions/:id', { schema: { tags: ['extensions'], params: idParams, body: { ...extensionBody, required: [] } } }, async (req) => extensions.patchExtension(deps, req.scope, req.params.id, req.body));
    app.get<Id>('/extensions/:id/history', { schema: { tags: ['extensions'], params: idParams, summary: 'Who held the extension, and why it changed hands' } }, async (req) => ({
      items: await extensions.assignmentHistory(knex, req.scope, req.params.id),
    }));
    app.post<Id>('/extensions/:id/rotate-credentials', { schema: { tags: ['extensions'], params: idParams, summary: 'New SIP credentials; phones get them at their next fetch' } }, async (req, reply) => {
      await extensions.rotateSipCredentials(deps, req.scope, req.params.id);
      reply.status(204);
    });
  };
}
