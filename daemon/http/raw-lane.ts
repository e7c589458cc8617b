import { STATUS_CODES } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ownBuffer } from '../core/buffers';
import { dateHeader } from '../core/date-header';
import { HAND_OVER, INCOMPLETE, type RequestHead, parseRequestHead } from './request-head';

/** An answer the lane writes as it is: the handler has made every header but the connection's own. */
export interface LaneAnswer {
  /** Status line and header fields, each ending in CRLF, without the blank line; Content-Length included. */
  head: Buffer;
  /** Sent right after the head; null when there is none (HEAD, 304) or when `stream` sends it. */
  body: Buffer | null;
  /** A body streamed from elsewhere (a firmware image) once the head is out. */
  stream?: () => Readable;
}

export type LaneHandler = (req: RequestHead, socket: Socket) => LaneAnswer | Promise<LaneAnswer>;

/** The timeouts node:http applies, read from the server at each check so that later changes count. */
interface HttpServerLike extends Server {
  headersTimeout: number;
  keepAliveTimeout: number;
  timeout: number;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

// A head a client sends in more pieces than this is slow on purpose or odd; node:http's incremental parser takes it.
const MAX_PIECES = 4;
// Unanswered bytes held per connection before it stops reading: a few heads' worth.
const MAX_PENDING = 64 * 1024;
const SWEEP_MS = 1000;

const REQUEST_TIMEOUT = Buffer.from('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n', 'latin1');
const BAD_REQUEST = Buffer.from('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n', 'latin1');

/**
 * A raw HTTP/1.1 lane in front of a node:http (or https) server: the GET and
 * HEAD requests it fully understands under its prefixes are parsed and
 * answered on the socket itself, in order, the answers of one turn of the
 * event loop in one writev per socket; at the first request it does not
 * fully understand, the connection is handed to the server's own connection
 * listener at that request's first byte, and node:http has it from then on.
 * node:http's per-request objects cost more than the provisioning answer
 * itself; this is why the lane exists.
 */
export class RawLane {
  private readonly routes: { prefix: string; handle: LaneHandler }[] = [];
  readonly prefixes: string[] = [];
  readonly open = new Set<LaneConnection>();
  private sweeper: NodeJS.Timeout | null = null;
  // Sockets answered in this turn of the event loop; their answers go out once every ready socket has been read.
  private corked: Socket[] = [];
  private readonly uncorkAll = () => {
    const sockets = this.corked;
    this.corked = [];
    for (const s of sockets) s.uncork();
  };
  private readonly handOverTo: ((socket: Socket) => void)[];

  /**
   * Takes over the server's `event` ('connection', or 'secureConnection' for
   * TLS): node:http's listener, the only one there when this is called, is
   * kept for the connections handed over.
   */
  constructor(readonly server: HttpServerLike, event: 'connection' | 'secureConnection') {
    this.handOverTo = server.listeners(event) as ((socket: Socket) => void)[];
    server.removeAllListeners(event);
    server.on(event, (socket: Socket) => {
      if (this.routes.length === 0) this.handOver(socket);
      else this.open.add(new LaneConnection(this, socket));
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    });
    // server.close() closes idle connections through these; the lane's are unknown to node:http.
    const idle = server.closeIdleConnections.bind(server);
    const all = server.closeAllConnections.bind(server);
    server.closeIdleConnections = () => {
      for (const c of this.open) c.closeIfIdle();
      idle();
    };
    server.closeAllConnections = () => {
      for (const c of this.open) c.socket.destroy();
      all();
    };
  }

  /** `prefix` is matched against the raw request target, so it should end with a slash. */
  add(prefix: string, handle: LaneHandler): void {
    this.routes.push({ prefix, handle });
    this.prefixes.push(prefix);
  }

  handlerFor(target: string): LaneHandler {
    for (const r of this.routes) if (target.startsWith(r.prefix)) return r.handle;
    // parseRequestHead accepts only targets under one of the prefixes.
    throw new Error(`no lane route for ${target.slice(0, 80)}`);
  }

  /**
   * Holds a socket's writes until the turn of the event loop ends. Each
   * write to a waiting client wakes it, and on two cores the woken client
   * takes the CPU from the daemon in the middle of the turn: answered all
   * at once, the clients wake together (bench/README.md: 0.53 and 0.63 of
   * nginx against 0.47 and 0.52 answering each at once, in the same minutes).
   */
  cork(socket: Socket): void {
    if (this.corked.length === 0) setImmediate(this.uncorkAll);
    socket.cork();
    this.corked.push(socket);
  }

