import dgram from 'node:dgram';

/** A minimal read-only TFTP client (512-byte blocks, no options): the same one drives both servers. */
export function tftpGet(port: number, name: string, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const chunks: Buffer[] = [];
    let expected = 1;
    let finished = false;
    const done = (err: Error | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.close();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => done(new Error(`timeout ${name}`)), timeoutMs);
    let peer: number | null = null;
    s.on('message', (msg, rinfo) => {
      // RFC 1350 transfer IDs: the first answer fixes the server's port; anything from another port is a stale transfer.
      peer ??= rinfo.port;
      if (rinfo.port !== peer || msg.length < 4) return;
      const op = msg.readUInt16BE(0);
      if (op === 5) return done(new Error(`error ${msg.readUInt16BE(2)} ${name}`));
      if (op !== 3) return;
      const block = msg.readUInt16BE(2);
      const ack = Buffer.from([0, 4, msg[2]!, msg[3]!]);
      const last = block === expected && msg.length - 4 < 512;
      if (block === expected) {
        expected++;
        chunks.push(msg.subarray(4));
      }
      // The socket closes only once the final ACK is out: closed at once, the ACK was often never sent, and the
      // server kept retransmitting the last block (holding the finished transfer) until it gave up.
      s.send(ack, rinfo.port, rinfo.address, () => {
        if (last) done(null);
      });
    });
    s.send(Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${name}\0octet\0`)]), port, '127.0.0.1');
  });
}
