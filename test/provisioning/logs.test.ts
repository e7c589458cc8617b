import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { buildApp } from '../../daemon/app';
import { loadConfig } from '../../daemon/config/load';
import { createLogger } from '../../daemon/core/log';
import { createToken } from '../../daemon/admin/service/tokens';
import { deviceByMac } from '../../daemon/provisioning';
import type { Mac } from '../../daemon/provisioning/mac';
import { freshDatabase } from '../helpers/databases';
import { freeUdpPort } from '../helpers/ports';
import { digestAnswer, provisioning, rawTftp, rrq } from './clients';
import { provisionedExtension } from './fixtures';
import type { TestApp } from '../helpers/app';

t.test('no secret reaches the log, whatever phones send', async (t) => {
  const db = await freshDatabase('sqlite');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-logs-'));
  let logged = '';
  const sink = new Writable({ write(chunk, _enc, done) { logged += chunk.toString(); done(); } });
  const config = loadConfig({
    DIALTONE_DATA_DIR: dataDir, DIALTONE_DB_URL: db.url, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: '1', DIALTONE_TFTP_HOST: '127.0.0.1',
    DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SECRET_KEY: '0'.repeat(63) + '1', DIALTONE_PROV_RATE_LIMIT: '3',
  });
  // Free ports everywhere, as the other tests' apps have: a SIP port taken by something else must not fail this test.
  config.httpPort = 0;
  config.sipPort = 0;
  config.sipWsPort = 0;
  const app = await buildApp(config, { log: createLogger('trace', sink) });
  t.teardown(async () => {
    await app.close();
    await db.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  await app.listen();
  const { token } = await createToken(app.runtime.db.knex, { tenantId: null, label: 'op' });
  const call: TestApp['call'] = async (method, url, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    const res = await app.http.inject({ method: method as 'GET', url, headers, ...(o.body !== undefined ? { payload: o.body as object } : {}) });
    let body: unknown = res.body;
    try { body = JSON.parse(res.body); } catch { body = res.body; }
    return { status: res.statusCode, body, headers: res.headers, raw: res.body };
  };
  const ta = { app, operatorToken: token, dataDir, call } as TestApp;
  const f = await provisionedExtension(ta);
  await call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa937', model: 'T46S', extensionId: f.extension.id } });
  await call('GET', '/prov/0015654aa937.cfg');
  const device = (await deviceByMac(app.runtime.db.knex, '0015654aa937' as Mac))!;
  const prov = app.runtime.secrets.open(device.provPasswordSealed);
  const challenge = await call('GET', '/prov/0015654aa937.cfg');
  await call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: digestAnswer(challenge.headers['www-authenticate'], device.provUsername, prov, '/prov/0015654aa937.cfg') } });
  await call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: `Basic ${Buffer.from(`${device.provUsername}:${prov}`).toString('base64')}` } });
  const pending = await call('GET', '/prov/001565000099.cfg');
  const activation = /account\.1\.password = (\S+)/.exec(pending.raw)![1]!;
  const wrong = digestAnswer(challenge.headers['www-authenticate'], device.provUsername, 'not-the-password', '/prov/0015654aa937.cfg');
  for (let i = 0; i < 6; i++) await call('GET', '/prov/0015654aa937.cfg', { headers: { authorization: wrong } });
  for (let i = 0; i < 6; i++) await call('GET', `/prov/unknown-${i}.cfg`);
  await rawTftp(provisioning(ta).tftpPort(), rrq('0015654aa937.cfg'));
  t.ok(logged.includes('provisioning'), 'the daemon did log');
  for (const [what, secret] of [['SIP password', f.creds.password], ['provisioning password', prov], ['activation password', activation]] as const) {
    t.notOk(logged.includes(secret), `the ${what} is never logged`);
  }
});
