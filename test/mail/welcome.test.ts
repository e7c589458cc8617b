import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { flushMail, linkToken, readOutbox } from '../helpers/mail';
import { smtp } from '../helpers/smtp';
import { adminComponent } from '../../daemon/admin/component';
import { accountsComponent } from '../../daemon/accounts/component';

const form = (ta: TestApp, url: string, fields: Record<string, string>) =>
  ta.call('POST', url, { payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

t.test('the activation code comes from the provider the daemon is given', async (t) => {
  const asked: string[] = [];
  const ta = await startTestApp(t, 'sqlite', {
    components: [adminComponent, (rt) => accountsComponent(rt, { activationCode: async (extensionId) => (asked.push(extensionId), '482915') })],
  });
  const { token } = await makeTenant(ta, 'codes.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Ida', lastName: 'Code', email: 'ida@codes.example' } })).body;
  const ext = (await ta.call('POST', '/api/v1/extensions', { token, body: { number: '700', userId: user.id } })).body;
  await flushMail(ta);
  const mail = readOutbox(ta.dataDir).find((m) => m.to.includes('ida@'))!;
  t.match(mail.text, /Device activation code: 482915/);
  t.match(mail.text, 'dial *8000 from it and enter this code, then #', 'the registration service by its number');
  t.same(asked, [ext.id]);
});

t.test('without a provider the activation code line is left out', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { components: [adminComponent, (rt) => accountsComponent(rt)] });
  const { token } = await makeTenant(ta, 'nocode.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Ned', lastName: 'None', email: 'ned@nocode.example' } })).body;
  await ta.call('POST', '/api/v1/extensions', { token, body: { number: '701', userId: user.id } });
  await flushMail(ta);
  t.notMatch(readOutbox(ta.dataDir).find((m) => m.to.includes('ned@'))!.text, /activation/i);
});

t.test('a user who already chose a password is told to use it', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { token } = await makeTenant(ta, 'again.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Pat', lastName: 'Prior', email: 'pat@again.example' } })).body;
  await ta.call('POST', `/api/v1/users/${user.id}/reset-password`, { token });
  await flushMail(ta);
  const link = linkToken(readOutbox(ta.dataDir).find((m) => m.subject === 'Reset your password')!.text);
  t.equal((await form(ta, '/account/set-password', { token: link, password: 'chosen long before 1234', confirm: 'chosen long before 1234' })).status, 200);
  await ta.call('POST', '/api/v1/extensions', { token, body: { number: '702', userId: user.id } });
  await flushMail(ta);
  const welcome = readOutbox(ta.dataDir).find((m) => m.to.includes('pat@') && m.subject.startsWith('Welcome'))!;
  t.match(welcome.text, /already have a password/);
  t.notMatch(welcome.text, /set-password/);
});

t.test('a tenant\'s administrator, and a profile made primary administrator, are welcomed once', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { tenant, token } = await makeTenant(ta, 'admins.example');
  await flushMail(ta);
  const first = readOutbox(ta.dataDir);
  t.same(first.map((m) => m.to), ['admin@admins.example']);
  t.match(first[0]!.text, /You are an administrator of the admins\.example phone system/);
  t.match(first[0]!.text, /set-password\?token=/);
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Nia', lastName: 'Next', email: 'nia@admins.example' } })).body;
  t.equal((await ta.call('PATCH', `/api/v1/tenants/${tenant.id}`, { token, body: { primaryAdminUserId: user.id } })).status, 200);
  await ta.call('PATCH', `/api/v1/tenants/${tenant.id}`, { token, body: { name: 'Renamed' } });
  await flushMail(ta);
  const after = readOutbox(ta.dataDir);
  t.same(after.map((m) => m.to).sort(), ['admin@admins.example', 'nia@admins.example']);
  t.match(after.find((m) => m.to.includes('nia@'))!.text, /You are an administrator/);
});

t.test('an operator replaces a template by dropping a file in the templates folder', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const dir = ta.app.runtime.config.mailTemplatesDir;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'welcome.subject.eta'), 'Your new phone, <%= it.firstName %>');
  fs.writeFileSync(path.join(dir, 'welcome.html.eta'), '<p>Dial <%= it.extension.number %>, <%= it.firstName %></p>');
  const { token } = await makeTenant(ta, 'custom.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: '<b>Tom</b>', lastName: 'T', email: 'tom@custom.example' } })).body;
  await ta.call('POST', '/api/v1/extensions', { token, body: { number: '703', userId: user.id } });
  await flushMail(ta);
  const mail = readOutbox(ta.dataDir).find((m) => m.to.includes('tom@'))!;
  t.equal(mail.subject, 'Your new phone, <b>Tom</b>');
  t.match(mail.text, /Dial 703, &lt;b&gt;Tom&lt;\/b&gt;/, 'the HTML part is the operator\'s, with values escaped');
  t.match(mail.text, /Extension:\s+703/, 'the plain-text part is still the built-in one');
});

t.test('the daemon\'s own activation codes reach the welcome email', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { token } = await makeTenant(ta, 'activate.example');
  const ext = (await ta.call('POST', '/api/v1/extensions', { token, body: { number: '704', place: { name: 'Spare Desk' } } })).body;
  const code = await ta.call('POST', `/api/v1/extensions/${ext.id}/activation-code`, { token });
  t.equal(code.status, 201);
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Ann', lastName: 'Act', email: 'ann@activate.example' } })).body;
  t.equal((await ta.call('PATCH', `/api/v1/extensions/${ext.id}`, { token, body: { userId: user.id } })).status, 200);
  await flushMail(ta);
  const welcome = readOutbox(ta.dataDir).find((m) => m.to.includes('ann@activate.example'))!;
  t.ok(welcome.text.includes(`Device activation code: ${code.body.formatted}`), 'the live code, as a person keys it in');
});

t.test('an extension without a live code gets one with its welcome', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { token } = await makeTenant(ta, 'fresh.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Fay', lastName: 'Fresh', email: 'fay@fresh.example' } })).body;
  const ext = (await ta.call('POST', '/api/v1/extensions', { token, body: { number: '706', userId: user.id } })).body;
  await flushMail(ta);
  const welcome = readOutbox(ta.dataDir).find((m) => m.to.includes('fay@fresh.example'))!;
  const mailed = /Device activation code: (\d{3}-\d{3}-\d{4})/.exec(welcome.text)?.[1];
  t.ok(mailed, 'the welcome carries a code');
  const live = await ta.call('GET', `/api/v1/extensions/${ext.id}/activation-code`, { token });
  t.equal(live.status, 200);
  t.equal(live.body.formatted, mailed, 'the mailed code is the extension\'s live one');
});

t.test('with DIALTONE_SMTP_URL the welcome goes over SMTP, not to the outbox', async (t) => {
  const server = await smtp(t);
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_SMTP_URL: `smtp://127.0.0.1:${server.port}`, DIALTONE_MAIL_FROM: 'Phones <phones@smtp.example>' } });
  const { token } = await makeTenant(ta, 'smtp.example');
  const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Sid', lastName: 'Smtp', email: 'sid@smtp.example' } })).body;
  await ta.call('POST', '/api/v1/extensions', { token, body: { number: '705', userId: user.id } });
  await flushMail(ta);
  t.same(readOutbox(ta.dataDir), []);
  const sid = server.received.find((r) => r.to[0] === 'sid@smtp.example')!;
  t.ok(sid, 'the welcome reached the SMTP server');
  t.match(sid.data, /From: Phones <phones@smtp\.example>/);
  t.match(sid.data, /Subject: Welcome to smtp\.example phone service/);
});
