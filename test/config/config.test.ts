import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../daemon/config/load';
import { OPTIONS, machineAddress } from '../../daemon/config/options';

t.test('embedded defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.dataDir, path.resolve('var'));
  t.equal(c.dbUrl, `sqlite://${path.resolve('var', 'dialtone.sqlite')}`);
  t.equal(c.redisUrl, null);
  t.equal(c.httpPort, 8080);
  t.equal(c.tftpPort, 6969);
  t.equal(c.sipPort, 5060);
  t.equal(c.publicHost, machineAddress());
  t.equal(c.publicUrl, `http://${machineAddress()}:8080`);
  t.equal(c.sipPublicHost, machineAddress());
  t.equal(c.activationDomain, machineAddress());
  t.equal(c.smtpUrl, null);
  t.equal(c.logLevel, 'info');
});

t.test('defaults follow the options they derive from', async (t) => {
  const c = loadConfig({ DIALTONE_DATA_DIR: '/srv/dt', DIALTONE_HTTP_PORT: '9000' });
  t.equal(c.dbUrl, 'sqlite:///srv/dt/dialtone.sqlite');
  t.equal(c.publicUrl, `http://${machineAddress()}:9000`);
});

t.test('every address phones are told follows DIALTONE_PUBLIC_HOST unless set on its own', async (t) => {
  const c = loadConfig({ DIALTONE_PUBLIC_HOST: 'pbx.example.com' });
  t.match(c, { publicUrl: 'http://pbx.example.com:8080', sipPublicHost: 'pbx.example.com', activationDomain: 'pbx.example.com' });
  t.equal(loadConfig({ DIALTONE_PUBLIC_HOST: 'fd00::5' }).publicUrl, 'http://[fd00::5]:8080');
  const own = loadConfig({ DIALTONE_PUBLIC_HOST: 'pbx.example.com', DIALTONE_PUBLIC_URL: 'https://prov.example.com', DIALTONE_SIP_PUBLIC_HOST: 'sip.example.com' });
  t.match(own, { publicUrl: 'https://prov.example.com', sipPublicHost: 'sip.example.com', activationDomain: 'prov.example.com' });
  t.equal(loadConfig({ DIALTONE_PUBLIC_HOST: 'pbx.example.com', DIALTONE_SIP_HOST: '10.1.2.3' }).sipPublicHost, '10.1.2.3', 'a SIP engine bound to one address is reached there');
  t.throws(() => loadConfig({ DIALTONE_PUBLIC_HOST: 'http://x' }), { constructor: ConfigError, message: /^DIALTONE_PUBLIC_HOST: must be a host name/ });
});

t.test('the default public host is not loopback on a machine with a network', async (t) => {
  const nics = Object.values(os.networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal);
  if (nics.length === 0) return t.equal(machineAddress(), '127.0.0.1');
  t.equal(machineAddress(), nics[0]!.address);
});

t.test('a wrong value names the option and the reason', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DIALTONE_HTTP_PORT: '80a' }, /^DIALTONE_HTTP_PORT: must be a port number/],
    [{ DIALTONE_SIP_PORT: '70000' }, /^DIALTONE_SIP_PORT: must be a port number from 1 to 65535, got 70000$/],
    [{ DIALTONE_DB_URL: 'postgres://x' }, /^DIALTONE_DB_URL: must use one of sqlite, mysql, mariadb/],
    [{ DIALTONE_REDIS_URL: 'not a url' }, /^DIALTONE_REDIS_URL: must not contain spaces/],
    [{ DIALTONE_REDIS_URL: 'redis+cluster://10.0.0.1:7000,10.0.0.2:70000/' }, /^DIALTONE_REDIS_URL: has an invalid port "70000" for 10\.0\.0\.2/],
    [{ DIALTONE_REDIS_URL: 'redis+sentinel://10.0.0.1/' }, /^DIALTONE_REDIS_URL: must name the master after the hosts/],
    [{ DIALTONE_LOG_LEVEL: 'loud' }, /^DIALTONE_LOG_LEVEL: must be one of fatal/],
    [{ DIALTONE_SECRET_KEY: 'short' }, /^DIALTONE_SECRET_KEY: must be 32 bytes/],
    [{ DIALTONE_HTTP_HOST: 'a b' }, /^DIALTONE_HTTP_HOST: must be a host name/],
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), { constructor: ConfigError, message }, JSON.stringify(env));
  }
});

t.test('a JSON config file, overridden by the environment', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'dialtone.json');
  fs.writeFileSync(file, JSON.stringify({ httpPort: 8081, logLevel: 'debug' }));
  t.equal(loadConfig({ DIALTONE_CONFIG: file }).httpPort, 8081);
  t.equal(loadConfig({ DIALTONE_CONFIG: file, DIALTONE_HTTP_PORT: '8082' }).httpPort, 8082);

  fs.writeFileSync(file, JSON.stringify({ httpPort: 'eighty' }));
  t.throws(() => loadConfig({ DIALTONE_CONFIG: file }), { message: new RegExp(`^httpPort \\(in ${file}\\): must be a port number`) });
  fs.writeFileSync(file, JSON.stringify({ httpPrt: 8081 }));
  t.throws(() => loadConfig({ DIALTONE_CONFIG: file }), { message: /unknown option "httpPrt"/ });
  fs.writeFileSync(file, '{ nope');
  t.throws(() => loadConfig({ DIALTONE_CONFIG: file }), { message: /is not valid JSON/ });
  fs.writeFileSync(file, '[1]');
  t.throws(() => loadConfig({ DIALTONE_CONFIG: file }), { message: /must hold a JSON object/ });
  t.throws(() => loadConfig({ DIALTONE_CONFIG: path.join(dir, 'missing.json') }), { message: /cannot read .*ENOENT/ });
});

t.test('the README documents every option with its default', async (t) => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const option of OPTIONS) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${option.env}\``));
    t.ok(row, `${option.env} has a row in the configuration table`);
    t.ok(row?.includes(option.defaultText), `${option.env} row shows its default "${option.defaultText}"`);
  }
});
