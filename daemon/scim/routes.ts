import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../core/component';
import { ScimError } from './errors';
import { resourceTypes, schemas, serviceProviderConfig } from './discovery';
import { createScimUser, deleteScimUser, getScimUser, type ListQuery, listScimUsers, patchScimUser, replaceScimUser, type ScimDeps, toScimError } from './service';
import { scimTokenTenant } from './tokens';
import { project } from './projection';

const CONTENT_TYPE = 'application/scim+json; charset=utf-8';

type Id = { Params: { id: string } };
type Q = { Querystring: ListQuery & { attributes?: string; excludedAttributes?: string } };

/** SCIM 2.0 (RFC 7643/7644) for identity providers: Users, and the discovery documents. */
export function scimRoutes(rt: Runtime) {
  const knex = rt.db.knex;
  const d: ScimDeps = { knex, changes: rt.changes, baseUrl: rt.config.publicUrl };
  return async function register(app: FastifyInstance): Promise<void> {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      let scim = toScimError(err);
      if (!scim && err.validation) scim = new ScimError(400, 'invalidValue', err.message);
      if (!scim && err.statusCode && err.statusCode < 500) scim = new ScimError(err.statusCode, err.statusCode === 400 ? 'invalidSyntax' : null, err.message);
      if (!scim) {
        req.log.error({ err }, 'SCIM request failed');
        scim = new ScimError(500, null, 'internal error; see the daemon log');
      }
      return reply.status(scim.status).header('content-type', CONTENT_TYPE).send(scim.body());
    });
    app.addHook('onSend', async (_req, reply, payload) => {
      if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.header('content-type', CONTENT_TYPE);
      return payload;
    });
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const found = m ? await scimTokenTenant(knex, m[1]!) : null;
      if (!found) {
        reply.header('www-authenticate', 'Bearer realm="dialtone SCIM"');
        throw new ScimError(401, null, 'send Authorization: Bearer <SCIM token> (POST /api/v1/scim-tokens creates one)');
      }
      req.scope = { tenantId: found.tenantId, actor: `scim:${found.tokenId}` };
    });

    const listQuery = {
      type: 'object', additionalProperties: true,
      properties: {
        filter: { type: 'string', maxLength: 2000 }, startIndex: { type: 'integer' }, count: { type: 'integer' },
        sortBy: { type: 'string', maxLength: 200 }, sortOrder: { enum: ['ascending', 'descending'] },
        attributes: { type: 'string', maxLength: 1000 }, excludedAttributes: { type: 'string', maxLength: 1000 },
      },
    };
    const hide = { hide: true };

    app.get('/ServiceProviderConfig', { schema: hide }, async () => serviceProviderConfig(d.baseUrl));
    app.get('/ResourceTypes', { schema: hide }, async () => {
      const list = resourceTypes(d.baseUrl);
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
    });
    app.get<Id>('/ResourceTypes/:id', { schema: hide }, async (req) => {
      const found = resourceTypes(d.baseUrl).find((r) => r.id === req.params.id);
      if (!found) throw new ScimError(404, null, `no resource type ${req.params.id.slice(0, 64)}; dialtone serves User`);
      return found;
    });
    app.get('/Schemas', { schema: hide }, async () => {
      const list = schemas(d.baseUrl);
      return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
    });
    app.get<Id>('/Schemas/:id', { schema: hide }, async (req) => {
      const found = schemas(d.baseUrl).find((s) => s.id.toLowerCase() === req.params.id.toLowerCase());
      if (!found) throw new ScimError(404, null, `no schema ${req.params.id.slice(0, 100)}`);
      return found;
    });

    app.get<Q>('/Users', { schema: { ...hide, querystring: listQuery } }, async (req) => {
      const page = await listScimUsers(d, req.scope, req.query);
      return { ...page, Resources: page.Resources.map((r) => project(r, req.query.attributes, req.query.excludedAttributes)) };
    });
    app.post<{ Body: ListQuery & { attributes?: string[]; excludedAttributes?: string[]; schemas?: string[] } }>('/Users/.search', { schema: hide }, async (req) => {
      const b = req.body ?? {};
      if (!Array.isArray(b.schemas) || !b.schemas.includes('urn:ietf:params:scim:api:messages:2.0:SearchRequest')) {
        throw new ScimError(400, 'invalidSyntax', 'schemas must be ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]');
      }
      const page = await listScimUsers(d, req.scope, b);
      return { ...page, Resources: page.Resources.map((r) => project(r, b.attributes?.join(','), b.excludedAttributes?.join(','))) };
    });
    app.post('/Users', { schema: hide }, async (req, reply) => {
      const created = await createScimUser(d, req.scope, req.body);
      reply.status(201).header('location', (created.meta as { location: string }).location);
      return created;
    });
    app.get<Id & Q>('/Users/:id', { schema: hide }, async (req) => project(await getScimUser(d, req.scope, req.params.id), req.query.attributes, req.query.excludedAttributes));
    app.put<Id>('/Users/:id', { schema: hide }, async (req) => replaceScimUser(d, req.scope, req.params.id, req.body));
    app.patch<Id>('/Users/:id', { schema: hide }, async (req) => patchScimUser(d, req.scope, req.params.id, req.body));
    // Anything else under /scim/v2 (Groups, Bulk, /Me) answers in SCIM's own error format.
    app.all('/*', { schema: hide }, async (req) => {
      throw new ScimError(404, null, `${req.method} ${req.url.split('?')[0]!.slice(0, 100)} is not served: dialtone's SCIM has Users, ServiceProviderConfig, ResourceTypes and Schemas`);
    });
    app.delete<Id>('/Users/:id', { schema: hide }, async (req, reply) => {
      await deleteScimUser(d, req.scope, req.params.id);
      // Said on the wire as well as in the docs: nothing was deleted.
      reply.header('dialtone-deleted-as', 'disabled; the profile is kept, its extensions went to the primary administrator, and SCIM no longer lists it');
      reply.status(204).send();
    });
  };
}
