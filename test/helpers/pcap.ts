import { spawn } from 'node:child_process';
import fs from 'node:fs';

/**
 * What went over the loopback, as dumpcap (Wireshark's capture engine)
 * saw it: the UDP datagrams of a capture filter, with the kernel's time of
 * each. Tests and benches read dialtone's RTP here rather than where a
 * program of ours received it, so neither our receiver's delays nor its
 * parsing stand between dialtone and what is measured.
 */
export interface Datagram {
  /** Kernel capture time, in milliseconds. */
  at: number;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** The UDP payload, cut at the capture's snap length. */
  data: Buffer;
}

export interface Capture {
  file: string;
  /** Ends the capture, once everything it saw is written. */
  stop(): Promise<void>;
}

/**
 * Starts dumpcap on the loopback with a capture filter (`udp and src
 * portrange 40000-40099`); resolves once it is capturing. It stops by
 * itself after `maxSeconds`, so a test killed at its timeout leaves no
 * capture running.
 */
export async function startCapture(file: string, filter: string, o: { snaplen?: number; maxSeconds?: number } = {}): Promise<Capture> {
  const child = spawn('dumpcap', ['-q', '-i', 'lo', '-P', '-w', file, '-f', filter, ...(o.snaplen ? ['-s', String(o.snaplen)] : []), '-B', '64',
    '-a', `duration:${o.maxSeconds ?? 120}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      err += b;
      if (/Capturing on/.test(err)) resolve();
    });
    exited.then((code) => reject(new Error(`dumpcap exited (${code}): ${err.trim()}`)), () => undefined);
  });
  return {
    file,
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** The UDP datagrams over IPv4 in a libpcap file (Ethernet framing, as Linux gives the loopback, or Linux cooked capture). */
export function readCapture(file: string): Datagram[] {
  const b = fs.readFileSync(file);
  if (b.length < 24) return [];
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && b.readUInt32BE(0) !== 0xa1b2c3d4 && b.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a libpcap file`);
  const nano = (le ? magic : b.readUInt32BE(0)) === 0xa1b23c4d;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const linkType = u32(20);
  const linkHeader = linkType === 1 ? 14 : linkType === 113 ? 16 : -1;
  if (linkHeader < 0) throw new Error(`${file}: link type ${linkType} is not Ethernet or Linux cooked`);
  const out: Datagram[] = [];
  for (let o = 24; o + 16 <= b.length;) {
    const at = u32(o) * 1000 + u32(o + 4) / (nano ? 1e6 : 1e3);
    const caught = u32(o + 8);
    const p = b.subarray(o + 16, o + 16 + caught);
    o += 16 + caught;
    const ip = p.subarray(linkHeader);
    if (ip.length < 28 || ip[0]! >> 4 !== 4 || ip[9] !== 17) continue;
    const udp = ip.subarray((ip[0]! & 0x0f) * 4);
    out.push({
      at,
      src: ip.subarray(12, 16).join('.'), dst: ip.subarray(16, 20).join('.'),
      srcPort: udp.readUInt16BE(0), dstPort: udp.readUInt16BE(2),
      data: udp.subarray(8, Math.min(udp.length, udp.readUInt16BE(4))),
    });
  }
  return out;
}
