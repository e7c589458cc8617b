import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fs from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { PROV_PREFIX } from '../settings-source';
import type { FileService } from './fetch';

function notModified(req: FastifyRequest, etag: string, lastModified: string): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Date.parse(lastModified) <= since;
}

function plain(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.status(status).type('text/plain; charset=utf-8').send(`${text}\n`);
}

/** Provisioning files over HTTP and HTTPS under /prov/, with the vendor folders phones ask under (/prov/Grandstream/…). */
export function provisioningHttp(files: FileService) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.get(`${PROV_PREFIX}/*`, { schema: { hide: true } }, async (req, reply) => {
      const rawPath = req.url.split('?')[0]!.slice(PROV_PREFIX.length + 1);
      let name: string;
      try {
        name = decodeURIComponent(rawPath);
      } catch {
        return plain(reply, 400, 'bad request');
      }
      const encrypted = (req.raw.socket as TLSSocket).encrypted === true;
      const result = await files.fetch({
        name, transport: encrypted ? 'https' : 'http', source: req.ip, method: req.method === 'HEAD' ? 'GET' : req.method,
        userAgent: req.headers['user-agent'], authorization: req.headers.authorization,
      });
      reply.header('cache-control', 'no-cache');
      switch (result.status) {
        case 'ok': {
          const f = result.file;
          reply.header('etag', f.etag).header('last-modified', f.lastModified);
          if (notModified(req, f.etag, f.lastModified)) return reply.status(304).send();
          return reply.status(200).type(f.contentType).send(f.body);
        }
        case 'static': {
          const lastModified = result.file.mtime.toUTCString();
          const etag = `"${result.file.size.toString(16)}-${result.file.mtime.getTime().toString(16)}"`;
          reply.header('etag', etag).header('last-modified', lastModified);
          if (notModified(req, etag, lastModified)) return reply.status(304).send();
          return reply.status(200).type('application/octet-stream').header('content-length', result.file.size).send(fs.createReadStream(result.file.path));
        }
        case 'unauthorized':
          reply.header('www-authenticate', result.challenge);
          return plain(reply, 401, 'this device needs its provisioning credentials');
        case 'rate_limited':
          reply.header('retry-after', '60');
          return plain(reply, 429, 'too many failed requests; try again in a minute');
        case 'forbidden':
          return plain(reply, 403, 'forbidden');
        case 'not_found':
          return plain(reply, 404, 'not found');
      }
    });
    // Phones upload logs with PUT; provisioning is read-only.
    app.route({ method: ['PUT', 'POST', 'DELETE', 'PATCH'], url: `${PROV_PREFIX}/*`, schema: { hide: true }, handler: async (_req, reply) => {
      reply.header('allow', 'GET, HEAD');
      return plain(reply, 405, 'provisioning is read-only');
    } });
  };
}
