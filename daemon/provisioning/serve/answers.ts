import type { RenderedFile } from '../cache';
import type { FetchResult } from './fetch';
import type { StaticFile } from './firmware';

/** The conditional request fields an answer depends on. */
export interface Conditions {
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
}

/**
 * What a provisioning request is answered with, whichever way it came in
 * (node:http or the raw lane): both write these headers, in this order.
 */
export interface Answer {
  status: number;
  headers: Record<string, string | number | string[]>;
  /** The body of a GET; null when there is none (304) or when `file` is streamed. */
  body: Buffer | null;
  file: StaticFile | null;
}

export function notModified(c: Conditions, etag: string, lastModified: string): boolean {
  if (c.ifNoneMatch !== undefined) return c.ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  if (c.ifModifiedSince === undefined) return false;
  const since = Date.parse(c.ifModifiedSince);
  return !Number.isNaN(since) && Date.parse(lastModified) <= since;
}

export function plainAnswer(status: number, text: string, headers: Record<string, string | string[]> = {}): Answer {
  const body = Buffer.from(`${text}\n`);
  return { status, headers: { 'cache-control': 'no-cache', ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length }, body, file: null };
}

export const BAD_REQUEST = () => plainAnswer(400, 'bad request');
export const INTERNAL_ERROR = () => plainAnswer(500, 'internal error; see the daemon log');

/** The 200 of a rendered file, before any condition: the raw lane keeps its head per file. */
export function renderedAnswer(f: RenderedFile): Answer {
  return { status: 200, headers: { 'cache-control': 'no-cache', etag: f.etag, 'last-modified': f.lastModified, 'content-type': f.contentType, 'content-length': f.body.length }, body: f.body, file: null };
}

function unchanged(etag: string, lastModified: string): Answer {
  return { status: 304, headers: { 'cache-control': 'no-cache', etag, 'last-modified': lastModified }, body: null, file: null };
}

export function answerOf(result: FetchResult, c: Conditions): Answer {
  switch (result.status) {
    case 'ok': {
      const f = result.file;
      return notModified(c, f.etag, f.lastModified) ? unchanged(f.etag, f.lastModified) : renderedAnswer(f);
    }
    case 'static': {
      const { file } = result;
      const lastModified = file.mtime.toUTCString();
      const etag = `"${file.size.toString(16)}-${file.mtime.getTime().toString(16)}"`;
      if (notModified(c, etag, lastModified)) return unchanged(etag, lastModified);
      return { status: 200, headers: { 'cache-control': 'no-cache', etag, 'last-modified': lastModified, 'content-type': 'application/octet-stream', 'content-length': file.size }, body: null, file };
    }
    case 'unauthorized': {
      // The challenge first, where node:http put it when it was set before the rest.
      const a = plainAnswer(401, 'this device needs its provisioning credentials');
      return { ...a, headers: { 'www-authenticate': result.challenge, ...a.headers } };
    }
    case 'rate_limited':
      return plainAnswer(429, 'too many failed requests; try again in a minute', { 'retry-after': '60' });
    case 'forbidden':
      return plainAnswer(403, 'forbidden');
    case 'not_found':
      return plainAnswer(404, 'not found');
  }
}
