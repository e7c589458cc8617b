import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Ajv from 'ajv';
import http from 'node:http';
import type { Logger } from '../core/log';
import { installErrorHandler } from './errors';
import { FrontDoor } from './front-door';
import { installJsonParser } from './json-body';

export const BODY_LIMIT = 1024 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    /** Plain handlers for paths that skip fastify; see FrontDoor. */
    frontDoor: FrontDoor;
  }
}

/**
 * The shared HTTP server. Parameters and query strings are validated by
 * their JSON schemas (with coercion, since they arrive as text); bodies are
 * validated by the domain rules, which name every offending field with a
 * reason a person can act on, so their schemas document the API without
 * being a second, diverging rule set.
 */
export async function createHttpServer(log: Logger, version: string): Promise<FastifyInstance> {
  const debugging = log.isLevelEnabled('debug');
  const frontDoor = new FrontDoor();
  const app = Fastify({
    // The same server fastify would make (its timeouts included), with the front door and its raw lane ahead of fastify's own handler.
    serverFactory: (handler, opts) => {
      const timeouts = opts as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
      const server = http.createServer(frontDoor.listener(handler));
      server.keepAliveTimeout = timeouts.keepAliveTimeout;
      server.requestTimeout = timeouts.requestTimeout;
      server.setTimeout(timeouts.connectionTimeout);
      frontDoor.laneFor(server, 'connection');
      return server;
    },
    loggerInstance: log.child({ component: 'http' }) as FastifyBaseLogger,
    // One line per request from the hook below instead of fastify's two: phones fetch often.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
    // Errors raised before routing (an overlong path parameter, a bad URL) get the same shape as every other answer.
    frameworkErrors: (err, _req, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 400;
      (reply as FastifyReply).status(status).send({ error: status === 414 ? 'uri_too_long' : 'bad_request', message: err.message.slice(0, 200), details: [] });
    },
  });
  const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return () => true;
    return ajv.compile(schema);
  });
  app.decorate('frontDoor', frontDoor);
  installJsonParser(app);
  installErrorHandler(app);
  // Phones fetch often and their fetches are in the device timeline; one line per request only when debugging.
  app.addHook('onResponse', async (req, reply) => {
    if (debugging) {
      req.log.debug({ method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    }
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'dialtone admin API', version, description: 'Tenants, sites, user profiles and extensions of the dialtone provisioning daemon.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  return app as unknown as FastifyInstance;
}
