import dgram from 'node:dgram';
import net from 'node:net';
import t from 'tap';
import { Transports } from '../../daemon/sip/builtin/transports';
import { createLogger } from '../../daemon/core/log';

const listening = (port: number) => new Promise<net.Server>((resolve) => {
  const s = net.createServer().listen(port, '127.0.0.1', () => resolve(s));
});

t.test('UDP and TCP share the port, drawn together when any port will do', async (t) => {
  const tr = new Transports({ host: '127.0.0.1', port: 0, wsPort: null, transports: ['udp', 'tcp'] }, () => undefined, createLogger('silent'));
  await tr.start();
  t.teardown(() => tr.stop());
  const ports = tr.ports();
  t.ok(ports.udp);
  t.equal(ports.tcp, ports.udp);
});

t.test('a fixed port whose TCP side is taken fails, and leaves its UDP side free', async (t) => {
  const holder = await listening(0);
  t.teardown(() => holder.close());
  const port = (holder.address() as net.AddressInfo).port;
  const tr = new Transports({ host: '127.0.0.1', port, wsPort: null, transports: ['udp', 'tcp'] }, () => undefined, createLogger('silent'));
  await t.rejects(tr.start(), { code: 'EADDRINUSE' });
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(port, '127.0.0.1', () => resolve());
  });
  probe.close();
  t.pass('the UDP port was released');
});
