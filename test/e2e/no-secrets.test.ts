import { Writable } from 'node:stream';
import t from 'tap';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { flushMail, linkToken, readOutbox } from '../helpers/mail';
import { createLogger } from '../../daemon/core/log';
import { sipCredentials } from '../../daemon/admin/service/extensions';
import { OPERATOR } from '../../daemon/admin/service/scope';

t.test('no password, token or SIP secret in logs, audit entries or API answers', async (t) => {
  const logLines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } });
  const ta = await startTestApp(t, 'sqlite', { log: createLogger('trace', sink) });
  const answers: string[] = [];
  const pages: string[] = [];
  const call: TestApp['call'] = async (method, url, opts) => {
    const res = await ta.call(method, url, opts);
    // The set-password page must carry its link's token in the form: it is served to the link's holder, and checked for passwords below.
    if (url.startsWith('/account/set-password')) pages.push(res.raw);
    else answers.push(`${method} ${url} -> ${res.status} ${JSON.stringify(res.headers)} ${res.raw}`);
    return res;
  };
  const form = (url: string, fields: Record<string, string>) => call('POST', url, { payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  const secrets: Record<string, string> = { operatorToken: ta.operatorToken };

  const { token, tenant } = await makeTenant(ta, 'secret.example');
  secrets.adminToken = token;
  const user = (await call('POST', '/api/v1/users', { token, body: { firstName: 'Sam', lastName: 'Secret', email: 'sam@secret.example' } })).body;
  const ext = (await call('POST', '/api/v1/extensions', { token, body: { number: '5100', userId: user.id, voicemail: { pin: '739164' } } })).body;
  secrets.voicemailPin = '739164';
  await call('POST', '/api/v1/users', { token, body: { firstName: 'Eve', lastName: 'E', email: 'eve@secret.example', password: 'admin-chosen-password-1' } });
  secrets.refusedPassword = 'admin-chosen-password-1';
  await call('POST', '/api/v1/users/bulk', { token, payload: 'First Name,Last Name,Email,Extension\nBulk,User,bulk@secret.example,5101\n', headers: { 'content-type': 'text/csv' } });
  await flushMail(ta);

  const welcome = readOutbox(ta.dataDir).find((m) => m.to.includes('sam@'))!;
  secrets.welcomeLink = linkToken(welcome.text);
  secrets.password = 'a phrase only I know 99';
  const set = await form('/account/set-password', { token: secrets.welcomeLink, password: secrets.password, confirm: secrets.password });
  t.equal(set.status, 200);
  secrets.wrongPassword = 'a wrong guess at the password';
  await call('POST', '/api/v1/sign-in', { body: { username: 'sam@secret.example', password: secrets.wrongPassword } });
  await call('POST', '/api/v1/sign-in', { body: { username: 'sam@secret.example', password: secrets.password } });
  const signedIn = await form('/account/sign-in', { username: 'sam@secret.example', password: secrets.password });
  t.equal(signedIn.status, 303, signedIn.raw);
  secrets.session = String(signedIn.headers['set-cookie']).split(';')[0]!.split('=')[1]!;
  // The one answer that must carry the session is the sign-in's Set-Cookie.
  answers.pop();
  await call('GET', '/account', { headers: { cookie: `dialtone_session=${secrets.session}` } });
  await call('POST', `/api/v1/users/${user.id}/reset-password`, { token });
  await flushMail(ta);
  secrets.resetLink = linkToken(readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password').pop()!.text);
  await call('GET', `/account/set-password?token=${encodeURIComponent(secrets.resetLink)}`);
  const scim = await call('POST', '/api/v1/scim-tokens', { token, body: { label: 'idp' } });
  secrets.scimToken = scim.body.token;
  // A new SCIM token is shown once, in the answer that creates it.
  answers.pop();
  await call('GET', '/scim/v2/Users', { token: secrets.scimToken });
  await call('PATCH', `/scim/v2/Users/${user.id}`, { token: secrets.scimToken, payload: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Keeper' }] }), headers: { 'content-type': 'application/scim+json' } });
  await call('POST', `/api/v1/extensions/${ext.id}/rotate-credentials`, { token });
  for (const e of (await call('GET', '/api/v1/extensions', { token })).body.items) {
    secrets[`sip:${e.number}`] = (await sipCredentials({ knex: ta.app.runtime.db.knex, secrets: ta.app.runtime.secrets }, OPERATOR, e.id)).password;
  }
  await call('GET', '/api/v1/users', { token });
  await call('GET', '/api/v1/users/export.csv', { token });
  await call('POST', `/api/v1/users/${user.id}/disable`, { token });
  await ta.app.components.find((c) => c.name === 'accounts')!.stop!();
  const audit = await call('GET', '/api/v1/audit?limit=500', { token: ta.operatorToken });
  t.ok(audit.body.total > 10, 'the audit log has entries to check');
  const auditRows = JSON.stringify(await ta.app.runtime.db.knex('audit_log').select());
  const mailRows = JSON.stringify(await ta.app.runtime.db.knex('mail_queue').select());

  t.ok(logLines.length > 10, 'there are log lines to check');
  const places: Record<string, string> = { logs: logLines.join('\n'), 'API answers': answers.join('\n'), 'audit table': auditRows, 'mail queue table': mailRows };
  for (const page of pages) t.notOk(page.includes(secrets.password), 'a password never comes back in a page');
  for (const [what, secret] of Object.entries(secrets)) {
    t.ok(secret && secret.length >= 6, `${what} is a real value`);
    for (const [where, haystack] of Object.entries(places)) {
      t.notOk(haystack.includes(secret), `${what} is not in the ${where}`);
    }
  }
  t.ok(tenant.id);
});
