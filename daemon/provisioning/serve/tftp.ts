import type dgram from 'node:dgram';
import fs from 'node:fs';
import tftp, { type GetStream, type PutStream, type Server } from 'tftp';
import type { Logger } from '../../core/log';
import { networkAllowlist } from './allowlist';
import { errorPacket, screenDatagram } from './tftp-gate';
import { installTransferIdCheck } from './tftp-tid';
import type { FetchResult, FileService } from './fetch';

// RFC 1350 texts: the tftp package gives an error packet the matching code only when the message is exactly one of these.
const NOT_FOUND = 'File not found';
const ACCESS_CODE = 2;
const ACCESS = 'Access violation';
// Any other text goes out with code 0 ("see the message"): code 8 belongs to refused options (RFC 2347).
const RATE_LIMITED = 'Too many failed requests from this address; try again in a minute';

export interface TftpOptions {
  host: string;
  port: number;
  allow: string[];
  /** An existing folder: the tftp package checks its root even though every request is answered here. */
  root: string;
}

/**
 * Read-only TFTP in front of the file service. blksize, tsize and
 * windowsize are negotiated by the tftp package (timeout it ignores, which
 * RFC 2349 allows); writes are refused before a transfer starts.
 */
export class TftpFrontEnd {
  private server: Server | null = null;
  private readonly allowed: (a: string) => boolean;
  private readonly active = new Set<GetStream>();
  /** Transfers by how they ended, for the metrics: sent whole, broken off (a timeout or the phone's error), or refused by DIALTONE_TFTP_ALLOW. */
  readonly transfers = { completed: 0, failed: 0, denied: 0 };

  constructor(private readonly files: FileService, private readonly opts: TftpOptions, private readonly log: Logger) {
    this.allowed = networkAllowlist(opts.allow);
  }

  /** The port bound, which differs from the configured one when that was 0. */
  port(): number {
    const s = this.server as unknown as { _socket: { address(): { port: number } } } | null;
    return s ? s._socket.address().port : this.opts.port;
  }

  async start(): Promise<void> {
    installTransferIdCheck();
    fs.mkdirSync(this.opts.root, { recursive: true });
    // The listener must be given here: without one, the package installs its own, which serves the root folder as well.
    const server = tftp.createServer(
      { host: this.opts.host, port: this.opts.port, root: this.opts.root, denyPUT: true, blockSize: 1468, windowSize: 16, retries: 3, timeout: 1000 },
      (req, res) => this.handle(req, res),
    );
    this.screen(server);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
      server.listen();
    });
    server.on('error', (err) => this.log.warn({ err: err.message }, 'tftp: socket error'));
    this.server = server;
    this.log.info({ host: this.opts.host, port: this.port() }, 'TFTP listening (read-only)');
  }

  /**
   * Stops accepting requests; transfers under way keep their own sockets and
   * finish, or end by themselves after their few retries if the phone is gone.
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      await new Promise<void>((resolve) => {
        server.once('close', resolve);
        server.close();
      });
    }
    await Promise.all([...this.active].map((req) => new Promise((resolve) => req.once('close', resolve))));
  }

  /**
   * Puts screenDatagram and the allowlist in front of the package's own
   * listener on the listening socket, so what they refuse never starts a transfer.
   */
  private screen(server: Server): void {
    const socket = (server as unknown as { _socket: dgram.Socket })._socket;
    const [packageListener] = socket.listeners('message') as ((msg: Buffer, rinfo: dgram.RemoteInfo) => void)[];
    socket.removeAllListeners('message');
    socket.on('message', (msg: Buffer, rinfo: dgram.RemoteInfo) => {
      const verdict = screenDatagram(msg);
      if (verdict.action === 'drop') return;
      if (!this.allowed(rinfo.address)) {
        this.transfers.denied++;
        this.log.info({ source: rinfo.address }, 'tftp: source outside DIALTONE_TFTP_ALLOW');
        socket.send(errorPacket(ACCESS_CODE, ACCESS), rinfo.port, rinfo.address);
        return;
      }
      if (verdict.action === 'refuse') {
        this.log.info({ source: rinfo.address, refused: verdict.message }, 'tftp: request refused for its options');
        socket.send(errorPacket(verdict.code, verdict.message), rinfo.port, rinfo.address);
        return;
      }
      packageListener!(msg, rinfo);
    });
  }

  private handle(req: GetStream, res: PutStream): void {
    let sending = false;
    let failed = false;
    req.on('error', (err) => {
      failed = true;
      this.log.debug({ err: err.message, file: req.file.slice(0, 80) }, 'tftp: transfer ended with an error');
    });
    const source = req.stats.remoteAddress;
    this.active.add(req);
    req.on('close', () => {
      this.active.delete(req);
      if (failed) this.transfers.failed++;
      else if (sending) this.transfers.completed++;
    });
    new Promise<FetchResult>((resolve) => resolve(this.files.fetch({ name: req.file, transport: 'tftp', source }))).then((result) => {
      switch (result.status) {
        case 'ok':
          sending = true;
          res.setSize(result.file.body.length);
          res.end(result.file.body);
          return;
        case 'static': {
          sending = true;
          res.setSize(result.file.size);
          const rs = fs.createReadStream(result.file.path);
          rs.on('error', () => req.abort(NOT_FOUND));
          rs.pipe(res);
          return;
        }
        case 'not_found':
          req.abort(NOT_FOUND);
          return;
        case 'forbidden':
        case 'unauthorized':
          req.abort(ACCESS);
          return;
        case 'rate_limited':
          req.abort(RATE_LIMITED);
      }
    }, (err: unknown) => {
      this.log.error({ err }, 'tftp: request failed');
      req.abort('Server error');
    });
  }
}
