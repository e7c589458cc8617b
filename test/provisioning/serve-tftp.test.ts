import fs from 'node:fs';
import path from 'node:path';
import dgram from 'node:dgram';
import t from 'tap';
import { startTestApp } from '../helpers/app';
import { atftpGet, hasBinary, opcode, provisioning, rawTftp, rrq, tftpHpaGet } from './clients';
import { PER_DEVICE_FILE, fleet } from './fleet';

const ERROR = 5;
const DATA = 3;
const OACK = 6;

t.test('every vendor file over TFTP with tftp-hpa and atftp', { skip: !hasBinary('tftp') || !hasBinary('atftp') ? 'tftp-hpa or atftp is not installed (.ci/apt-packages)' : false }, async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const f = await fleet(ta);
  for (const d of f.devices) {
    const name = PER_DEVICE_FILE[d.vendor]!(d.mac);
    const hpa = await tftpHpaGet(port, name);
    t.ok(hpa.body?.includes(d.creds.password), `${d.vendor}: tftp-hpa gets ${name} with the extension's password`);
    t.ok(hpa.body?.includes(d.creds.username), `${d.vendor}: and its SIP user`);
    const a = await atftpGet(port, name, ['blksize 512', 'tsize 0', 'windowsize 4', 'timeout 2']);
    t.equal(a.body, hpa.body, `${d.vendor}: atftp with blksize, tsize, windowsize and timeout gets the same bytes`);
  }
  const small = await atftpGet(port, PER_DEVICE_FILE.snom!(f.devices.find((d) => d.vendor === 'snom')!.mac), ['blksize 8']);
  t.ok(small.body?.startsWith('<?xml'), 'an 8-byte block size still transfers the whole file');
  t.match((await tftpHpaGet(port, 'y000000000066.cfg')).body, 'static.auto_provision.server.url', 'a common file');
  t.match((await tftpHpaGet(port, '/spa504G.cfg')).body, '<Profile_Rule', "Cisco's factory rule, with its leading slash");

  fs.mkdirSync(ta.app.runtime.config.firmwareDir, { recursive: true });
  fs.writeFileSync(path.join(ta.app.runtime.config.firmwareDir, 'sip.ld'), 'FIRMWARE');
  t.equal((await tftpHpaGet(port, 'sip.ld')).body, 'FIRMWARE', 'the firmware folder is served alongside');

  const events = await ta.call('GET', `/api/v1/devices/${f.devices[0]!.id}/events`, { token: f.token });
  // The newest fetch, not the newest entry: the resync the device's creation set off two seconds later may come after it.
  t.match(events.body.items.find((e: { kind: string }) => e.kind === 'fetch'), { kind: 'fetch', transport: 'tftp', source: '127.0.0.1', result: 'ok' }, 'each fetch is in the timeline');
});

t.test('hostile TFTP input', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '1000' } });
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const f = await fleet(ta);
  fs.mkdirSync(ta.app.runtime.config.firmwareDir, { recursive: true });
  const cases: [string, Buffer][] = [
    ['a too-short packet', Buffer.from([0, 1, 0])],
    ['an unknown opcode', Buffer.concat([Buffer.from([0, 9]), Buffer.from('file\0octet\0')])],
    ['a write request', Buffer.concat([Buffer.from([0, 2]), Buffer.from('evil.cfg\0octet\0')])],
    ['a name without its terminator', Buffer.concat([Buffer.from([0, 1]), Buffer.from('y000000000066.cfg-octet')])],
    ['an unknown mode', rrq('y000000000066.cfg', 'morse')],
    ['an option without a value', Buffer.concat([rrq('y000000000066.cfg'), Buffer.from('blksize\0')])],
    ['a packet over 512 bytes', rrq('y000000000066.cfg', 'octet', { pad: 'x'.repeat(600) })],
    ['path traversal', rrq('../../../etc/passwd')],
    ['traversal inside a vendor folder', rrq('Fanvil/../../etc/passwd')],
    ['an absolute path', rrq('/etc/passwd')],
    ['a double-slash absolute path', rrq('//etc/passwd')],
    ['a backslash path', rrq('..\\..\\windows\\win.ini')],
    ['an overlong name', rrq('a'.repeat(400))],
    ['a NUL-laden name', Buffer.concat([Buffer.from([0, 1]), Buffer.from('y0\u0000\u0000\u0000octet\0')])],
    ['high-bit bytes in the name', rrq('\u00ff\u00fe.cfg')],
  ];
  for (const [what, packet] of cases) {
    const answer = await rawTftp(port, packet);
    t.equal(opcode(answer), ERROR, `${what}: answered with an error packet, never data`);
  }
  for (const [what, options, named] of [
    ['a non-numeric blksize', { blksize: 'lots' }, 'blksize'],
    ['a blksize out of range', { blksize: '99999' }, 'blksize'],
    ['a windowsize of zero', { windowsize: '0' }, 'windowsize'],
    ['a tsize other than 0 in a read request', { tsize: '4096' }, 'tsize'],
  ] as const) {
    const answer = await rawTftp(port, rrq('y000000000066.cfg', 'octet', options));
    t.equal(opcode(answer), ERROR, `${what}: refused`);
    t.equal(answer!.readUInt16BE(2), 8, 'with the option-negotiation code (RFC 2347)');
    t.match(answer!.subarray(4).toString('latin1'), new RegExp(`^Option ${named} "[^"]*" refused: must be `), 'naming the option');
  }
  const ok = await rawTftp(port, rrq('y000000000066.cfg'));
  t.equal(opcode(ok), DATA, 'the server still answers a good request afterwards');
  const negotiated = await rawTftp(port, rrq('y000000000066.cfg', 'octet', { blksize: '1024', tsize: '0', windowsize: '8' }));
  t.equal(opcode(negotiated), OACK, 'options are acknowledged');
  t.match(negotiated!.toString('latin1'), /blksize\u00001024\u0000/);
  t.match(negotiated!.toString('latin1'), /tsize\u0000\d+\u0000/);
  t.match(negotiated!.toString('latin1'), /windowsize\u00008\u0000/);
  t.equal((await tftpHpaGet(port, PER_DEVICE_FILE.yealink!(f.devices[1]!.mac))).body?.includes(f.devices[1]!.creds.password), true, 'and serves phones as before');
});

