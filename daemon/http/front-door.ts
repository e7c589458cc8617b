import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LaneHandler, RawLane } from './raw-lane';

export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

type LaneServer = ConstructorParameters<typeof RawLane>[0];

/**
 * Paths answered ahead of fastify: phones poll their files far more often
 * than people use the API, and that path needs none of fastify's routing,
 * hooks or reply machinery. A route's lane handler answers the plain GET and
 * HEAD requests on the servers' raw lanes, before node:http makes objects of
 * them; its node:http handler answers whatever a lane hands over. Every other
 * request goes on to fastify untouched.
 */
export class FrontDoor {
  private readonly routes: { prefix: string; handle: RawHandler; lane: LaneHandler | null }[] = [];
  private readonly lanes: RawLane[] = [];

  /** `prefix` is matched against the raw request target, so it should end with a slash. */
  add(prefix: string, handle: RawHandler, lane: LaneHandler | null = null): void {
    this.routes.push({ prefix, handle, lane });
    if (lane) for (const l of this.lanes) l.add(prefix, lane);
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

  /** Puts a raw lane in front of a server not yet listening, for the routes that have a lane handler, now and later. */
  laneFor(server: LaneServer, event: 'connection' | 'secureConnection'): void {
    const lane = new RawLane(server, event);
    for (const r of this.routes) if (r.lane) lane.add(r.prefix, r.lane);
    this.lanes.push(lane);
  }
}
