import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../core/log';
import type { Flow, SipTransport } from '../engine';
import { connectionId, newNodeId } from '../nodes';
import { MAX_BODY_BYTES, MAX_HEADER_BYTES, type Parsed, StreamFramer, parseMessage } from './wire';

export interface TransportOptions {
  host: string;
  port: number;
  wsPort: number | null;
  transports: SipTransport[];
  /** The dialtone node these sockets are, named in every stream connection's id (see nodes.ts). */
  node?: string;
  /** A UDP socket another process bound and shared with this one: used as it is, never bound here. */
  sharedUdp?: dgram.Socket;
  /**
   * For a process that answers only some of what arrives on a shared socket:
   * sees each datagram first, unparsed, and returns true when it took it
   * (handed it on or dropped it) so that it is not answered here.
   */
  handOver?: (datagram: Buffer, address: string, port: number) => boolean;
}

export type Inbound = (parsed: Parsed, flow: Flow) => void;

interface Stream {
  send(text: string): void;
  close(): void;
  /** Calls `listener` when the connection closes; returns the way to stop listening. */
  onClose(listener: () => void): () => void;
}

function closeWatcher(emitter: { once(e: 'close', l: () => void): unknown; off(e: 'close', l: () => void): unknown }) {
  return (listener: () => void) => {
    emitter.once('close', listener);
    return () => {
      emitter.off('close', listener);
    };
  };
}

/** Idle stream connections are closed after this long; registered phones refresh well within it. */
const IDLE_MS = 15 * 60 * 1000;
const MAX_CONNECTIONS = 10_000;
/**
 * Socket buffers for UDP. The kernel's default (about 200 kB) overflows in a
 * registration storm whenever the event loop pauses for garbage collection,
 * and every datagram dropped there costs the phone a 500 ms retransmission.
 * Linux caps this at net.core.rmem_max / wmem_max without complaint.
 */
const UDP_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * The sockets of the built-in engine: UDP, TCP and WebSocket listeners, and
 * the stream connections peers opened, kept by id so a NAT'd phone is reached
 * back on the connection it registered over.
 */
export class Transports {
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private wsHttp: http.Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly streams = new Map<string, Stream>();
  private nextId = 1;
  /** Bindings shared through Redis name connections of every process: ids must not collide across them. */
  private readonly node: string;
  private readonly bound: Partial<Record<SipTransport, number>> = {};
  /**
   * Datagrams to send when this turn of the event loop ends. Each one sent
   * wakes its receiver, which on a busy machine takes the CPU in the middle
   * of the turn; sent together, the receivers wake together.
   */
  private outbox: { bytes: Buffer; port: number; address: string }[] = [];
  private readonly flushOutbox = () => {
    const out = this.outbox;
    this.outbox = [];
    for (const d of out) this.udp?.send(d.bytes, d.port, d.address);
  };

  constructor(private readonly opts: TransportOptions, private readonly inbound: Inbound, private readonly log: Logger) {
    this.node = opts.node ?? newNodeId();
  }