t.test('TFTP refuses sources outside the allowlist', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_TFTP_ALLOW: '10.0.0.0/8,fd00::/8' } });
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const answer = await rawTftp(port, rrq('y000000000066.cfg'));
  t.equal(opcode(answer), ERROR);
  t.equal(answer!.readUInt16BE(2), 2, 'access violation');
});

t.test('a flood of unknown MACs over TFTP is cut off per source', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '5' } });
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const answers = [];
  for (let i = 0; i < 12; i++) answers.push(await rawTftp(port, rrq(`Grandstream/cfg000b82${String(i).padStart(6, '0')}.xml`)));
  const refused = answers.filter((a) => opcode(a) === ERROR && a!.readUInt16BE(2) === 0 && a!.subarray(4).toString().startsWith('Too many failed requests from this address'));
  t.ok(refused.length >= 6, `later requests are denied, saying why (${refused.length} of 12)`);
  const pending = await ta.call('GET', '/api/v1/devices?status=pending', { token: ta.operatorToken });
  t.ok(pending.body.total <= 6, `pending devices stay bounded (${pending.body.total})`);
});

t.test('a packet from another transfer ID is refused without breaking the transfer', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const f = await fleet(ta);
  const name = PER_DEVICE_FILE.yealink!(f.devices[1]!.mac);
  const client = dgram.createSocket('udp4');
  const stranger = dgram.createSocket('udp4');
  t.teardown(() => {
    client.close();
    stranger.close();
  });
  const next = (s: dgram.Socket) => new Promise<{ msg: Buffer; port: number }>((resolve) => s.once('message', (msg, rinfo) => resolve({ msg, port: rinfo.port })));
  let answer = next(client);
  client.send(rrq(name), port, '127.0.0.1');
  let { msg, port: tid } = await answer;
  t.equal(opcode(msg), DATA, 'the first block');
  const refusal = next(stranger);
  stranger.send(Buffer.from([0, 4, 0, 1]), tid, '127.0.0.1');
  const stray = await refusal;
  t.equal(opcode(stray.msg), ERROR);
  t.equal(stray.msg.readUInt16BE(2), 5, 'unknown transfer ID, to the stranger');
  const chunks: Buffer[] = [];
  for (;;) {
    chunks.push(msg.subarray(4));
    answer = next(client);
    client.send(Buffer.from([0, 4, msg[2]!, msg[3]!]), tid, '127.0.0.1');
    if (msg.length - 4 < 512) break;
    ({ msg, port: tid } = await answer);
    t.equal(opcode(msg), DATA);
  }
  t.match(Buffer.concat(chunks).toString(), f.devices[1]!.creds.password, 'the real client still gets the whole file');
});

t.test('an ERROR packet is never answered (RFC 1350)', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const f = await fleet(ta);
  const error = (code: number, text: string) => Buffer.concat([Buffer.from([0, 5, 0, code]), Buffer.from(`${text}\0`)]);
  t.equal(await rawTftp(port, error(1, 'File not found'), 1500), null, 'an error sent to the listening port gets no answer');
  t.equal(await rawTftp(port, Buffer.from([0, 5]), 1500), null, 'nor does a truncated one');

  // Mid-transfer: a stranger's error is ignored and the client's own ends the transfer without a reply.
  const name = PER_DEVICE_FILE.yealink!(f.devices[1]!.mac);
  const client = dgram.createSocket('udp4');
  const stranger = dgram.createSocket('udp4');
  t.teardown(() => {
    client.close();
    stranger.close();
  });
  const heard = (s: dgram.Socket, ms: number) => new Promise<{ msg: Buffer; port: number } | null>((resolve) => {
    const guard = setTimeout(() => resolve(null), ms);
    s.once('message', (msg, rinfo) => {
      clearTimeout(guard);
      resolve({ msg, port: rinfo.port });
    });
  });
  const first = heard(client, 5000);
  client.send(rrq(name, 'octet', { blksize: '8' }), port, '127.0.0.1');
  const oack = await first;
  t.equal(opcode(oack?.msg ?? null), OACK);
  let answer = heard(client, 5000);
  client.send(Buffer.from([0, 4, 0, 0]), oack!.port, '127.0.0.1');
  const block1 = await answer;
  t.equal(opcode(block1?.msg ?? null), DATA, 'the transfer runs');
  const strangerHeard = heard(stranger, 1500);
  stranger.send(error(0, 'go away'), oack!.port, '127.0.0.1');
  t.equal(await strangerHeard, null, "a stranger's error to the transfer port gets no answer");
  answer = heard(client, 5000);
  client.send(Buffer.from([0, 4, 0, 1]), oack!.port, '127.0.0.1');
  t.equal(opcode((await answer)?.msg ?? null), DATA, 'and the transfer goes on');
  answer = heard(client, 2500);
  client.send(error(0, 'Disk full'), oack!.port, '127.0.0.1');
  t.equal(await answer, null, "the client's own error ends the transfer: no answer, no retransmission");
});
