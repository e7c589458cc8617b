import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createLogger } from '../../daemon/core/log';
import { BuiltinEngine } from '../../daemon/sip/builtin/engine';
import { DrachtioEngine } from '../../daemon/sip/drachtio/engine';
import type { IncomingRequest, SipEngine } from '../../daemon/sip/engine';
import type { SipIdentity } from '../../daemon/sip/identity';
import { MemoryStore } from '../../daemon/sip/registrar/memory-store';
import { Registrar } from '../../daemon/sip/registrar/registrar';
import { startStandin } from '../helpers/drachtio-standin';
import { freePort } from '../helpers/sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';

const log = createLogger('silent');
const DRACHTIO_BIN = process.env.DRACHTIO_BIN ?? '';

type Started = { engine: SipEngine; sipPort: number };

async function builtin(t: Test): Promise<Started> {
  const engine = new BuiltinEngine({ host: '127.0.0.1', port: 0, wsPort: null, transports: ['udp', 'tcp'], advertisedHost: '127.0.0.1' }, log);
  await engine.start();
  t.teardown(() => engine.stop());
  return { engine, sipPort: engine.addresses().udp! };
}

async function standin(t: Test): Promise<Started> {
  const s = await startStandin('cymru-test');
  const engine = new DrachtioEngine({ host: '127.0.0.1', port: s.adminPort, secret: 'cymru-test' }, log);
  await engine.start();
  t.teardown(async () => {
    await engine.stop();
    await s.close();
  });
  return { engine, sipPort: engine.addresses().udp! };
}

