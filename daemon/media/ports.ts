import dgram from 'node:dgram';
import net from 'node:net';

/**
 * The UDP ports calls take their audio on, from the operator's range: an
 * even port for RTP and the next one for RTCP (RFC 3550 §11), both bound
 * before the port is advertised and both closed when the call ends, so the
 * pool is back to full once calls are gone.
 */
/** Ports of the range another program holds: try this many, not the whole range on every call. */
const MAX_BIND_FAILURES = 32;

export interface PortRange {
  min: number;
  max: number;
}

export interface MediaPorts {
  port: number;
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
}

/**
 * Every address a call's audio goes to is an IP address (SDP's, or where
 * the phone's packets came from): answered at once, so a frame is sent in
 * the pacer's tick rather than on a later turn of the event loop after a
 * resolver's callback.
 */
function literal(address: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  callback(null, address, net.isIP(address));
}

function bind(socket: dgram.Socket, port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const failed = () => resolve(false);
    socket.once('error', failed);
    socket.bind(port, host, () => {
      socket.off('error', failed);
      resolve(true);
    });
  });
}

export class PortPool {
  private readonly inUse = new Set<number>();
  private next: number;
  private readonly first: number;
  private readonly pairs: number;

  constructor(range: PortRange, private readonly host: string) {
    this.first = range.min + (range.min % 2);
    this.pairs = Math.floor((range.max - this.first + 1) / 2);
    this.next = 0;
  }

  get size(): number {
    return this.inUse.size;
  }

  /**
   * A free pair, or null when every port of the range is taken (by our
   * calls or by other programs). Ports are handed out in turn, so a port
   * just released is not reused at once while stray packets may still be
   * arriving for the call that had it.
   */
  async open(): Promise<MediaPorts | null> {
    const family = this.host.includes(':') ? 'udp6' : 'udp4';
    let failures = 0;
    for (let tried = 0; tried < this.pairs && failures < MAX_BIND_FAILURES; tried++) {
      const port = this.first + 2 * this.next;
      this.next = (this.next + 1) % this.pairs;
      if (this.inUse.has(port)) continue;
      this.inUse.add(port);
      const rtp = dgram.createSocket({ type: family, lookup: literal });
      const rtcp = dgram.createSocket({ type: family, lookup: literal });
      if ((await bind(rtp, port, this.host)) && (await bind(rtcp, port + 1, this.host))) return { port, rtp, rtcp };
      this.release({ port, rtp, rtcp });
      failures++;
    }
    return null;
  }

  release(p: MediaPorts): void {
    for (const s of [p.rtp, p.rtcp]) {
      try {
        s.close();
      } catch {
        // Never bound, or already closed: either way it holds no port.
      }
    }
    this.inUse.delete(p.port);
  }
}