  handOver(socket: Socket): void {
    for (const listener of this.handOverTo) listener.call(this.server, socket);
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.open) c.check(now);
    if (this.open.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }
}

class LaneConnection {
  // Bytes received and not yet answered, also as latin1 text (one character per byte), from `at` on.
  private pending: Buffer | null = null;
  private text = '';
  private at = 0;
  private pieces = 0;
  // Set while an answer is being worked out or streamed: later requests wait, so answers stay in order.
  private busy = false;
  private paused = false;
  private ended = false;
  private done = false;
  // When the head now arriving started, or 0 between requests; and when the last answer went out.
  private headSince = 0;
  private idleSince = Date.now();
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onEnd = () => this.clientEnded();
  private readonly onDrain = () => this.run();
  private readonly onClose = () => this.closed();
  private readonly onError = () => this.socket.destroy();
  private readonly onTimeout = () => this.socket.destroy();
  private stream: Readable | null = null;

  constructor(private readonly lane: RawLane, readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('drain', this.onDrain);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    // node:http's inactivity timeout (fastify's connectionTimeout), as node:http sets it.
    if (lane.server.timeout) {
      socket.setTimeout(lane.server.timeout);
      socket.on('timeout', this.onTimeout);
    }
  }

  private received(chunk: Buffer): void {
    // Past the last answer nothing more is read into memory.
    if (this.done) return;
    if (this.pending === null) {
      this.pending = chunk;
      this.text = chunk.toString('latin1');
      this.at = 0;
      this.pieces = 1;
      this.headSince = Date.now();
    } else {
      this.pending = Buffer.concat([this.pending.subarray(this.at), chunk]);
      this.text = this.pending.toString('latin1');
      this.at = 0;
      this.pieces++;
    }
    this.run();
  }

  /** Answers every complete request held, in order, until one must wait (an answer in the works, a full socket) or be handed over. */
  private run(): void {
    while (!this.busy && !this.done && this.pending !== null) {
      if (this.socket.writableNeedDrain) break;
      const head = parseRequestHead(this.text, this.at, this.lane.prefixes);
      if (head === INCOMPLETE) {
        if (this.pieces > MAX_PIECES) this.handOver();
        break;
      }
      if (head === HAND_OVER) {
        this.handOver();
        return;
      }
      this.at += head.length;
      this.pieces = 1;
      if (this.at === this.pending.length) {
        this.pending = null;
        this.text = '';
        this.headSince = 0;
      } else {
        this.headSince = Date.now();
      }
      this.answer(head);
    }
    if (this.ended && !this.busy && !this.done && !this.socket.writableNeedDrain) {
      // Half a head and nothing more to come is answered as node:http answers it.
      this.finish(this.pending === null ? null : BAD_REQUEST);
    }
    this.flow();
  }

  private answer(req: RequestHead): void {
    let answer: LaneAnswer | Promise<LaneAnswer>;
    try {
      answer = this.lane.handlerFor(req.target)(req, this.socket);
    } catch {
      // Handlers answer their own failures; one that throws leaves nothing sane to say on this connection.
      this.socket.destroy();
      this.done = true;
      return;
    }
    if (!(answer instanceof Promise)) {
      this.send(req, answer);
      return;
    }
    this.busy = true;
    answer.then((a) => {
      this.busy = false;
      if (this.done) return;
      this.send(req, a);
      this.run();
    }, () => {
      this.socket.destroy();
      this.done = true;
    });
  }

  private send(req: RequestHead, a: LaneAnswer): void {
    const close = req.close || !this.lane.server.listening;
    const tail = connectionFields(close, this.lane.server.keepAliveTimeout);
    const body = req.method === 'HEAD' ? null : a.body;
    // Buffers that already exist, in one writev: a buffer made per answer would be memory outside the
    // heap, and V8 answers a steady stream of it with full collections.
    this.lane.cork(this.socket);
    this.socket.write(a.head);
    this.socket.write(tail);
    if (body && body.length > 0) this.socket.write(body);
    this.idleSince = Date.now();
    if (a.stream && req.method !== 'HEAD') {
      this.streamBody(a.stream(), close);
      return;
    }
    if (close) this.finish(null);
  }

  private streamBody(stream: Readable, close: boolean): void {
    this.busy = true;
    this.stream = stream;
    // A file that vanished or broke mid-way cannot be answered with an error any more: the connection is cut instead.
    stream.once('error', () => this.socket.destroy());
    stream.once('end', () => {
      this.stream = null;
      this.busy = false;
      this.idleSince = Date.now();
      if (close) this.finish(null);
      else this.run();
    });
    stream.pipe(this.socket, { end: false });
  }

