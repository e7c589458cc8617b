import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../../core/component';
import { safeEqual } from '../../crypto/random';
import { findLineId, loadLine } from '../snapshot';
import type { DialtoneEdge } from '../edge';
import { NOT_FOUND, directoryDocument } from './directory';

const FORM_LIMIT = 16 * 1024;

/**
 * mod_xml_curl's directory binding: FreeSWITCH posts a form naming the user
 * and domain it needs, authenticated with the gateway credentials set in
 * xml_curl.conf (`gateway-credentials`), and gets that user's XML.
 */
export function freeswitchDirectory(rt: Runtime, credentials: string, edge: () => Promise<DialtoneEdge>) {
  const expected = `Basic ${Buffer.from(credentials).toString('base64')}`;
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    app.post('/pbx/freeswitch/directory', { schema: { hide: true } }, async (req, reply) => {
      if (!safeEqual(req.headers.authorization ?? '', expected)) {
        reply.header('www-authenticate', 'Basic realm="dialtone freeswitch"');
        return reply.status(401).type('text/plain').send('unauthorized\n');
      }
      const form = (req.body ?? {}) as Record<string, string>;
      reply.type('text/xml');
      if (form.section !== 'directory' || typeof form.user !== 'string' || typeof form.domain !== 'string' || form.user.length > 64 || form.domain.length > 253) {
        return NOT_FOUND;
      }
      const id = await findLineId(rt.db.knex, form.domain, form.user);
      if (!id) return NOT_FOUND;
      return directoryDocument(await loadLine(rt.db.knex, rt.secrets, id), await edge());
    });
  };
}
