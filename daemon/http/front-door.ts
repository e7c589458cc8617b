import type { IncomingMessage, ServerResponse } from 'node:http';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Paths answered by a plain node:http handler before fastify sees the
 * request: phones poll their files far more often than people use the API,
 * and that path needs none of fastify's routing, hooks or reply machinery.
 * Every other request goes on to fastify untouched.
 */
export class FrontDoor {
  private readonly routes: { prefix: string; handle: RawHandler }[] = [];

  /** `prefix` is matched against the raw request target, so it should end with a slash. */
  add(prefix: string, handle: RawHandler): void {
    this.routes.push({ prefix, handle });
  }

  /** A server's request listener: the first route whose prefix starts the URL, or `rest`. */
  listener(rest: RawHandler): RawHandler {
    return (req, res) => {
      const url = req.url ?? '';
      for (const r of this.routes) {
        if (url.startsWith(r.prefix)) {
          r.handle(req, res);
          return;
        }
      }
      rest(req, res);
    };
  }
}
