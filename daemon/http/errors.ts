import type { FastifyError, FastifyInstance } from 'fastify';
import { DomainError, type FieldProblem } from '../core/errors';

/** The one error shape every API answer uses: `{error, message, details: [{field, reason}]}`. */
export interface ErrorBody {
  error: string;
  message: string;
  details: FieldProblem[];
}

const STATUS: Record<DomainError['code'], number> = {
  validation: 400, conflict: 409, not_found: 404, refused: 405, forbidden: 403, unauthorized: 401, rate_limited: 429,
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route whose body is not JSON names the types it takes, so its 415 answer can say them. */
    accepts?: string[];
  }
}

export function unsupportedMediaType(accepts: string[] | undefined, got: string | undefined): ErrorBody {
  const wanted = (accepts ?? ['application/json']).join(' or ');
  return {
    error: 'unsupported_media_type',
    message: `Content-Type ${got ? JSON.stringify(got) : 'is missing'}${got ? ' is not accepted here' : ''}: send the body as ${wanted}`,
    details: [{ field: 'content-type', reason: `must be ${wanted}` }],
  };
}

function fromAjv(err: FastifyError): FieldProblem[] {
  const list = (err as FastifyError & { validation?: { instancePath: string; message?: string; params: Record<string, unknown> }[] }).validation ?? [];
  const context = (err as { validationContext?: string }).validationContext ?? 'body';
  return list.map((v) => {
    const base = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (v.params.missingProperty) return { field: [base, v.params.missingProperty].filter(Boolean).join('.'), reason: 'is required' };
    if (v.params.additionalProperty) return { field: [base, v.params.additionalProperty].filter(Boolean).join('.'), reason: 'is not a known field' };
    return { field: base || context, reason: v.message ?? 'is invalid' };
  });
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof DomainError) {
      return reply.status(STATUS[err.code]).send({ error: err.code, message: err.message, details: err.details } satisfies ErrorBody);
    }
    if (err.validation) {
      const details = fromAjv(err);
      return reply.status(400).send({ error: 'validation', message: details.map((d) => `${d.field}: ${d.reason}`).join('; '), details });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: 'internal', message: 'internal error; see the daemon log', details: [] });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send(unsupportedMediaType(req.routeOptions.config.accepts, req.headers['content-type']));
    }
    const code = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'too_large' : 'bad_request';
    return reply.status(status).send({ error: code, message: err.message, details: [] });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}`, details: [] });
  });
}
