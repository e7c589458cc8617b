import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config/load';
import { OPTIONS } from '../../daemon/config/options';
import { networkAllowlist } from '../../daemon/provisioning/serve/allowlist';

const PROVISIONING_ENV = ['DIALTONE_TFTP_ALLOW', 'DIALTONE_HTTPS_PORT', 'DIALTONE_TLS_CERT', 'DIALTONE_TLS_KEY', 'DIALTONE_FIRMWARE_DIR', 'DIALTONE_ACTIVATION_DOMAIN', 'DIALTONE_REGISTRATION_SERVICE', 'DIALTONE_VOICEMAIL_NUMBER', 'DIALTONE_NTP_SERVERS', 'DIALTONE_PROV_RATE_LIMIT'];

t.test('provisioning options are documented in the README', async (t) => {
  const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  for (const env of PROVISIONING_ENV) {
    const o = OPTIONS.find((x) => x.env === env);
    t.ok(o, `${env} is an option`);
    t.match(readme, `| \`${env}\` (${o!.key}) |`, `${env} has a README row`);
  }
});

t.test('defaults and refusals', async (t) => {
  const c = loadConfig({ DIALTONE_PUBLIC_URL: 'https://phones.example.net:8443', DIALTONE_DATA_DIR: '/tmp/dt' });
  t.equal(c.activationDomain, 'phones.example.net', 'the activation domain follows the public URL');
  t.equal(c.firmwareDir, '/tmp/dt/firmware');
  t.equal(c.httpsPort, null);
  t.same(loadConfig({ DIALTONE_NTP_SERVERS: 'a.example, b.example' }).ntpServers, ['a.example', 'b.example']);
  t.throws(() => loadConfig({ DIALTONE_TFTP_ALLOW: '10.0.0.0/33' }), { message: /^DIALTONE_TFTP_ALLOW: / });
  t.throws(() => loadConfig({ DIALTONE_TFTP_ALLOW: 'everyone' }), { message: /^DIALTONE_TFTP_ALLOW: / });
  t.throws(() => loadConfig({ DIALTONE_REGISTRATION_SERVICE: '*80; reboot' }), { message: /^DIALTONE_REGISTRATION_SERVICE: / });
  t.throws(() => loadConfig({ DIALTONE_PROV_RATE_LIMIT: '0' }), { message: /^DIALTONE_PROV_RATE_LIMIT: must be a whole number from 1 to 999999, got "0"/ });
  t.throws(() => loadConfig({ DIALTONE_PROV_RATE_LIMIT: '1000000' }), { message: /^DIALTONE_PROV_RATE_LIMIT: must be a whole number from 1 to 999999/ }, 'the error names the highest value accepted');
});

t.test('the TFTP allowlist matches addresses and networks of both families', async (t) => {
  const allowed = networkAllowlist(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
  t.ok(allowed('10.1.2.3'));
  t.ok(allowed('::ffff:10.1.2.3'), 'IPv4-mapped');
  t.ok(allowed('192.168.1.7'));
  t.notOk(allowed('192.168.1.8'));
  t.ok(allowed('fd12::1'));
  t.notOk(allowed('127.0.0.1'));
  t.notOk(allowed('not an address'));
});
