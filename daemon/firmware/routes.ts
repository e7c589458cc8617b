import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { ValidationError } from '../core/errors';
import { unsupportedMediaType } from '../http/errors';
import type { Runtime } from '../core/component';
import { bearerAuth, requireOperator } from '../http/auth';
import { idParams } from '../admin/api/schemas';
import { TooLargeError, type ImageStore } from './image-store';
import { addImage, cancelRollout, createRollout, getImage, listImages, listRollouts, rolloutWithProgress, widenRollout } from './service';

type Id = { Params: { id: string } };
type UploadQuery = { Querystring: { model: string; fileName: string; version?: string } };

const OCTETS = 'application/octet-stream';

const image = {
  type: 'object',
  properties: {
    id: { type: 'string' }, vendor: { type: 'string' }, model: { type: 'string' }, version: { type: 'string' },
    fileName: { type: 'string', description: 'The name it is served as: characters phones refuse become _' },
    sha256: { type: 'string' }, size: { type: 'integer' }, createdAt: { type: 'string' },
  },
};

const stage = {
  percent: { type: 'integer', minimum: 1, maximum: 100, description: 'Share of the phones in scope, chosen by a hash of the MAC: the same phones at every fetch, and a wider stage keeps them' },
  deviceIds: { type: 'array', items: { type: 'string' }, maxItems: 1000, description: 'Named devices of the tenant and the image\'s model: these beat any site or tenant rollout' },
};

const rolloutBody = {
  type: 'object',
  properties: {
    imageId: { type: 'string' }, tenantId: { type: 'string' }, siteId: { type: ['string', 'null'], description: 'Only this site\'s phones (its extensions\', else its users\')' },
    ...stage,
  },
  required: ['imageId', 'tenantId'],
  description: 'Exactly one of percent or deviceIds',
};

const rollout = {
  type: 'object',
  properties: {
    id: { type: 'string' }, imageId: { type: 'string' }, model: { type: 'string' }, version: { type: 'string' }, tenantId: { type: 'string' },
    siteId: { type: ['string', 'null'] }, stage: { type: 'object', properties: stage }, status: { enum: ['active', 'cancelled'] },
    createdAt: { type: 'string' }, updatedAt: { type: 'string' },
  },
};

const progress = {
  type: 'object',
  properties: {
    targeted: { type: 'integer', description: 'Phones this rollout is now the target of (a more specific rollout takes its phones)' },
    fetchedImage: { type: 'integer' }, waiting: { type: 'integer' }, done: { type: 'integer' }, failed: { type: 'integer' }, stuck: { type: 'integer' },
    complete: { type: 'boolean' },
    devices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          deviceId: { type: 'string' }, mac: { type: 'string' }, reportedVersion: { type: ['string', 'null'] }, imageFetchedAt: { type: ['string', 'null'] },
          lastSeenAt: { type: ['string', 'null'] },
          state: { enum: ['waiting', 'fetched', 'done', 'failed', 'stuck'], description: 'failed: came back after the image still reporting another version; stuck: not seen for DIALTONE_FIRMWARE_STUCK_MINUTES after it' },
        },
      },
    },
  },
};

