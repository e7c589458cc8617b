import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { DomainError } from '../core/errors';
import { authenticateToken } from '../admin/service/tokens';
import type { Scope } from '../admin/service/scope';

declare module 'fastify' {
  interface FastifyRequest {
    scope: Scope;
  }
}

/** A preHandler that turns `Authorization: Bearer dt_…` into the caller's scope, or answers 401. */
export function bearerAuth(knex: Knex) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const scope = match ? await authenticateToken(knex, match[1]!) : null;
    if (!scope) {
      reply.header('www-authenticate', 'Bearer realm="dialtone"');
      throw new DomainError('unauthorized', match ? 'the token is unknown or revoked' : 'send Authorization: Bearer <token> (dialtone token create)');
    }
    req.scope = scope;
  };
}

export function requireOperator(req: FastifyRequest): void {
  if (req.scope.tenantId !== null) throw new DomainError('forbidden', 'this needs an operator token');
}
