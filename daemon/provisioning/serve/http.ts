import type { FastifyInstance } from 'fastify';
import fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../core/log';
import type { RawHandler } from '../../http/front-door';
import { type LaneAnswer, type LaneHandler, laneHead } from '../../http/raw-lane';
import type { RequestHead } from '../../http/request-head';
import { BODY_LIMIT } from '../../http/server';
import type { RenderedFile } from '../cache';
import { PROV_PREFIX } from '../settings-source';
import { type Answer, BAD_REQUEST, type Conditions, INTERNAL_ERROR, answerOf, notModified, plainAnswer } from './answers';
import type { FetchResult, FileService } from './fetch';

/** What every provisioning request target starts with. */
export const PROV_PATH = `${PROV_PREFIX}/`;

/** The requested name, relative to the provisioning root; null when its percent-encoding is broken. The query string is ignored. */
function nameOf(target: string): string | null {
  const q = target.indexOf('?');
  try {
    return decodeURIComponent(target.slice(PROV_PATH.length, q < 0 ? undefined : q));
  } catch {
    return null;
  }
}

function failure(log: Logger, err: unknown): Answer {
  log.error({ err }, 'provisioning: request failed');
  return INTERNAL_ERROR();
}

/** The fetch behind one request, from either way in; a broken name and a failure inside come back as their answers. */
function fetchFor(
  files: FileService, log: Logger, target: string, encrypted: boolean, source: string, userAgent: string | undefined, authorization: string | undefined,
): FetchResult | Answer | Promise<FetchResult | Answer> {
  const name = nameOf(target);
  if (name === null) return BAD_REQUEST();
  try {
    const result = files.fetch({ name, transport: encrypted ? 'https' : 'http', source, method: 'GET', userAgent, authorization });
    return result instanceof Promise ? result.catch((err: unknown) => failure(log, err)) : result;
  } catch (err) {
    return failure(log, err);
  }
}

const isAnswer = (r: FetchResult | Answer): r is Answer => typeof r.status === 'number';

function write(req: IncomingMessage, res: ServerResponse, a: Answer): void {
  res.writeHead(a.status, a.headers);
  if (req.method === 'HEAD') res.end();
  // A file that vanished or broke mid-way cannot be answered with an error any more: the connection is cut instead.
  else if (a.file) pipeline(fs.createReadStream(a.file.path), res, () => undefined);
  else res.end(a.body ?? undefined);
}

/**
 * Phones upload logs with PUT; provisioning is read-only. The body is read and
 * dropped before the answer, as fastify does, so that the connection stays in
 * step for the next request; past the API's body limit the connection is closed.
 */
function refuseWrite(req: IncomingMessage, res: ServerResponse): void {
  const refuse = () => write(req, res, plainAnswer(405, 'provisioning is read-only', { allow: 'GET, HEAD' }));
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
 * servers' front doors call it for what the raw lane hands over, and fastify's
 * route hands it the request too, so every way in gives the same answers.
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
    const h = req.headers;
    const c: Conditions = { ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'] };
    const r = fetchFor(files, log, req.url!, (req.socket as TLSSocket).encrypted === true, req.socket.remoteAddress ?? '', h['user-agent'], h.authorization);
    const done = (x: FetchResult | Answer) => write(req, res, isAnswer(x) ? x : answerOf(x, c));
    if (r instanceof Promise) void r.then(done);
    else done(r);
  };
}

/**
 * The same answers on the raw lane (daemon/http/raw-lane.ts) for the GET and
 * HEAD requests it parses itself. A rendered file's 200 is built once per
 * file, as most requests are for a cached file that has not changed.
 */
export function provisioningLane(files: FileService, log: Logger): LaneHandler {
  const debugging = log.isLevelEnabled('debug');
  const unchanged = new WeakMap<RenderedFile, LaneAnswer>();
  const onLane = (a: Answer, kept = false): LaneAnswer => {
    const { file } = a;
    return { head: laneHead(a.status, a.headers, kept), body: a.body, ...(file ? { stream: () => fs.createReadStream(file.path) } : {}) };
  };
  const toLane = (x: FetchResult | Answer, req: RequestHead): LaneAnswer => {
    if (isAnswer(x)) return onLane(x);
    if (x.status !== 'ok' || notModified(req, x.file.etag, x.file.lastModified)) return onLane(answerOf(x, req));
    let answer = unchanged.get(x.file);
    if (answer === undefined) {
      answer = onLane(answerOf(x, req), true);
      unchanged.set(x.file, answer);
    }
    return answer;
  };
  const logged = (req: RequestHead, started: bigint, a: LaneAnswer): LaneAnswer => {
    log.debug({ method: req.method, url: req.target.split('?')[0], status: Number(a.head.toString('latin1', 9, 12)), ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6) }, 'request');
    return a;
  };
  return (req, socket: Socket) => {
    const started = debugging ? process.hrtime.bigint() : 0n;
    const r = fetchFor(files, log, req.target, (socket as TLSSocket).encrypted === true, socket.remoteAddress ?? '', req.userAgent, req.authorization);
    if (r instanceof Promise) return r.then((x) => (debugging ? logged(req, started, toLane(x, req)) : toLane(x, req)));
    return debugging ? logged(req, started, toLane(r, req)) : toLane(r, req);
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
