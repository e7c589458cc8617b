import dgram from 'node:dgram';

/** A UDP port free on loopback right now (the tftp package cannot bind port 0 and report it). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A TCP port free on loopback right now, for listeners configured by number. */
export async function freeTcpPort(): Promise<number> {
  const net = await import('node:net');
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** `count` consecutive UDP ports free on loopback right now: sipp's `-mp` takes the port given and the three after it (RTCP, video RTP and RTCP). */
export async function freeUdpRun(count: number): Promise<number> {
  for (;;) {
    const base = await freeUdpPort();
    if (base + count > 65536) continue;
    const held: dgram.Socket[] = [];
    let free = true;
    for (let p = base; p < base + count && free; p++) {
      const s = dgram.createSocket('udp4');
      free = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.bind(p, '127.0.0.1', () => resolve(true));
      });
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
    if (free) return base;
  }
}