/** A real drachtio-server from DRACHTIO_BIN, configured for loopback only. */
async function drachtioServer(t: Test): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-drachtio-'));
  const [admin, sipPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'drachtio.conf.xml');
  fs.writeFileSync(conf, `<drachtio>
  <admin port="${admin}" secret="cymru-test">127.0.0.1</admin>
  <sip><contacts><contact>sip:127.0.0.1:${sipPort};transport=udp,tcp</contact></contacts></sip>
  <logging><console/><loglevel>notice</loglevel></logging>
</drachtio>
`);
  const child = spawn(DRACHTIO_BIN, ['-f', conf], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const engine = new DrachtioEngine({ host: '127.0.0.1', port: admin, secret: 'cymru-test' }, log);
  for (let attempt = 0; ; attempt++) {
    try {
      await engine.start();
      break;
    } catch (err) {
      if (attempt > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.teardown(() => engine.stop());
  return { engine, sipPort };
}

const ENGINES: [string, ((t: Test) => Promise<Started>) | null][] = [
  ['built-in', builtin],
  ['drachtio adapter on the wire-protocol stand-in', standin],
  ['drachtio adapter on drachtio-server', DRACHTIO_BIN ? drachtioServer : null],
];

for (const [name, start] of ENGINES) {
  t.test(`engine contract: ${name}`, { skip: start ? false : 'DRACHTIO_BIN is unset' }, async (t) => {
    t.test('a request is handed over with its source and answered', async (t) => {
      const { engine, sipPort } = await start!(t);
      const seen: IncomingRequest[] = [];
      engine.onRequest((req) => {
        seen.push(req);
        req.reply(401, 'Unauthorized', { headers: { 'www-authenticate': [{ scheme: 'Digest', realm: '"a.test"', nonce: '"n1"', algorithm: 'MD5' }, { scheme: 'Digest', realm: '"a.test"', nonce: '"n1"', algorithm: 'SHA-256' }] } });
      });
      const peer = await RawPeer.udp(sipPort);
      t.teardown(() => peer.close());
      const r = await peer.request(registerText(peer, { domain: 'a.test', user: '201' }));
      t.equal(r.status, 401);
      t.same(r.headers['www-authenticate']!.map((h) => h.algorithm), ['MD5', 'SHA-256']);
      t.match(seen[0], { message: { method: 'REGISTER', headers: { 'call-id': 'call-1' } }, source: { transport: 'udp', address: '127.0.0.1', port: peer.localPort } });
    });

    t.test('a request outside a dialog reaches the flow and its final answer comes back', async (t) => {
      const { engine, sipPort } = await start!(t);
      const peer = await RawPeer.udp(sipPort);
      t.teardown(() => peer.close());
      const answered = new Promise<number | undefined>((resolve) => engine.request({
        method: 'NOTIFY', uri: `sip:201@127.0.0.1:${peer.localPort}`,
        headers: { to: { uri: 'sip:201@a.test', params: {} }, from: { uri: 'sip:dialtone@a.test', params: { tag: 'x1' } }, 'call-id': 'notify-1', cseq: { seq: 1, method: 'NOTIFY' }, event: 'check-sync' },
        flow: { transport: 'udp', address: '127.0.0.1', port: peer.localPort },
      }, (err, res) => resolve(err ? undefined : res?.status)));
      const notify = await peer.next();
      t.match(notify, { method: 'NOTIFY', headers: { event: 'check-sync', 'call-id': 'notify-1' } });
      const via = notify.headers.via![0]!;
      peer.send([
        'SIP/2.0 200 OK', `Via: SIP/2.0/UDP ${via.host}:${via.port};branch=${via.params.branch}`, 'From: <sip:dialtone@a.test>;tag=x1', 'To: <sip:201@a.test>;tag=p1',
        'Call-ID: notify-1', 'CSeq: 1 NOTIFY', 'Content-Length: 0', '', '',
      ].join('\r\n'));
      t.equal(await answered, 200);
    });

    t.test('a dialog is created as a server', async (t) => {
      const { engine, sipPort } = await start!(t);
      const dialogs: ReturnType<SipEngine['createUasDialog']>[] = [];
      engine.onRequest((req) => dialogs.push(engine.createUasDialog(req, 200, 'OK')));
      const peer = await RawPeer.udp(sipPort);
      t.teardown(() => peer.close());
      const subscribe = registerText(peer, { domain: 'a.test', user: '201', callId: 'dlg-1' }).replace(/REGISTER/g, 'SUBSCRIBE').replace('Content-Length: 0', 'Event: presence\r\nContent-Length: 0');
      const r = await peer.request(subscribe);
      t.equal(r.status, 200);
      t.equal(r.headers.to?.params.tag, dialogs[0]!.localTag, 'the To tag names the dialog');
      t.match(dialogs[0], { callId: 'dlg-1', remoteTarget: `sip:201@127.0.0.1:${peer.localPort}`, flow: { transport: 'udp', port: peer.localPort } });
    });

    t.test('the registrar registers a phone through the engine', async (t) => {
      const { engine, sipPort } = await start!(t);
      const identity: SipIdentity = { kind: 'extension', tenantId: 't', extensionId: 'e', deviceId: null, username: 'u201', password: 'pw201', realm: 'a.test', aor: '201@a.test' };
      const registrar = new Registrar(new MemoryStore(), [async (domain, user) => (domain === 'a.test' && user === 'u201' ? identity : null)], {
        nonceSecret: Buffer.alloc(32, 1), algorithms: ['MD5', 'SHA-256'], nonceTtlMs: 60_000, expiry: { min: 60, max: 3600, default: 3600 },
        maxContacts: 3, lockout: { source: 10, user: 5, coolDownMs: 60_000 }, sweepMs: 60_000,
      }, log);
      engine.onRequest((req) => registrar.handle(req));
      const peer = await RawPeer.udp(sipPort);
      t.teardown(() => peer.close());
      const challenge = await peer.request(registerText(peer, { domain: 'a.test', user: '201' }));
      t.equal(challenge.status, 401);
      const ok = await peer.request(registerText(peer, { domain: 'a.test', user: '201', cseq: 2, authorization: answer(challenge, { username: 'u201', password: 'pw201', uri: 'sip:a.test' }) }));
      t.equal(ok.status, 200);
      t.equal((await registrar.bindings('201@a.test')).length, 1);
    });
  });
}

t.test('the drachtio adapter refuses to start on a wrong secret', async (t) => {
  const s = await startStandin('right');
  t.teardown(() => s.close());
  const wrong = new DrachtioEngine({ host: '127.0.0.1', port: s.adminPort, secret: 'wrong' }, log);
  await t.rejects(wrong.start(), /authenticate/);
  await wrong.stop();
});
