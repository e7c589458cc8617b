import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';

/**
 * A stand-in for drachtio-server in CI: it speaks drachtio-srf's admin
 * protocol (`<bytes>#<id>|<verb>|…`, SIP text after a CRLF) for the flows
 * dialtone uses — authenticate, route, requests in from the network and
 * their answers, requests out and their answers, dialogs made by a 200 to
 * an INVITE and the requests inside them — and carries SIP over UDP on
 * loopback. Nothing more: it is not a SIP stack.
 *
 * Where dialtone's adapter depended on it, it behaves as drachtio-server
 * v0.9.4 does: a request inside a dialog goes to the application as a
 * transaction of its own, with the dialog's id, whatever verbs the
 * application routed; a request outside any dialog only for a routed verb
 * (503 otherwise); a BYE for a dialog it does not hold gets 481.
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
  peer: { address: string; port: number };
  cseq: number;
}

const header = (text: string, name: string, short?: string) =>
  new RegExp(`^(?:${name}${short ? `|${short}` : ''})\\s*:\\s*([^\\r\\n]*)`, 'im').exec(text)?.[1]?.trim() ?? '';
const tagOf = (value: string) => /;\s*tag=([^;>\s]+)/i.exec(value)?.[1] ?? '';
const uriOf = (value: string) => /<([^>]+)>/.exec(value)?.[1] ?? value.split(';')[0]!.trim();

export async function startStandin(secret: string): Promise<Standin> {
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  const sipPort = udp.address().port;
  const incoming = new Map<string, { address: string; port: number; method: string; text: string }>();
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
  const answer = (text: string, status: number, reason: string, to: dgram.RemoteInfo) => {
    const keep = text.split(CRLF).filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
    udp.send(Buffer.from([`SIP/2.0 ${status} ${reason}`, ...keep, 'Content-Length: 0', '', ''].join(CRLF)), to.port, to.address);
  };

  udp.on('message', (buf, rinfo) => {
    const text = buf.toString('utf8');
    if (text.startsWith('SIP/2.0')) {
      const sent = outgoing.get(topBranch(text));
      if (sent) send(`sip|network|${buf.length}|udp|${rinfo.address}|${rinfo.port}|${now()}|${sent.txn}|${sent.dialogId}${CRLF}${text}`);
      return;
    }
    const method = text.slice(0, text.indexOf(' '));
    const dialog = dialogFor(text);
    if (!dialog && tagOf(header(text, 'to', 't'))) {
      if (method === 'BYE' || method === 'UPDATE') answer(text, 481, 'Call Leg/Transaction Does Not Exist', rinfo);
      if (method !== 'INFO') return;
    }
    if (!dialog && method === 'ACK') return;
    if (!dialog && !routes.has(method.toLowerCase())) {
      answer(text, 503, 'Service Unavailable', rinfo);
      return;
    }
    // Each request is a transaction of its own, inside a dialog or not.
    const txn = crypto.randomUUID();
    if (method !== 'ACK') incoming.set(txn, { address: rinfo.address, port: rinfo.port, method, text });
    if (dialog && method === 'BYE') dialogs.delete(dialog.id);
    send(`sip|network|${buf.length}|udp|${rinfo.address}|${rinfo.port}|${now()}|${txn}|${dialog?.id ?? ''}${CRLF}${text}`);
  });

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
        remoteTarget: uriOf(header(request.text, 'contact', 'm')), peer: { address: request.address, port: request.port }, cseq: 0,
      });
    }
    udp.send(Buffer.from(out), request.port, request.address);
    send(`response|${id}|OK|application|${Buffer.byteLength(out)}|udp|127.0.0.1|${sipPort}|${now()}|${txn}|${dialogId}${CRLF}${out}`);
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
      `${method} ${target} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${sipPort};branch=${branch};rport`, 'Max-Forwards: 70',
      `From: <${dialog.localUri}>;tag=${dialog.localTag}`, `To: <${dialog.remoteUri}>;tag=${dialog.remoteTag}`,
      `Call-ID: ${dialog.callId}`, `CSeq: ${++dialog.cseq} ${method}`, ...rest.filter((l) => !own.test(l)),
    ].join(CRLF).replace(/\r\n\r\n[\s\S]*$/, `${CRLF}Content-Length: 0${CRLF}${CRLF}`);
    if (method === 'BYE') dialogs.delete(dialog.id);
    udp.send(Buffer.from(text), dialog.peer.port, dialog.peer.address);
    send(`response|${id}|OK|application|${Buffer.byteLength(text)}|udp|${dialog.peer.address}|${dialog.peer.port}|${now()}|${txn}|${dialog.id}${CRLF}${text}`);
  };

  const onMessage = (msg: string) => {
    const cut = msg.indexOf(CRLF);
    const leader = cut < 0 ? msg : msg.slice(0, cut);
    const body = cut < 0 ? '' : msg.slice(cut + 2);
    const [id, verb, ...args] = leader.split('|');
    if (verb === 'authenticate') {
      send(args[0] === secret ? `response|${id}|OK|udp/127.0.0.1:${sipPort}|v0.8.1` : `response|${id}|NOK|bad secret`);
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
      const target = /^sip:([^:;]+):(\d+)/.exec(proxy ?? '') ?? /^\S+ sips?:(?:[^@\s]*@)?([^:;\s]+):(\d+)/.exec(body);
      if (!target) {
        send(`response|${id}|NOK|no target`);
        return;
      }
      const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
      const txn = crypto.randomUUID();
      outgoing.set(branch, { txn, dialogId: '' });
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
    dialogs: () => dialogs.size,
    async close() {
      client?.destroy();
      udp.close();
      await new Promise<void>((r) => admin.close(() => r()));
    },
  };
}
