import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../core/log';
import type { RawHandler } from '../../http/front-door';
import { BODY_LIMIT } from '../../http/server';
import { PROV_PREFIX } from '../settings-source';
import type { FetchResult, FileService } from './fetch';

/** What every provisioning request target starts with. */
export const PROV_PATH = `${PROV_PREFIX}/`;

function notModified(req: IncomingMessage, etag: string, lastModified: string): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Date.parse(lastModified) <= since;
}

function plain(req: IncomingMessage, res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, { 'cache-control': 'no-cache', ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function answer(req: IncomingMessage, res: ServerResponse, result: FetchResult): void {
  switch (result.status) {
    case 'ok': {
      const f = result.file;
      if (notModified(req, f.etag, f.lastModified)) {
        res.writeHead(304, { 'cache-control': 'no-cache', etag: f.etag, 'last-modified': f.lastModified });
        res.end();
        return;
      }
      res.writeHead(200, { 'cache-control': 'no-cache', etag: f.etag, 'last-modified': f.lastModified, 'content-type': f.contentType, 'content-length': f.body.length });
      res.end(req.method === 'HEAD' ? undefined : f.body);
      return;
    }
    case 'static': {
      const { file } = result;
      const lastModified = file.mtime.toUTCString();
      const etag = `"${file.size.toString(16)}-${file.mtime.getTime().toString(16)}"`;
      if (notModified(req, etag, lastModified)) {
        res.writeHead(304, { 'cache-control': 'no-cache', etag, 'last-modified': lastModified });
        res.end();
        return;
      }
      res.writeHead(200, { 'cache-control': 'no-cache', etag, 'last-modified': lastModified, 'content-type': 'application/octet-stream', 'content-length': file.size });
      if (req.method === 'HEAD') res.end();
      // A file that vanished or broke mid-way cannot be answered with an error any more: the connection is cut instead.
      else pipeline(fs.createReadStream(file.path), res, () => undefined);
      return;
    }
    case 'unauthorized':
      res.setHeader('www-authenticate', result.challenge);
      plain(req, res, 401, 'this device needs its provisioning credentials');
      return;
    case 'rate_limited':
      plain(req, res, 429, 'too many failed requests; try again in a minute', { 'retry-after': '60' });
      return;
    case 'forbidden':
      plain(req, res, 403, 'forbidden');
      return;
    case 'not_found':
      plain(req, res, 404, 'not found');
  }
}

/**
 * Phones upload logs with PUT; provisioning is read-only. The body is read and
 * dropped before the answer, as fastify does, so that the connection stays in
 * step for the next request; past the API's body limit the connection is closed.
 */
function refuseWrite(req: IncomingMessage, res: ServerResponse): void {
  const refuse = () => plain(req, res, 405, 'provisioning is read-only', { allow: 'GET, HEAD' });
  // Through fastify's route the body may have been read already: nothing more will come.
  if (req.readableEnded) {
    refuse();
    return;
  }
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT && !res.headersSent) {
      res.shouldKeepAlive = false;
      res.once('finish', () => req.socket.destroy());
      refuse();
    }
  });
  req.on('end', () => {
    if (!res.headersSent) refuse();
  });
}

/**
 * Provisioning files over HTTP and HTTPS under /prov/, with the vendor folders
 * phones ask under (/prov/Grandstream/…), as a plain node:http handler: the
 * servers' front doors call it directly, and fastify's route hands it the
 * request too, so both paths give the same answers.
 */
export function provisioningHandler(files: FileService, log: Logger): RawHandler {
  const debugging = log.isLevelEnabled('debug');
  return (req, res) => {
    if (debugging) {
      const started = process.hrtime.bigint();
      res.once('finish', () => log.debug({ method: req.method, url: req.url!.split('?')[0], status: res.statusCode, ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6) }, 'request'));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      refuseWrite(req, res);
      return;
    }
    const url = req.url!;
    const q = url.indexOf('?');
    let name: string;
    try {
      name = decodeURIComponent(url.slice(PROV_PATH.length, q < 0 ? undefined : q));
    } catch {
      plain(req, res, 400, 'bad request');
      return;
    }
    const failed = (err: unknown) => {
      log.error({ err }, 'provisioning: request failed');
      plain(req, res, 500, 'internal error; see the daemon log');
    };
    const encrypted = (req.socket as TLSSocket).encrypted === true;
    let result: ReturnType<FileService['fetch']>;
    try {
      result = files.fetch({
        name, transport: encrypted ? 'https' : 'http', source: req.socket.remoteAddress ?? '', method: 'GET',
        userAgent: req.headers['user-agent'], authorization: req.headers.authorization,
      });
    } catch (err) {
      failed(err);
      return;
    }
    if (result instanceof Promise) result.then((r) => answer(req, res, r), failed);
    else answer(req, res, result);
  };
}

/** The same handler as a fastify route, for requests that reach fastify itself (inject, and anything routed to it). */
export function provisioningRoute(handle: RawHandler) {
  return async function register(app: FastifyInstance): Promise<void> {
    app.route({
      method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'], url: `${PROV_PATH}*`, exposeHeadRoute: false, schema: { hide: true },
      handler: (req, reply) => {
        reply.hijack();
        handle(req.raw, reply.raw);
      },
    });
  };
}
