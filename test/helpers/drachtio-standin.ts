import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A stand-in for drachtio-server in CI: it speaks drachtio-srf's admin
 * protocol (`<bytes>#<id>|<verb>|…`, SIP text after a CRLF) for the flows
 * dialtone uses — authenticate, route, requests in from the network and
 * their answers, requests out and their answers, dialogs made by a 200 to
 * an INVITE and the requests inside them — and carries SIP over UDP on
 * loopback (one port for UDP and TCP). Nothing more: it is not a SIP stack.
 *
 * Where dialtone's adapter depended on it, it behaves as drachtio-server
 * v0.9.4 does: a request inside a dialog goes to the application as a
 * transaction of its own, with the dialog's id, whatever verbs the
 * application routed; a request outside any dialog only for a routed verb
 * (503 otherwise); a BYE for a dialog it does not hold gets 481; and after
 * a 200 to a REGISTER over TCP, an INVITE, OPTIONS, NOTIFY or MESSAGE to the
 * registered contact's user and host leaves on that connection, whatever
 * flow the application asked for.
 */
export interface Standin {
  adminPort: number;
  sipPort: number;
  /** Dialogs the stand-in holds now, as drachtio-server would. */
  dialogs(): number;
  close(): Promise<void>;
}

const CRLF = '\r\n';

interface Dialog {
  id: string;
  callId: string;
  localTag: string;
  localUri: string;
  remoteTag: string;
  remoteUri: string;
  remoteTarget: string;
  peer: Peer;
  cseq: number;
}

/** Where a message came from and how to send back: a UDP address or a TCP connection. */
interface Peer {
  transport: 'udp' | 'tcp';
  address: string;
  port: number;
  send(text: string): void;
}

const REMEMBERED = new Set(['INVITE', 'OPTIONS', 'NOTIFY', 'MESSAGE']);

const header = (text: string, name: string, short?: string) =>
  new RegExp(`^(?:${name}${short ? `|${short}` : ''})\\s*:\\s*([^\\r\\n]*)`, 'im').exec(text)?.[1]?.trim() ?? '';
const tagOf = (value: string) => /;\s*tag=([^;>\s]+)/i.exec(value)?.[1] ?? '';
const uriOf = (value: string) => /<([^>]+)>/.exec(value)?.[1] ?? value.split(';')[0]!.trim();
/** `user@host` of a SIP URI, as drachtio-server keys the connection a contact registered on. */
const userHost = (uri: string) => /^sips?:(?:([^@;:]+)(?::[^@]*)?@)?([^:;>\s]+)/i.exec(uri)?.slice(1).filter(Boolean).join('@') ?? '';