/** /api/v1/firmware: images uploaded per model, and their staged rollouts (operator only). */
export function firmwareRoutes(rt: Runtime, images: ImageStore, pendingWrites: () => Promise<void>) {
  const knex = rt.db.knex;
  const deps = { knex, changes: rt.changes };
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));
    app.addHook('preHandler', async (req) => requireOperator(req));
    // The body stays a stream: an image is hashed and written as it arrives, never held in memory.
    app.addContentTypeParser(OCTETS, (_req, payload, done) => done(null, payload));

    app.post<UploadQuery>('/firmware', {
      config: { accepts: [OCTETS] },
      schema: {
        tags: ['firmware'], summary: 'Upload a firmware image for one model: the file is the body, its name and model in the query',
        consumes: [OCTETS],
        body: { type: 'string', format: 'binary', description: 'The image, streamed; at most DIALTONE_FIRMWARE_MAX_MB' },
        querystring: {
          type: 'object', additionalProperties: false, required: ['model', 'fileName'],
          properties: {
            model: { type: 'string', maxLength: 64, description: 'A model of GET /api/v1/device-models' },
            fileName: { type: 'string', maxLength: 255, description: 'The image\'s own name (T46S-66.86.0.15.rom); Grandstream phones ask for theirs by name (gxp2170fw.bin)' },
            version: { type: 'string', maxLength: 64, description: 'As the phone reports it in its User-Agent; read from the file name when left out' },
          },
        },
        response: { 201: image },
      },
    }, async (req, reply) => {
      const limit = rt.config.firmwareMaxMb * 1024 * 1024;
      try {
        if (Number(req.headers['content-length'] ?? 0) > limit) throw new TooLargeError(limit);
        if (req.body === undefined || req.body === null) throw new ValidationError([{ field: 'file', reason: 'is empty: send the image as the body' }]);
        // JSON has a parser of its own on the whole API: a JSON body arrives parsed, not as a file.
        if (!(req.body instanceof Readable)) return reply.status(415).send(unsupportedMediaType([OCTETS], req.headers['content-type']));
        const body = req.body;
        const created = await addImage({ knex, images, maxBytes: limit }, req.query, body);
        reply.status(201);
        return created;
      } catch (err) {
        // Whatever of the body is still coming is not read: the connection ends with the answer.
        reply.header('connection', 'close');
        if (err instanceof TooLargeError) return reply.status(413).send({ error: 'too_large', message: err.message, details: err.details });
        throw err;
      }
    });
    app.get<{ Querystring: { model?: string } }>('/firmware', {
      schema: { tags: ['firmware'], summary: 'Uploaded images, by model and newest first', querystring: { type: 'object', additionalProperties: false, properties: { model: { type: 'string', maxLength: 64 } } } },
    }, async (req) => ({ items: await listImages(knex, req.query.model) }));
    app.get<Id>('/firmware/:id', { schema: { tags: ['firmware'], params: idParams, response: { 200: image } } }, async (req) => getImage(knex, req.params.id));

    app.post('/firmware/rollouts', {
      schema: { tags: ['firmware'], summary: 'Roll an image out to a tenant or one of its sites, to a share of its phones or to named devices', body: rolloutBody, response: { 201: rollout } },
    }, async (req, reply) => {
      reply.status(201);
      return createRollout(deps, req.body, req.scope.actor);
    });
    app.get<{ Querystring: { tenantId?: string } }>('/firmware/rollouts', {
      schema: { tags: ['firmware'], summary: 'Rollouts, newest first', querystring: { type: 'object', additionalProperties: false, properties: { tenantId: { type: 'string', maxLength: 64 } } } },
    }, async (req) => ({ items: await listRollouts(knex, req.query.tenantId) }));
    app.get<Id>('/firmware/rollouts/:id', {
      schema: {
        tags: ['firmware'], params: idParams, summary: 'A rollout and each targeted phone\'s progress: fetched the image, reports the version, failed or stuck',
        response: { 200: { ...rollout, properties: { ...rollout.properties, progress } } },
      },
    }, async (req) => {
      await pendingWrites();
      return rolloutWithProgress(knex, req.params.id, Date.now(), rt.config.firmwareStuckMinutes * 60_000);
    });
    app.patch<Id>('/firmware/rollouts/:id', {
      schema: { tags: ['firmware'], params: idParams, summary: 'Widen the stage: a larger percent, or more devices (a stage never narrows)', body: { type: 'object', properties: stage }, response: { 200: rollout } },
    }, async (req) => widenRollout(deps, req.params.id, req.body, req.scope.actor));
    app.delete<Id>('/firmware/rollouts/:id', {
      schema: { tags: ['firmware'], params: idParams, summary: 'Cancel: its phones fall back to another rollout that reaches them, or stay on what they run', response: { 200: rollout } },
    }, async (req) => cancelRollout(deps, req.params.id, req.scope.actor));
  };
}
