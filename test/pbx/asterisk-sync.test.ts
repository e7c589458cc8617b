import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';
import t from 'tap';
import { MYSQL_URL } from '../helpers/databases';
import { makeTenant, startTestApp } from '../helpers/app';
import { md5 } from '../../daemon/pbx/line';
import type { SipComponent } from '../../daemon/sip/component';

// shared/ sits beside the checkout, in CI as on a developer's machine.
const SHARED = process.env.DIALTONE_SHARED_DIR ?? path.join(__dirname, '..', '..', '..', 'shared');
const SCHEMA = path.join(SHARED, 'pbx', 'asterisk-realtime-schema.sql');

/** Asterisk's own schema, loaded under fresh names so tests never touch a real asterisk_config. */
async function asteriskDatabase(t: { teardown(fn: () => Promise<void>): void }): Promise<{ url: string; db: Knex }> {
  const suffix = crypto.randomBytes(5).toString('hex');
  const config = `ast_config_${suffix}`;
  const vm = `ast_vm_${suffix}`;
  if (!fs.existsSync(SCHEMA)) throw new Error(`Asterisk's schema is not at ${SCHEMA}: put shared/ beside the checkout or set DIALTONE_SHARED_DIR`);
  const sql = fs.readFileSync(SCHEMA, 'utf8').replaceAll('asterisk_config', config).replaceAll('asterisk_vm', vm);
  const base = new URL(MYSQL_URL);
  const conn = { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
  const loader = knex({ client: 'mysql2', connection: { ...conn, multipleStatements: true } });
  await loader.raw(sql);
  await loader.destroy();
  const db = knex({ client: 'mysql2', connection: { ...conn, database: config } });
  t.teardown(async () => {
    await db.raw(`drop database if exists \`${config}\``);
    await db.raw(`drop database if exists \`${vm}\``);
    await db.destroy();
  });
  const url = new URL(MYSQL_URL);
  url.pathname = `/${config}`;
  return { url: url.toString(), db };
}

/** The sync runs after each committed change; wait (bounded) until Asterisk shows what the test expects. */
async function until<T>(probe: () => Promise<T | undefined | null | false>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Asterisk never showed ${what}`);
}

t.test('extensions are written into Asterisk realtime tables', { skip: MYSQL_URL ? false : 'needs DIALTONE_TEST_MYSQL_URL (CI sets it)' }, async (t) => {
  const ast = await asteriskDatabase(t);
  const ta = await startTestApp(t, 'mysql', { env: { DIALTONE_ASTERISK_DB_URL: ast.url } });
  await ta.app.listen();
  const acme = await makeTenant(ta, 'acme.sip.test');
  const user = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Łukasz', lastName: 'Żółć', email: 'lz@acme.test' } });
  const ext = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1001', userId: user.body.id, voicemail: { pin: '480135' }, codecs: ['G722', 'PCMA'] } });
  t.equal(ext.status, 201);
  const creds = await ta.app.runtime.db.knex('extensions').where('id', ext.body.id).first('sip_username', 'sip_password_sealed');
  const password = ta.app.runtime.secrets.open(creds.sip_password_sealed);

  const endpoint = await until(() => ast.db('ps_endpoints').where('id', creds.sip_username).first(), 'the endpoint');
  t.match(endpoint, { context: 'acme.sip.test', allow: 'g722,alaw', callerid: '"Lukasz Zólc" <1001>', mailboxes: '1001@acme.sip.test', direct_media: 'no' });
  const dialtone = (ta.app.components.find((c) => c.name === 'sip') as SipComponent).sip.registrarAddress();
  t.match(dialtone, /^127\.0\.0\.1:[1-9][0-9]*$/, 'the address and port dialtone bound');
  t.match(endpoint, {
    auth: null, identify_by: 'username', rewrite_contact: 'no', outbound_proxy: `sip:${dialtone}^3Blr`,
    deny: '0.0.0.0/0,::/0', permit: '127.0.0.1/32', set_var: 'DIALTONE_FAX_MODE=disabled;DIALTONE_FAX_EMAIL=;DIALTONE_FAX_DETECT=no',
  }, 'the endpoint takes calls only from dialtone and sends through it');
  t.equal((await ast.db('ps_auths').where('id', creds.sip_username)).length, 0, 'no digest: dialtone authenticated the phone');
  t.match(await ast.db('ps_aors').where('id', creds.sip_username).first(), {
    contact: 'sip:1001@acme.sip.test', outbound_proxy: `sip:${dialtone}^3Blr`, max_contacts: 0, qualify_frequency: 60, qualify_2xx_only: 'yes',
  }, 'Asterisk reaches and qualifies the extension through dialtone');
  t.equal((await ast.db('ps_endpoint_id_ips')).length, 0, 'no address identifier: every extension comes from the same address');
  // A digest row from before dialtone was the edge proxy is removed at the next sync.
  await ast.db('ps_auths').insert({ id: creds.sip_username, auth_type: 'userpass', username: creds.sip_username, password_digest: `MD5:${md5(`${creds.sip_username}:acme.sip.test:${password}`)}` });
  await ta.call('PATCH', `/api/v1/extensions/${ext.body.id}`, { token: acme.token, body: { fax: { mode: 'attachment', email: 'fax@acme.test' } } });
  await until(async () => (await ast.db('ps_endpoints').where('id', creds.sip_username).first())?.set_var === 'DIALTONE_FAX_MODE=attachment;DIALTONE_FAX_EMAIL=fax@acme.test;DIALTONE_FAX_DETECT=yes', 'the fax variables');
  t.equal((await ast.db('ps_auths').where('id', creds.sip_username)).length, 0, 'the old digest row is gone');
  const vm = await ast.db('voicemail').where({ context: 'acme.sip.test', mailbox: '1001' });
  t.equal(vm.length, 1);
  t.match(vm[0], { password: '480135', email: 'lz@acme.test', attach: 'yes' });

  await ta.call('PATCH', `/api/v1/extensions/${ext.body.id}`, { token: acme.token, body: { callerId: { name: 'Front Desk' } } });
  await until(async () => (await ast.db('ps_endpoints').where('id', creds.sip_username).first())?.callerid === '"Front Desk" <1001>', 'the new caller ID');

  await ast.db('voicemail').where({ context: 'acme.sip.test', mailbox: '1001' }).update({ password: '735911' });
  await ta.call('PATCH', `/api/v1/extensions/${ext.body.id}`, { token: acme.token, body: { musicOnHold: 'jazz' } });
  await until(async () => (await ast.db('ps_endpoints').where('id', creds.sip_username).first())?.moh_suggest === 'jazz', 'the music class');
  const sealed = (await ta.app.runtime.db.knex('extensions').where('id', ext.body.id).first('voicemail_pin_sealed')).voicemail_pin_sealed;
  t.equal(ta.app.runtime.secrets.open(sealed), '735911', 'the PIN the user changed from the phone is kept, not overwritten');
  t.equal((await ast.db('voicemail').where({ mailbox: '1001' }).first()).password, '735911');

  await ta.call('POST', `/api/v1/extensions/${ext.body.id}/rotate-credentials`, { token: acme.token });
  const rotated = await ta.app.runtime.db.knex('extensions').where('id', ext.body.id).first('sip_username');
  await until(() => ast.db('ps_endpoints').where('id', rotated.sip_username).first(), 'the rotated endpoint');
  t.equal((await ast.db('ps_endpoints').where('id', creds.sip_username)).length, 0, 'the old endpoint is removed');

  await ta.call('PATCH', `/api/v1/extensions/${ext.body.id}`, { token: acme.token, body: { voicemail: { enabled: false } } });
  await until(async () => (await ast.db('voicemail').where({ mailbox: '1001' })).length === 0, 'the mailbox removed');
  t.equal((await ast.db('ps_endpoints').where('id', rotated.sip_username).first()).mailboxes, null);
});