export async function startStandin(secret: string): Promise<Standin> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const sipPort = udp.address().port;
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    const peer: Peer = { transport: 'tcp', address: socket.remoteAddress!, port: socket.remotePort!, send: (text) => socket.write(text) };
    connections.set(`${peer.address}:${peer.port}`, peer);
    let buf = '';
    socket.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/^(?:content-length|l)\s*:\s*(\d+)/im.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        fromNetwork(buf.slice(0, end + 4 + length), peer);
        buf = buf.slice(end + 4 + length);
      }
    });
    socket.on('close', () => {
      sockets.delete(socket);
      connections.delete(`${peer.address}:${peer.port}`);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r, reject) => {
    tcp.once('error', reject);
    tcp.listen(sipPort, '127.0.0.1', () => r());
  });
  const connections = new Map<string, Peer>();
  /** The connection each registered contact's user and host is reached on. */
  const remembered = new Map<string, Peer>();
  const udpPeer = (address: string, port: number): Peer => ({ transport: 'udp', address, port, send: (text) => udp.send(Buffer.from(text), port, address) });
  const incoming = new Map<string, { peer: Peer; method: string; text: string }>();
  const outgoing = new Map<string, { txn: string; dialogId: string }>();
  const dialogs = new Map<string, Dialog>();
  const routes = new Set<string>();
  let client: net.Socket | null = null;

  const send = (payload: string) => {
    const s = `${crypto.randomUUID()}|${payload}`;
    client?.write(`${Buffer.byteLength(s)}#${s}`);
  };
  const now = () => String(Date.now());
  const topBranch = (text: string) => /^(?:via|v)\s*:[^\r\n]*;branch=([^;\s,]+)/im.exec(text)?.[1] ?? '';
  const dialogFor = (text: string) => {
    const callId = header(text, 'call-id', 'i');
    const toTag = tagOf(header(text, 'to', 't'));
    return [...dialogs.values()].find((d) => d.callId === callId && d.localTag === toTag);
  };
  /** A stateless answer of the stand-in's own, as drachtio-server gives to what no application may take. */
  const answer = (text: string, status: number, reason: string, to: Peer) => {
    const keep = text.split(CRLF).filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
    to.send([`SIP/2.0 ${status} ${reason}`, ...keep, 'Content-Length: 0', '', ''].join(CRLF));
  };
  const network = (peer: Peer, text: string, txn: string, dialogId: string) =>
    send(`sip|network|${Buffer.byteLength(text)}|${peer.transport}|${peer.address}|${peer.port}|${now()}|${txn}|${dialogId}${CRLF}${text}`);

  udp.on('message', (buf, rinfo) => fromNetwork(buf.toString('utf8'), udpPeer(rinfo.address, rinfo.port)));

  function fromNetwork(text: string, peer: Peer): void {
    if (text.startsWith('SIP/2.0')) {
      const sent = outgoing.get(topBranch(text));
      if (sent) network(peer, text, sent.txn, sent.dialogId);
      return;
    }
    const method = text.slice(0, text.indexOf(' '));
    const dialog = dialogFor(text);
    if (!dialog && tagOf(header(text, 'to', 't'))) {
      if (method === 'BYE' || method === 'UPDATE') answer(text, 481, 'Call Leg/Transaction Does Not Exist', peer);
      if (method !== 'INFO') return;
    }
    if (!dialog && method === 'ACK') return;
    if (!dialog && !routes.has(method.toLowerCase())) {
      answer(text, 503, 'Service Unavailable', peer);
      return;
    }
    // Each request is a transaction of its own, inside a dialog or not.
    const txn = crypto.randomUUID();
    if (method !== 'ACK') incoming.set(txn, { peer, method, text });
    if (dialog && method === 'BYE') dialogs.delete(dialog.id);
    network(peer, text, txn, dialog?.id ?? '');
  }

  /** A 200 to an INVITE makes a dialog: the application's To tag, our Contact. */
  const answerRequest = (id: string, txn: string, body: string) => {
    const request = incoming.get(txn)!;
    incoming.delete(txn);
    let out = body;
    let dialogId = '';
    if (request.method === 'INVITE' && /^SIP\/2\.0 2\d\d/.test(body)) {
      if (!header(out, 'contact', 'm')) out = out.replace(CRLF, `${CRLF}Contact: <sip:127.0.0.1:${sipPort}>${CRLF}`);
      const to = header(out, 'to', 't');
      const from = header(request.text, 'from', 'f');
      dialogId = crypto.randomUUID();
      dialogs.set(dialogId, {
        id: dialogId, callId: header(request.text, 'call-id', 'i'), localTag: tagOf(to), localUri: uriOf(to), remoteTag: tagOf(from), remoteUri: uriOf(from),
        remoteTarget: uriOf(header(request.text, 'contact', 'm')), peer: request.peer, cseq: 0,
      });
    }
    const expires = Number(/;\s*expires=(\d+)/i.exec(header(out, 'contact', 'm'))?.[1] ?? (header(out, 'expires') || 0));
    if (request.method === 'REGISTER' && request.peer.transport === 'tcp' && /^SIP\/2\.0 200/.test(out)) {
      const key = userHost(uriOf(header(request.text, 'contact', 'm')));
      if (expires > 0) remembered.set(key, request.peer);
      else remembered.delete(key);
    }
    request.peer.send(out);
    send(`response|${id}|OK|application|${Buffer.byteLength(out)}|${request.peer.transport}|127.0.0.1|${sipPort}|${now()}|${txn}|${dialogId}${CRLF}${out}`);
  };

  /** A request the application sends inside a dialog: the stand-in writes the dialog's headers. */
  const requestInDialog = (id: string, dialog: Dialog, body: string) => {
    const [first, ...rest] = body.split(CRLF);
    const [method, uri] = first!.split(' ');
    const target = uri === 'sip:placeholder' ? dialog.remoteTarget : uri!;
    const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
    const txn = crypto.randomUUID();
    outgoing.set(branch, { txn, dialogId: dialog.id });
    const own = /^(via|v|from|f|to|t|call-id|i|cseq|max-forwards|content-length|l)\s*:/i;
    const text = [
      `${method} ${target} SIP/2.0`, `Via: SIP/2.0/${dialog.peer.transport.toUpperCase()} 127.0.0.1:${sipPort};branch=${branch};rport`, 'Max-Forwards: 70',
      `From: <${dialog.localUri}>;tag=${dialog.localTag}`, `To: <${dialog.remoteUri}>;tag=${dialog.remoteTag}`,
      `Call-ID: ${dialog.callId}`, `CSeq: ${++dialog.cseq} ${method}`, ...rest.filter((l) => !own.test(l)),
    ].join(CRLF).replace(/\r\n\r\n[\s\S]*$/, `${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    if (method === 'BYE') dialogs.delete(dialog.id);
    dialog.peer.send(text);
    send(`response|${id}|OK|application|${Buffer.byteLength(text)}|${dialog.peer.transport}|${dialog.peer.address}|${dialog.peer.port}|${now()}|${txn}|${dialog.id}${CRLF}${text}`);
  };

  const onMessage = (msg: string) => {
    const cut = msg.indexOf(CRLF);
    const leader = cut < 0 ? msg : msg.slice(0, cut);
    const body = cut < 0 ? '' : msg.slice(cut + 2);
    const [id, verb, ...args] = leader.split('|');
    if (verb === 'authenticate') {
      send(args[0] === secret ? `response|${id}|OK|udp/127.0.0.1:${sipPort},tcp/127.0.0.1:${sipPort}|v0.8.1` : `response|${id}|NOK|bad secret`);
    } else if (verb === 'route') {
      routes.add(args[0]!.toLowerCase());
      send(`response|${id}|OK`);
    } else if (verb === 'sip') {
      const [txnIn, dialogId, proxy] = args;
      if (txnIn && incoming.has(txnIn)) {
        answerRequest(id!, txnIn, body);
        return;
      }
      if (dialogId) {
        const dialog = dialogs.get(dialogId);
        if (dialog) requestInDialog(id!, dialog, body);
        else send(`response|${id}|NOK|unknown dialog`);
        return;
      }
      const [first, ...rest] = body.split(CRLF);
      const [method, uri] = first!.split(' ');
      const target = /^sip:([^:;]+):(\d+)(?:;transport=(udp|tcp))?/i.exec(proxy ?? '') ?? /^\S+ sips?:(?:[^@\s]*@)?([^:;\s]+):(\d+)/.exec(body);
      const asked = target && (target[3]?.toLowerCase() === 'tcp' ? connections.get(`${target[1]}:${target[2]}`) : udpPeer(target[1]!, Number(target[2])));
      // drachtio-server's own choice first: the connection the Request-URI's user and host registered on.
      const peer = (REMEMBERED.has(method!) ? remembered.get(userHost(uri!)) : undefined) ?? asked;
      if (!peer) {
        send(`response|${id}|NOK|no target`);
        return;
      }
      const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
      const txn = crypto.randomUUID();
      outgoing.set(branch, { txn, dialogId: '' });
      const sent = [first, `Via: SIP/2.0/${peer.transport.toUpperCase()} 127.0.0.1:${sipPort};branch=${branch};rport`, ...rest].join(CRLF);
      peer.send(sent);
      send(`response|${id}|OK|application|${Buffer.byteLength(sent)}|${peer.transport}|${peer.address}|${peer.port}|${now()}|${txn}${CRLF}${sent}`);
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
    dialogs: () => dialogs.size,
    async close() {
      client?.destroy();
      udp.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => tcp.close(() => r()));
      await new Promise<void>((r) => admin.close(() => r()));
    },
  };
}
