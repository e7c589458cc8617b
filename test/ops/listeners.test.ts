import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config/load';
import { asListenError, checkListeners, plannedListeners } from '../../daemon/ops/listeners';
import { freeTcpPort, freeUdpPort } from '../helpers/ports';

const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');

t.test('the plan lists every listener of the configuration, with the option that moves it', async (t) => {
  const builtin = loadConfig({ DIALTONE_HTTPS_PORT: '8443', DIALTONE_TLS_CERT: '/c.pem', DIALTONE_TLS_KEY: '/k.pem', DIALTONE_SIP_HOST: '::1' });
  t.same(plannedListeners(builtin).map((l) => `${l.option} ${l.protocol} ${l.host} ${l.port}`), [
    'DIALTONE_HTTP_PORT tcp 0.0.0.0 8080', 'DIALTONE_TFTP_PORT udp 0.0.0.0 6969', 'DIALTONE_HTTPS_PORT tcp 0.0.0.0 8443',
    'DIALTONE_SIP_PORT udp ::1 5060', 'DIALTONE_SIP_PORT tcp ::1 5060', 'DIALTONE_SIP_WS_PORT tcp ::1 5066',
  ]);
  const drachtio = loadConfig({ DIALTONE_SIP_ENGINE: 'drachtio', DIALTONE_HTTPS_PORT: '8443' });
  t.same(plannedListeners(drachtio).map((l) => l.option), ['DIALTONE_HTTP_PORT', 'DIALTONE_TFTP_PORT'], 'no HTTPS without a certificate, no SIP ports with drachtio');
});

t.test('a taken TCP or UDP port is named by its option and address', async (t) => {
  const tcp = net.createServer();
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  t.teardown(() => void tcp.close());
  const port = (tcp.address() as net.AddressInfo).port;
  await t.rejects(checkListeners([{ option: 'DIALTONE_SIP_WS_PORT', protocol: 'tcp', host: '127.0.0.1', port }]), {
    message: `DIALTONE_SIP_WS_PORT: cannot listen on 127.0.0.1:${port}/tcp: the address is already in use (another process, or a second dialtone)`,
  });
  const dgram = await import('node:dgram');
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.teardown(() => udp.close());
  await t.rejects(checkListeners([{ option: 'DIALTONE_TFTP_PORT', protocol: 'udp', host: '127.0.0.1', port: udp.address().port }]), { message: /^DIALTONE_TFTP_PORT: cannot listen on 127\.0\.0\.1:\d+\/udp: the address is already in use/ });
  await t.rejects(checkListeners([{ option: 'DIALTONE_HTTP_PORT', protocol: 'tcp', host: '192.0.2.1', port: 8080 }]), { message: /^DIALTONE_HTTP_PORT: cannot listen on 192\.0\.2\.1:8080\/tcp: no interface of this machine has that address/ });
  await t.resolves(checkListeners([{ option: 'DIALTONE_HTTP_PORT', protocol: 'tcp', host: '::1', port: await freeTcpPort() }]).catch((err: Error) => {
    if (!/EADDRNOTAVAIL|no interface/.test(err.message)) throw err;
  }));
  const raw = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'bind', port: 5060 });
  t.match(asListenError(plannedListeners(loadConfig({})), raw)?.message, /^DIALTONE_SIP_PORT: cannot listen on 0\.0\.0\.0:5060\/udp/);
  t.equal(asListenError([], new Error('other')), null);
});

t.test('dialtone serve with a taken port stops in one line before any listener opens', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-listen-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.teardown(() => void taken.close());
  const sipPort = (taken.address() as net.AddressInfo).port;
  const http = await freeTcpPort();
  const r = spawnSync(process.execPath, [CLI, 'serve'], {
    encoding: 'utf8', timeout: 60000,
    env: {
      PATH: process.env.PATH, DIALTONE_DATA_DIR: dir, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(http),
      DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(sipPort),
    },
  });
  t.equal(r.status, 1);
  t.equal(r.stderr, `dialtone: DIALTONE_SIP_PORT: cannot listen on 127.0.0.1:${sipPort}/tcp: the address is already in use (another process, or a second dialtone)\n`);
  t.notMatch(r.stdout, /listening/i, 'no listener opened, not even HTTP, which comes first');
});
