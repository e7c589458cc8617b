import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { flushMail, linkToken, readOutbox } from '../helpers/mail';
import { pruneAccounts } from '../../daemon/accounts/prune';

const GOOD = 'a phrase of several words 7';

function form(ta: TestApp, url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return ta.call('POST', url, { payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

for (const kind of databaseKinds()) {
  t.test(`password lifecycle on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const { token, tenant } = await makeTenant(ta, 'acme.example');

    t.test('administrators cannot set a password', async (t) => {
      const res = await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Eve', lastName: 'Admin', email: 'eve@acme.example', password: 'chosen by admin 123' } });
      t.equal(res.status, 400);
      t.match(res.body.details, [{ field: 'password', reason: /cannot set passwords/ }]);
    });

    const user = (await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.example' } })).body;
    t.notOk('password' in user || 'passwordHash' in user, 'no password in the API answer');
    const ext = await ta.call('POST', '/api/v1/extensions', { token, body: { number: '1001', userId: user.id } });
    t.equal(ext.status, 201);
    await flushMail(ta);

    const welcome = readOutbox(ta.dataDir).filter((m) => m.to.includes('ada@acme.example'));
    t.equal(welcome.length, 1, 'one welcome email');
    t.match(welcome[0]!.text, /Extension:\s+1001/);
    t.match(welcome[0]!.text, /SIP domain: acme\.example/);
    t.match(welcome[0]!.raw, /text\/html/, 'an HTML part');
    const link = linkToken(welcome[0]!.text);

    t.test('a second extension does not send a second welcome', async (t) => {
      await ta.call('POST', '/api/v1/extensions', { token, body: { number: '1002', userId: user.id } });
      await flushMail(ta);
      t.equal(readOutbox(ta.dataDir).filter((m) => m.to.includes('ada@acme.example')).length, 1);
    });

    t.test('the set-password page states the rules and refuses weak passwords', async (t) => {
      const page = await ta.call('GET', `/account/set-password?token=${encodeURIComponent(link)}`);
      t.equal(page.status, 200);
      t.match(page.raw, /At least 12/);
      t.notMatch(page.raw, /<script/i);
      t.match(page.headers['content-security-policy'], /default-src 'none'/);
      const weak = await form(ta, '/account/set-password', { token: link, password: 'short', confirm: 'short' });
      t.equal(weak.status, 400);
      t.match(weak.raw, /use at least 12/);
      const differ = await form(ta, '/account/set-password', { token: link, password: GOOD, confirm: GOOD + 'x' });
      t.match(differ.raw, /differ/);
    });

    t.test('an expired link says so', async (t) => {
      await ta.call('POST', `/api/v1/users/${user.id}/reset-password`, { token });
      await flushMail(ta);
      const reset = linkToken(readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password').pop()!.text);
      await ta.app.runtime.db.knex('password_links').where('purpose', 'reset').update({ expires_at: new Date(Date.now() - 1000).toISOString() });
      const page = await ta.call('GET', `/account/set-password?token=${encodeURIComponent(reset)}`);
      t.equal(page.status, 410);
      t.match(page.raw, /expired/);
      const post = await form(ta, '/account/set-password', { token: reset, password: GOOD, confirm: GOOD });
      t.equal(post.status, 410);
    });

    t.test('a good password is set once; the link is then used', async (t) => {
      const ok = await form(ta, '/account/set-password', { token: link, password: GOOD, confirm: GOOD });
      t.equal(ok.status, 200);
      t.match(ok.raw, /Password set/);
      const again = await form(ta, '/account/set-password', { token: link, password: GOOD + '2', confirm: GOOD + '2' });
      t.equal(again.status, 410);
      t.match(again.raw, /already been used/);
      const page = await ta.call('GET', `/account/set-password?token=${encodeURIComponent(link)}`);
      t.equal(page.status, 410);
      const unknown = await ta.call('GET', '/account/set-password?token=' + 'x'.repeat(43));
      t.equal(unknown.status, 404);
      t.match(unknown.raw, /not valid/);
    });

    t.test('sign-in: the page sets a session, the API checks the password', async (t) => {
      const res = await form(ta, '/account/sign-in', { username: 'ada@acme.example', password: GOOD });
      t.equal(res.status, 303);
      const cookie = String(res.headers['set-cookie']).split(';')[0]!;
      t.match(String(res.headers['set-cookie']), /HttpOnly/);
      const account = await ta.call('GET', '/account', { headers: { cookie } });
      t.match(account.raw, /Signed in as <strong>ada@acme.example/);
      const api = await ta.call('POST', '/api/v1/sign-in', { body: { username: 'ADA@acme.example', password: GOOD } });
      t.equal(api.status, 200);
      t.equal(api.body.userId, user.id);
      const wrong = await ta.call('POST', '/api/v1/sign-in', { body: { username: 'ada@acme.example', password: 'wrong password here' } });
      t.equal(wrong.status, 401);
      const nobody = await ta.call('POST', '/api/v1/sign-in', { body: { username: 'nobody', password: 'wrong password here' } });
      t.same(nobody.body, wrong.body, 'an unknown username answers exactly like a wrong password');
    });

    t.test('the administrator sends a reset link; the new password replaces the old', async (t) => {
      const res = await ta.call('POST', `/api/v1/users/${user.id}/reset-password`, { token });
      t.equal(res.status, 202);
      await flushMail(ta);
      const reset = readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password');
      t.equal(reset.length, 2, 'this one and the one that expired');
      const newPassword = 'another phrase entirely 42';
      const ok = await form(ta, '/account/set-password', { token: linkToken(reset[1]!.text), password: newPassword, confirm: newPassword });
      t.equal(ok.status, 200);
      t.equal((await ta.call('POST', '/api/v1/sign-in', { body: { username: 'ada@acme.example', password: GOOD } })).status, 401);
      t.equal((await ta.call('POST', '/api/v1/sign-in', { body: { username: 'ada@acme.example', password: newPassword } })).status, 200);
    });

    t.test('forgot password answers the same whether or not the account exists', async (t) => {
      const before = readOutbox(ta.dataDir).length;
      const known = await form(ta, '/account/forgot', { who: 'ada@acme.example' });
      const unknown = await form(ta, '/account/forgot', { who: 'nobody@acme.example' });
      t.equal(known.status, unknown.status);
      t.equal(known.raw, unknown.raw);
      await flushMail(ta);
      t.equal(readOutbox(ta.dataDir).length, before + 1, 'only the real account gets mail');
    });

    t.test('a disabled profile cannot sign in and its links stop working', async (t) => {
      await ta.call('POST', `/api/v1/users/${user.id}/reset-password`, { token });
      await flushMail(ta);
      const open = readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password').pop()!;
      const disabled = await ta.call('POST', `/api/v1/users/${user.id}/disable`, { token });
      t.equal(disabled.status, 200);
      const page = await ta.call('GET', `/account/set-password?token=${encodeURIComponent(linkToken(open.text))}`);
      t.equal(page.status, 410);
      t.match(page.raw, /disabled/);
      t.equal((await ta.call('POST', '/api/v1/sign-in', { body: { username: 'ada@acme.example', password: 'another phrase entirely 42' } })).status, 401);
      t.equal((await ta.call('POST', `/api/v1/users/${user.id}/reset-password`, { token })).status, 405);
      t.equal((await ta.call('POST', `/api/v1/users/${user.id}/enable`, { token })).status, 200);
      await flushMail(ta);
      const revived = await ta.call('GET', `/account/set-password?token=${encodeURIComponent(linkToken(open.text))}`);
      t.equal(revived.status, 410, 'enabling the profile again does not revive a link sent before');
      t.match(revived.raw, /expired/);
      t.equal((await ta.call('POST', `/api/v1/users/${user.id}/disable`, { token })).status, 200);
    });

    t.test('sign-in is rate limited per account', async (t) => {
      await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Bob', lastName: 'B', email: 'bob@acme.example' } });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        statuses.push((await ta.call('POST', '/api/v1/sign-in', { body: { username: 'bob@acme.example', password: `guess number ${i}` } })).status);
      }
      t.same(statuses, [401, 401, 401, 401, 401, 429, 429]);
      const limited = await ta.call('POST', '/api/v1/sign-in', { body: { username: 'bob@acme.example', password: 'guess again' } });
      t.ok(Number(limited.headers['retry-after']) > 0);
    });

    t.test('the audit log records who did what, with no secret', async (t) => {
      const res = await ta.call('GET', `/api/v1/audit?objectId=${user.id}&limit=100`, { token });
      t.equal(res.status, 200);
      const actions = res.body.items.map((e: { kind: string; action: string }) => `${e.kind}:${e.action}`).filter((a: string) => !a.startsWith('session:'));
      t.same(actions, ['user:created', 'password_link:welcome_sent', 'password_link:reset_sent', 'password:set', 'password_link:reset_sent', 'password:set', 'password_link:reset_sent', 'password_link:reset_sent', 'user:disabled', 'user:enabled', 'user:disabled']);
      t.ok(res.body.items.some((e: { action: string; actor: string }) => e.action === 'sign_in_refused' && e.actor.startsWith('source:')), 'refused sign-ins are recorded with their source');
      t.notMatch(res.raw, new RegExp(link));
      const tokens = await ta.call('GET', '/api/v1/audit?kind=api_token', { token });
      t.match(tokens.body.items, [{ action: 'created', actor: 'cli', detail: { label: 'test admin' } }], 'API tokens are audited');
      const other = await makeTenant(ta, 'other.example');
      const hidden = await ta.call('GET', `/api/v1/audit?objectId=${user.id}`, { token: other.token });
      t.equal(hidden.body.total, 0, 'another tenant sees none of it');
      t.ok(tenant.id);
    });
  });
}

for (const kind of databaseKinds()) t.test(`pruning on ${kind} removes expired sessions, long-spent links and stale rate windows only`, async (t) => {
  const ta = await startTestApp(t, kind);
  const { admin } = await makeTenant(ta, 'prune.example');
  const { knex } = ta.app.runtime.db;
  const at = new Date('2026-06-01T00:00:00Z');
  const ago = (days: number) => new Date(at.getTime() - days * 86_400_000).toISOString();
  await knex('sessions').insert([
    { id: 's1', token_hash: 'a'.repeat(64), user_id: admin.id, created_at: ago(2), expires_at: ago(1) },
    { id: 's2', token_hash: 'b'.repeat(64), user_id: admin.id, created_at: ago(0), expires_at: new Date(at.getTime() + 3600_000).toISOString() },
  ]);
  await knex('password_links').insert([
    { id: 'l1', token_hash: 'c'.repeat(64), user_id: admin.id, purpose: 'reset', created_at: ago(40), expires_at: ago(39), used_at: null },
    { id: 'l2', token_hash: 'd'.repeat(64), user_id: admin.id, purpose: 'reset', created_at: ago(3), expires_at: ago(2), used_at: null },
  ]);
  await knex('rate_limits').insert([{ bucket: 'old', count: 9, window_start: ago(2) }, { bucket: 'new', count: 1, window_start: ago(0) }]);
  t.same(await pruneAccounts(knex, at), { sessions: 1, links: 1, rateLimits: 1 });
  t.same((await knex('sessions').select('id')).map((r: { id: string }) => r.id), ['s2']);
  t.same((await knex('password_links').whereIn('id', ['l1', 'l2']).select('id')).map((r: { id: string }) => r.id), ['l2'], 'a recently expired link still answers "expired"');
  t.same((await knex('rate_limits').select('bucket')).map((r: { bucket: string }) => r.bucket), ['new']);
});
