import t, { type Test } from 'tap';
import { startStandin } from '../helpers/drachtio-standin';
import { sipFixture } from '../helpers/sip';

const YEALINK_UA = 'Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37';

/** The server a Yealink file sends SIP to (its outbound proxy), as host:port. */
function registrarIn(file: string): string {
  const host = /^account\.1\.outbound_proxy\.1\.address = (.*)$/m.exec(file)?.[1];
  const port = /^account\.1\.outbound_proxy\.1\.port = (.*)$/m.exec(file)?.[1];
  return `${host}:${port}`;
}

async function phoneFileAndCredentials(t: Test, env: Record<string, string>) {
  const f = await sipFixture(t, env);
  const device = await f.ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '00:15:65:4A:A9:37', model: 'T46S', extensionId: f.extension.id } });
  t.equal(device.status, 201, device.raw);
  const file = await f.ta.call('GET', '/prov/0015654aa937.cfg', { headers: { 'user-agent': YEALINK_UA } });
  t.equal(file.status, 200);
  return { f, file: file.raw };
}

t.test('with drachtio, phone files name the port drachtio-server listens on, as sip-credentials does', async (t) => {
  const standin = await startStandin('s3cret');
  t.teardown(() => standin.close());
  const { f, file } = await phoneFileAndCredentials(t, {
    DIALTONE_SIP_ENGINE: 'drachtio', DIALTONE_DRACHTIO_HOST: '127.0.0.1', DIALTONE_DRACHTIO_PORT: String(standin.adminPort), DIALTONE_DRACHTIO_SECRET: 's3cret',
  });
  t.not(f.ta.app.runtime.config.sipPort, standin.sipPort, 'DIALTONE_SIP_PORT is not where SIP listens');
  t.equal(registrarIn(file), `127.0.0.1:${standin.sipPort}`);
  t.equal(registrarIn(file), f.creds.registrar);
});

t.test('with the built-in engine, phone files name the bound port and the SIP public host', async (t) => {
  const { f, file } = await phoneFileAndCredentials(t, { DIALTONE_SIP_PUBLIC_HOST: 'sip.example.net' });
  t.equal(registrarIn(file), `sip.example.net:${f.ports.udp}`);
  t.equal(registrarIn(file), f.creds.registrar);
});
