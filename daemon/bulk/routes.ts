import type { FastifyInstance } from 'fastify';
import { unsupportedMediaType } from '../http/errors';
import type { Runtime } from '../core/component';
import { bearerAuth } from '../http/auth';
import { tenantForCreate, scoped } from '../admin/service/scope';
import { userFromRow, type User } from '../admin/store/rows';
import type { NoticeDeps } from '../accounts/notices';
import { formatCsv } from './csv';
import { templateRows } from './columns';
import { BULK_MAX_BYTES, importUsers } from './import';

const EXPORT_COLUMNS = ['id', 'firstName', 'lastName', 'email', 'username', 'jobTitle', 'department', 'personalPhone', 'language', 'status', 'createdAt'] as const;

/** Bulk upload of new profiles from CSV, its templates, and a CSV export of profiles. */
export function bulkRoutes(rt: Runtime, notices: NoticeDeps) {
  const knex = rt.db.knex;
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));
    // Twice the limit reaches the handler, which refuses an oversized file with the limit in words.
    app.addContentTypeParser(['text/csv', 'application/csv', 'text/plain', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: BULK_MAX_BYTES * 2 }, (_req, body: Buffer, done) => done(null, body));

    app.get<{ Querystring: { kind: 'basic' | 'advanced' } }>('/users/bulk/template', {
      schema: {
        tags: ['users'], summary: 'CSV template for bulk upload; the advanced one marks required columns',
        querystring: { type: 'object', additionalProperties: false, properties: { kind: { enum: ['basic', 'advanced'], default: 'basic' } } },
      },
    }, async (req, reply) => {
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="users-${req.query.kind}.csv"`);
      return formatCsv(templateRows(req.query.kind));
    });

    app.post<{ Querystring: { tenantId?: string }; Body: Buffer }>('/users/bulk', {
      config: { accepts: ['text/csv'] },
      schema: {
        tags: ['users'],
        summary: 'Create profiles (and extensions) from a CSV file: every row is checked first; any problem and nothing is created',
        querystring: { type: 'object', additionalProperties: false, properties: { tenantId: { type: 'string', maxLength: 64, description: 'Only with an operator token' } } },
      },
    }, async (req, reply) => {
      // JSON has a parser of its own on the whole API: a JSON body arrives parsed, not as a file.
      if (!Buffer.isBuffer(req.body)) return reply.status(415).send(unsupportedMediaType(['text/csv'], req.headers['content-type']));
      const tenantId = await tenantForCreate(knex, req.scope, req.query.tenantId);
      const result = await importUsers({ knex, secrets: rt.secrets, changes: rt.changes, notices }, req.scope, tenantId, req.body);
      reply.status(201);
      return result;
    });

    app.get('/users/export.csv', { schema: { tags: ['users'], summary: 'Every profile the token can see, as CSV; cells that a spreadsheet would run as formulas are neutralised' } }, async (req, reply) => {
      const rows = (await scoped(knex('users'), req.scope).orderBy('username_key')).map(userFromRow);
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="users.csv"');
      return formatCsv([[...EXPORT_COLUMNS], ...rows.map((u: User) => EXPORT_COLUMNS.map((c) => u[c]))]);
    });
  };
}
