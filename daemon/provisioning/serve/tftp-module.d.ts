// The `tftp` package (0.1.2) ships no types: these cover the server side dialtone uses.
declare module 'tftp' {
  import type { EventEmitter } from 'node:events';
  import type { Readable, Writable } from 'node:stream';

  export interface TransferStats {
    blockSize: number;
    windowSize: number;
    size: number | null;
    userExtensions: Record<string, string>;
    retries: number;
    timeout: number;
    localAddress: string;
    localPort: number;
    remoteAddress: string;
    remotePort: number;
  }

  /** The request side of a transfer: for a read request, only its name and events matter. */
  export interface GetStream extends Readable {
    method: 'GET' | 'PUT';
    file: string;
    stats: TransferStats;
    /** Sends an error packet; a message equal to an RFC 1350 text ("File not found", "Access violation") gets its code. */
    abort(error?: string | Error): void;
    close(): void;
  }

  /** The response side: set the size (answers tsize and starts the transfer), then write the bytes. */
  export interface PutStream extends Writable {
    setSize(size: number): void;
    setUserExtensions(ext: Record<string, string>): void;
  }

  export interface ServerOptions {
    host?: string;
    port?: number;
    root?: string;
    denyGET?: boolean;
    denyPUT?: boolean;
    /** Largest blksize granted (8 to 65464). */
    blockSize?: number;
    /** Largest windowsize granted (1 to 65535). */
    windowSize?: number;
    retries?: number;
    /** Retransmission timeout in milliseconds. */
    timeout?: number;
  }

  export interface Server extends EventEmitter {
    host: string;
    port: number;
    root: string;
    listen(): void;
    close(): void;
    on(event: 'request', listener: (req: GetStream, res: PutStream) => void): this;
    on(event: 'listening' | 'close', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }

  export function createServer(options?: ServerOptions, listener?: (req: GetStream, res: PutStream) => void): Server;
}
