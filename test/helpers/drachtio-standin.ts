import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A stand-in for drachtio-server in CI: it speaks drachtio-srf's admin
 * protocol (`<bytes>#<id>|<verb>|…`, SIP text after a CRLF) for the flows
 * dialtone uses — authenticate, route, requests in from the network and
 * their answers, requests out and their answers — and carries SIP over UDP
 * on loopback. Nothing more: it is not a SIP stack.
 */
export interface Standin {
  adminPort: number;
  sipPort: number;
  close(): Promise<void>;
}

const CRLF = '\r\n';

export async function startStandin(secret: string): Promise<Standin> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const sipPort = udp.address().port;
  const incoming = new Map<string, { address: string; port: number }>();
  const outgoing = new Map<string, string>();
  let client: net.Socket | null = null;

  const send = (payload: string) => {
    const s = `${crypto.randomUUID()}|${payload}`;
    client?.write(`${Buffer.byteLength(s)}#${s}`);
  };
  const now = () => String(Date.now());
  const topBranch = (text: string) => /^(?:via|v)\s*:[^\r\n]*;branch=([^;\s,]+)/im.exec(text)?.[1] ?? '';

  udp.on('message', (buf, rinfo) => {
    const text = buf.toString('utf8');
    if (text.startsWith('SIP/2.0')) {
      const txn = outgoing.get(topBranch(text));
      if (txn) send(`sip|network|${buf.length}|udp|${rinfo.address}|${rinfo.port}|${now()}|${txn}|${CRLF}${text}`);
      return;
    }
    const txn = crypto.randomUUID();
    incoming.set(txn, { address: rinfo.address, port: rinfo.port });
    send(`sip|network|${buf.length}|udp|${rinfo.address}|${rinfo.port}|${now()}|${txn}|${CRLF}${text}`);
  });

  const onMessage = (msg: string) => {
    const cut = msg.indexOf(CRLF);
    const leader = cut < 0 ? msg : msg.slice(0, cut);
    const body = cut < 0 ? '' : msg.slice(cut + 2);
    const [id, verb, ...args] = leader.split('|');
    if (verb === 'authenticate') {
      send(args[0] === secret ? `response|${id}|OK|udp/127.0.0.1:${sipPort}|v0.8.1` : `response|${id}|NOK|bad secret`);
    } else if (verb === 'route') {
      send(`response|${id}|OK`);
    } else if (verb === 'sip') {
      const [txnIn, , proxy] = args;
      const answerTo = txnIn ? incoming.get(txnIn) : undefined;
      if (answerTo) {
        udp.send(Buffer.from(body), answerTo.port, answerTo.address);
        send(`response|${id}|OK|application|${Buffer.byteLength(body)}|udp|127.0.0.1|${sipPort}|${now()}|${txnIn}||${CRLF}${body}`);
        return;
      }
      const target = /^sip:([^:;]+):(\d+)/.exec(proxy ?? '') ?? /^\S+ sips?:(?:[^@\s]*@)?([^:;\s]+):(\d+)/.exec(body);
      if (!target) {
        send(`response|${id}|NOK|no target`);
        return;
      }
      const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
      const txn = crypto.randomUUID();
      outgoing.set(branch, txn);
      const [first, ...rest] = body.split(CRLF);
      const sent = [first, `Via: SIP/2.0/UDP 127.0.0.1:${sipPort};branch=${branch};rport`, ...rest].join(CRLF);
      udp.send(Buffer.from(sent), Number(target[2]), target[1]);
      send(`response|${id}|OK|application|${Buffer.byteLength(sent)}|udp|${target[1]}|${target[2]}|${now()}|${txn}${CRLF}${sent}`);
    }
  };

  const admin = net.createServer((socket) => {
    client = socket;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const hash = buf.indexOf('#');
        if (hash <= 0) return;
        const size = Number(buf.toString('utf8', 0, hash));
        if (buf.length < hash + 1 + size) return;
        onMessage(buf.toString('utf8', hash + 1, hash + 1 + size));
        buf = buf.subarray(hash + 1 + size);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => admin.listen(0, '127.0.0.1', () => r()));
  return {
    adminPort: (admin.address() as net.AddressInfo).port,
    sipPort,
    async close() {
      client?.destroy();
      udp.close();
      await new Promise<void>((r) => admin.close(() => r()));
    },
  };
}