  /** Stops reading when answers pile up unread or requests pile up unanswered; reads again once they are gone. */
  private flow(): void {
    const held = this.pending === null ? 0 : this.pending.length - this.at;
    const hold = !this.done && (this.socket.writableNeedDrain || (held > MAX_PENDING && this.busy));
    if (hold && !this.paused) this.socket.pause();
    else if (!hold && this.paused) this.socket.resume();
    this.paused = hold;
  }

  private clientEnded(): void {
    this.ended = true;
    this.run();
  }

  private finish(last: Buffer | null): void {
    this.done = true;
    this.idleSince = Date.now();
    if (last) this.socket.end(last);
    else this.socket.end();
  }

  /** The rest of the connection goes to node:http, from the first byte of the request the lane does not answer. */
  private handOver(): void {
    const rest = this.pending === null ? null : this.pending.subarray(this.at);
    this.done = true;
    this.detach();
    this.lane.open.delete(this);
    const socket = this.socket;
    // Paused, the bytes put back stay queued until node:http's listeners are on.
    socket.pause();
    if (rest && rest.length > 0) socket.unshift(rest);
    this.lane.handOver(socket);
    socket.resume();
    // node:http's listeners came after the end of input: its own end handling has to run for the requests it now holds.
    if (this.ended) setImmediate(() => socket.emit('end'));
  }

  private detach(): void {
    const s = this.socket;
    s.removeListener('data', this.onData);
    s.removeListener('end', this.onEnd);
    s.removeListener('drain', this.onDrain);
    s.removeListener('close', this.onClose);
    s.removeListener('error', this.onError);
    s.removeListener('timeout', this.onTimeout);
  }

  private closed(): void {
    this.done = true;
    this.stream?.destroy();
    this.lane.open.delete(this);
  }

  /** Ended rather than destroyed: answers of this turn may still be held for the writev. */
  closeIfIdle(): void {
    if (!this.busy && this.pending === null && !this.done) this.finish(null);
  }

  /** The header timeout (from a head's first byte to its end) and the keep-alive timeout between requests, as node:http has them. */
  check(now: number): void {
    if (this.busy) return;
    const s = this.lane.server;
    if (this.done) {
      // Ended by us a sweep ago and still not closed: the client is not reading.
      if (now - this.idleSince > SWEEP_MS) this.socket.destroy();
      return;
    }
    if (this.pending !== null && s.headersTimeout > 0 && now - this.headSince > s.headersTimeout) {
      this.finish(REQUEST_TIMEOUT);
    } else if (this.pending === null && s.keepAliveTimeout > 0 && now - this.idleSince > s.keepAliveTimeout) {
      this.socket.destroy();
    }
  }
}

let tailDate = '';
let tailTimeout = -1;
let keepAliveTail = Buffer.alloc(0);
let closeTail = Buffer.alloc(0);

/** Date and Connection fields and the blank line, as node:http writes them; made once a second. */
function connectionFields(close: boolean, keepAliveTimeout: number): Buffer {
  const date = dateHeader();
  if (date !== tailDate || keepAliveTimeout !== tailTimeout) {
    tailDate = date;
    tailTimeout = keepAliveTimeout;
    const keepAlive = keepAliveTimeout > 0 ? `Keep-Alive: timeout=${Math.floor(keepAliveTimeout / 1000)}\r\n` : '';
    keepAliveTail = Buffer.from(`Date: ${date}\r\nConnection: keep-alive\r\n${keepAlive}\r\n`, 'latin1');
    closeTail = Buffer.from(`Date: ${date}\r\nConnection: close\r\n\r\n`, 'latin1');
  }
  return close ? closeTail : keepAliveTail;
}

/**
 * A status line and header fields in the lane's wire form, in the order and spelling node:http's writeHead gives them.
 * A head `kept` beyond its answer (with a cached file) gets memory of its own: a slice of Node's shared pool would keep
 * the whole 8 kB block alive, which over an hour of phones resyncing grew a node by 40 MB.
 */
export function laneHead(status: number, headers: Record<string, string | number | readonly string[]>, kept = false): Buffer {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'object') for (const v of value) text += `${name}: ${v}\r\n`;
    else text += `${name}: ${value}\r\n`;
  }
  return kept ? ownBuffer(text, 'latin1') : Buffer.from(text, 'latin1');
}