  async start(): Promise<void> {
    const { host, port, transports } = this.opts;
    // UDP and TCP share one port number. Asked for any free port, the number UDP draws can already be
    // held by some TCP socket (an outgoing connection's ephemeral port), so the pair is drawn again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.bindUdpAndTcp(host, port, transports);
        break;
      } catch (err) {
        this.udp?.close();
        this.udp = null;
        delete this.bound.udp;
        if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 10) throw err;
      }
    }
    if (transports.includes('ws') && this.opts.wsPort !== null) {
      const server = http.createServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('SIP over WebSocket only\n'));
      const wss = new WebSocketServer({
        server, maxPayload: MAX_HEADER_BYTES + MAX_BODY_BYTES,
        handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
      });
      wss.on('connection', (ws, req) => this.acceptWs(ws, req.socket));
      wss.on('error', (err) => this.log.warn({ err }, 'SIP WebSocket server error'));
      await listen(server, this.opts.wsPort, host);
      this.wsHttp = server;
      this.wss = wss;
      this.bound.ws = (server.address() as net.AddressInfo).port;
    }
  }

  private async bindUdpAndTcp(host: string, port: number, transports: SipTransport[]): Promise<void> {
    if (this.opts.sharedUdp) {
      this.listenUdp(this.opts.sharedUdp);
    } else if (transports.includes('udp')) {
      const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: UDP_BUFFER_BYTES, sendBufferSize: UDP_BUFFER_BYTES });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      this.listenUdp(udp);
    }
    if (transports.includes('tcp')) {
      const server = net.createServer((socket) => this.acceptTcp(socket));
      server.maxConnections = MAX_CONNECTIONS;
      await listen(server, this.bound.udp ?? port, host);
      this.tcp = server;
      this.bound.tcp = (server.address() as net.AddressInfo).port;
    }
  }

  private listenUdp(udp: dgram.Socket): void {
    const handOver = this.opts.handOver;
    udp.on('message', (buf, rinfo) => {
      if (!handOver?.(buf, rinfo.address, rinfo.port)) this.receiveUdp(buf, rinfo.address, rinfo.port);
    });
    udp.on('error', (err) => this.log.warn({ err }, 'SIP UDP socket error'));
    this.udp = udp;
    this.bound.udp = udp.address().port;
  }

  /** A datagram from the UDP socket, whichever process read it off the socket. */
  receiveUdp(datagram: Buffer, address: string, port: number): void {
    this.receive(parseMessage(datagram), { transport: 'udp', address, port });
  }

  /** The bound UDP socket, to share with worker processes. */
  udpSocket(): dgram.Socket | null {
    return this.udp;
  }

  ports(): Partial<Record<SipTransport, number>> {
    return { ...this.bound };
  }

  private receive(parsed: Parsed, flow: Flow): void {
    try {
      this.inbound(parsed, flow);
    } catch (err) {
      this.log.error({ err, source: `${flow.transport}:${flow.address}:${flow.port}` }, 'SIP message handler failed');
    }
  }

  private register(transport: SipTransport, entry: Stream): string {
    const id = connectionId(transport, this.node, this.nextId++);
    this.streams.set(id, entry);
    return id;
  }

  private acceptTcp(socket: net.Socket): void {
    const framer = new StreamFramer();
    const id = this.register('tcp', { send: (text) => socket.write(text, 'latin1'), close: () => socket.destroy(), onClose: closeWatcher(socket) });
    const flow: Flow = { transport: 'tcp', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
    this.watchSocket(socket, id, framer, flow);
  }

  private watchSocket(socket: net.Socket, id: string, framer: StreamFramer, flow: Flow): void {
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk) => {
      const { messages, fatal: unframeable } = framer.push(chunk);
      for (const m of messages) this.receive(m, flow);
      // After junk there is no telling where the next message starts.
      const fatal = unframeable ?? (messages.some((m) => m.kind === 'junk') ? 'junk on the stream' : null);
      if (fatal) {
        this.log.debug({ reason: fatal, source: `tcp:${flow.address}:${flow.port}` }, 'closing a SIP stream that cannot be framed');
        socket.end();
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.streams.delete(id));
  }

  private acceptWs(ws: WebSocket, socket: net.Socket): void {
    const id = this.register('ws', { send: (text) => ws.send(text), close: () => ws.terminate(), onClose: closeWatcher(ws) });
    const flow: Flow = { transport: 'ws', address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, connectionId: id };
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.receive(parseMessage(isBinary ? buf : buf.toString('utf8')), flow);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => this.streams.delete(id));
  }

  /**
   * False when the flow's connection is gone (a WebSocket peer cannot be
   * called back); `onFail` hears of a new TCP connection that could not be made.
   */
  send(flow: Flow, text: string | Buffer, onFail?: () => void): boolean {
    if (flow.transport === 'udp') {
      if (!this.udp) return false;
      if (this.outbox.push({ bytes: typeof text === 'string' ? Buffer.from(text, 'latin1') : text, port: flow.port, address: flow.address }) === 1) setImmediate(this.flushOutbox);
      return true;
    }
    if (typeof text !== 'string') text = text.toString('latin1');
    const stream = flow.connectionId ? this.streams.get(flow.connectionId) : undefined;
    if (stream) {
      stream.send(text);
      return true;
    }
    if (flow.transport === 'tcp' && this.tcp) {
      const socket = net.connect(flow.port, flow.address);
      if (onFail) socket.once('error', onFail);
      const id = this.register('tcp', { send: (t) => socket.write(t, 'latin1'), close: () => socket.destroy(), onClose: closeWatcher(socket) });
      this.watchSocket(socket, id, new StreamFramer(), { ...flow, connectionId: id });
      socket.write(text, 'latin1');
      return true;
    }
    return false;
  }

  /** For a stream flow, calls `listener` if its connection closes; returns the way to stop listening. */
  watch(flow: Flow, listener: () => void): () => void {
    const stream = flow.connectionId ? this.streams.get(flow.connectionId) : undefined;
    return stream ? stream.onClose(listener) : () => {};
  }

  async stop(): Promise<void> {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    this.udp?.close();
    this.udp = null;
    if (this.wss) {
      for (const c of this.wss.clients) c.terminate();
      this.wss.close();
    }
    await Promise.all([this.tcp, this.wsHttp].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve()))));
    this.tcp = null;
    this.wsHttp = null;
  }
}

function listen(server: net.Server | http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
