import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../core/errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies must be valid UTF-8 (Node would otherwise swap bad bytes for
 * U+FFFD and store the result), and prototype keys are refused outright.
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(/^application\/([\w.+-]+\+)?json$/, { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = utf8.decode(body);
    } catch {
      done(new ValidationError([{ field: 'body', reason: 'is not valid UTF-8' }]), undefined);
      return;
    }
    if (text.trim() === '') {
      done(null, {});
      return;
    }
    try {
      const parsed = JSON.parse(text, (key, value) => {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new SyntaxError(`forbidden key "${key}"`);
        return value;
      });
      done(null, parsed);
    } catch (err) {
      done(new ValidationError([{ field: 'body', reason: `is not valid JSON: ${(err as Error).message}` }]), undefined);
    }
  });
}
