import net from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received { to: string[]; data: string }

/** A real SMTP server on loopback; `refuse` answers every recipient with a temporary failure. */
export async function smtp(t: { teardown(fn: () => unknown): void }, opts: { refuse?: boolean } = {}): Promise<{ port: number; received: Received[]; setRefuse(v: boolean): void }> {
  const received: Received[] = [];
  let refuse = opts.refuse ?? false;
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onRcptTo(_address, _session, cb) {
      if (refuse) {
        const err = new Error('mailbox temporarily unavailable') as Error & { responseCode: number };
        err.responseCode = 451;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as net.AddressInfo).port, received, setRefuse: (v) => { refuse = v; } };
}

export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

