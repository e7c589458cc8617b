import type { FastifyInstance } from 'fastify';
import { idParams, pageQuery } from '../../admin/api/schemas';
import type { Runtime } from '../../core/component';
import { bearerAuth } from '../../http/auth';
import { deviceEvents } from '../events';
import type { ServerDefaults } from '../model/build';
import { createDevice, findDevice, getDevice, listDevices, patchDevice } from '../service/devices';
import { getOverrides, putOverrides } from '../service/overrides';
import { previewDevice } from '../service/preview';
import type { TemplateRenderer } from '../templates/render';
import { FAMILIES } from '../vendors/families';

type Id = { Params: { id: string } };

const overridesDoc = {
  type: 'object',
  description: 'codecs, timezone, ntpServers, language, voicemailNumber, transport, registrar {host, port}, outboundProxy {host, port}, keys [{index, type: line|blf|speed-dial|park, value, label, module}], pickupPrefix, firmwareUrl, idleText, directory (false: no corporate directory)',
};

const deviceBody = {
  type: 'object',
  properties: {
    tenantId: { type: 'string', description: 'Only with an operator token (or implied by extensionId)' },
    mac: { type: 'string', description: 'With or without separators, any case: 00:15:65:4A:A9:37, 0015654aa937' },
    model: { type: 'string', description: 'A supported model: GET /api/v1/device-models' },
    extensionId: { type: ['string', 'null'], description: 'The extension on the phone, or on port 1 of an ATA' },
    ports: { type: 'object', description: 'An ATA\'s other ports: {"2": "<extension id>", "3": null}; null frees a port. Needs extensionId (port 1)' },
    overrides: overridesDoc,
    replace: { type: 'boolean', description: 'true moves the extension from the phone that has it (which is left without one) to this phone; without it that case answers 409 naming the current phone' },
  },
  required: ['mac', 'model'],
};

const nullableString = { type: ['string', 'null'] };

const eventsResponse = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          at: { type: 'string', description: 'When it happened; for a run of identical fetches, the first of them' },
          lastAt: { type: 'string', description: 'The last of the run: equal to `at` for a single event' },
          count: { type: 'integer', minimum: 1, description: 'Identical fetches (same file, transport, source, User-Agent and result) within a minute of the first are counted on one entry' },
          kind: { enum: ['fetch', 'registration', 'resync', 'created', 'assigned', 'call'] },
          transport: nullableString,
          file: nullableString,
          source: nullableString,
          userAgent: nullableString,
          result: { type: 'string' },
          detail: nullableString,
          appliedAt: { ...nullableString, description: 'For a resync the phone answered: when it then fetched its configuration (for a run of fetches that began before it, the last of the run), or null while it has not' },
        },
        required: ['id', 'at', 'lastAt', 'count', 'kind', 'transport', 'file', 'source', 'userAgent', 'result', 'detail'],
      },
    },
  },
  required: ['items'],
};

/** /api/v1/devices and the per-tenant and per-site provisioning overrides. */
/** `pendingWrites` completes the timeline entries not yet written, so a reader sees every fetch. */
export function deviceRoutes(rt: Runtime, server: ServerDefaults, renderer: TemplateRenderer, pendingWrites: () => Promise<void>) {
  const knex = rt.db.knex;
  const deps = { knex, changes: rt.changes, secrets: rt.secrets };
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));

    app.get('/device-models', { schema: { tags: ['devices'], summary: 'Vendor families and models dialtone provisions' } }, async () => ({
      items: FAMILIES.map((f) => ({ vendor: f.id, name: f.name, models: f.models.map((m) => m.name) })),
    }));
    app.post('/devices', { schema: { tags: ['devices'], body: deviceBody, summary: 'Enter a phone by MAC and model, optionally on an extension' } }, async (req, reply) => {
      reply.status(201);
      return createDevice(deps, req.scope, req.body);
    });
    app.get<{ Querystring: { mac?: string; extensionId?: string; status?: 'pending' | 'unassigned' | 'assigned'; limit?: number; offset?: number } }>('/devices', {
      schema: {
        tags: ['devices'],
        querystring: {
          type: 'object', additionalProperties: false,
          properties: { limit: pageQuery.limit, offset: pageQuery.offset, mac: { type: 'string', maxLength: 32 }, extensionId: { type: 'string', maxLength: 64 }, status: { enum: ['pending', 'unassigned', 'assigned'] } },
        },
      },
    }, async (req) => {
      await pendingWrites();
      return listDevices(knex, req.scope, req.query);
    });
    app.get<Id>('/devices/:id', { schema: { tags: ['devices'], params: idParams } }, async (req) => {
      await pendingWrites();
      return getDevice(knex, req.scope, req.params.id);
    });
    app.patch<Id>('/devices/:id', { schema: { tags: ['devices'], params: idParams, body: { ...deviceBody, required: [] }, summary: 'Change model, extension (null frees it and the ports), ports or overrides' } },
      async (req) => patchDevice(deps, req.scope, req.params.id, req.body));
    app.get<Id>('/devices/:id/config', { schema: { tags: ['devices'], params: idParams, summary: 'The files the device would get, secrets masked' } },
      async (req) => previewDevice(knex, rt.secrets, server, renderer, req.scope, req.params.id));
    app.get<Id & { Querystring: { limit?: number } }>('/devices/:id/events', {
      schema: { tags: ['devices'], params: idParams, querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } } }, summary: 'Timeline: fetches, registrations, resyncs, newest first', response: { 200: eventsResponse } },
    }, async (req) => {
      const device = await findDevice(knex, req.scope, req.params.id);
      await pendingWrites();
      return { items: await deviceEvents(knex, device.id, req.query.limit ?? 100) };
    });

    for (const kind of ['tenant', 'site'] as const) {
      app.get<Id>(`/${kind}s/:id/provisioning-overrides`, { schema: { tags: ['devices'], params: idParams } }, async (req) => getOverrides(knex, req.scope, kind, req.params.id));
      app.put<Id>(`/${kind}s/:id/provisioning-overrides`, { schema: { tags: ['devices'], params: idParams, body: overridesDoc, summary: `Replace the provisioning overrides of a ${kind}` } },
        async (req) => putOverrides(knex, rt.changes, req.scope, kind, req.params.id, req.body));
    }
  };
}
