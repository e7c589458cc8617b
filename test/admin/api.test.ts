import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';

const HQ = { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' };

async function site(ta: TestApp, token: string) {
  const res = await ta.call('POST', '/api/v1/sites', { token, body: { name: 'HQ', address: HQ, timezone: 'America/Chicago', language: 'en' } });
  return res.body;
}

for (const kind of databaseKinds()) {
  t.test(`admin API on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const acme = await makeTenant(ta, 'acme.sip.test');
    const beta = await makeTenant(ta, 'beta.sip.test');

    t.test('a site, a user whose username defaults to the email, an extension', async (t) => {
      const s = await site(ta, acme.token);
      t.ok(s.id);
      t.same(s.address, HQ);
      const u = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@acme.test', siteId: s.id } });
      t.equal(u.status, 201);
      t.equal(u.body.username, 'grace@acme.test');
      t.equal(u.body.status, 'active');
      const e = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1001', userId: u.body.id, voicemail: { pin: '480135' } } });
      t.equal(e.status, 201);
      t.equal(e.body.userId, u.body.id);
      t.same(e.body.callerId, { name: 'Grace Hopper', number: '1001' });
      t.same(e.body.voicemail, { enabled: true, email: 'grace@acme.test', pinSet: true });
      t.same(e.body.emergencyAddress, HQ, "the site's address is the default emergency address");
      t.notOk(JSON.stringify(e.body).includes('480135'), 'the PIN is never returned');
      t.notOk('sipPassword' in e.body || 'sipUsername' in e.body);
      const got = await ta.call('GET', `/api/v1/extensions/${e.body.id}`, { token: acme.token });
      t.same(got.body, e.body);
    });

    t.test('usernames: 30 characters at most, unique across tenants ignoring case', async (t) => {
      const long = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'L', lastName: 'Ong', email: 'l@acme.test', username: 'u'.repeat(31) } });
      t.equal(long.status, 400);
      t.same(long.body.details, [{ field: 'username', reason: 'must be at most 30 characters (got 31)' }]);
      const longEmail = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'L', lastName: 'Ong', email: 'a.rather.long.mailbox.name@acme.test' } });
      t.equal(longEmail.status, 400);
      t.match(longEmail.body.details[0], { field: 'username', reason: /defaults to the email.*choose a username/ });

      const first = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Sam', lastName: 'One', email: 'sam@acme.test', username: 'sam' } });
      t.equal(first.status, 201);
      const taken = await ta.call('POST', '/api/v1/users', { token: beta.token, body: { firstName: 'Sam', lastName: 'Two', email: 'sam@beta.test', username: 'SAM' } });
      t.equal(taken.status, 409);
      t.equal(taken.body.error, 'conflict');
      t.equal(taken.body.details[0].field, 'username');
      const renamed = await ta.call('PATCH', `/api/v1/users/${first.body.id}`, { token: acme.token, body: { username: 'admin.beta.sip.test' } });
      t.equal(renamed.status, 409, 'a rename onto a taken username is a conflict too');
    });

    t.test('an extension number is unique within its tenant only', async (t) => {
      const u = await ta.call('POST', '/api/v1/users', { token: beta.token, body: { firstName: 'Bea', lastName: 'Tee', email: 'bea@beta.test' } });
      const e = await ta.call('POST', '/api/v1/extensions', { token: beta.token, body: { number: '1001', userId: u.body.id } });
      t.equal(e.status, 201, 'beta may use 1001 too');
      const again = await ta.call('POST', '/api/v1/extensions', { token: beta.token, body: { number: '1001', userId: u.body.id } });
      t.equal(again.status, 409);
      t.same(again.body.details, [{ field: 'number', reason: 'is already an extension of this tenant' }]);
      const second = await ta.call('POST', '/api/v1/extensions', { token: beta.token, body: { number: '1002', userId: u.body.id } });
      t.equal(second.status, 201, 'a profile may hold many extensions');
    });

    t.test('profiles are disabled, never deleted; disabling hands extensions to the primary administrator', async (t) => {
      const u = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Leaving', lastName: 'Soon', email: 'leaving@acme.test' } });
      const e = await ta.call('POST', '/api/v1/extensions', {
        token: acme.token, body: { number: '1100', userId: u.body.id, voicemail: { email: 'leaving@acme.test' }, fax: { mode: 'attachment' } },
      });
      const del = await ta.call('DELETE', `/api/v1/users/${u.body.id}`, { token: acme.token });
      t.equal(del.status, 405);
      t.match(del.body.message, /never deleted.*Disable/);
      const still = await ta.call('GET', `/api/v1/users/${u.body.id}`, { token: acme.token });
      t.equal(still.body.status, 'active');

      const dis = await ta.call('POST', `/api/v1/users/${u.body.id}/disable`, { token: acme.token });
      t.equal(dis.status, 200);
      t.equal(dis.body.user.status, 'disabled');
      t.same(dis.body.reassignedExtensionIds, [e.body.id]);
      const moved = await ta.call('GET', `/api/v1/extensions/${e.body.id}`, { token: acme.token });
      t.equal(moved.body.userId, acme.admin.id);
      t.equal(moved.body.voicemail.email, acme.admin.email, 'voicemail mail goes to the primary administrator');
      t.equal(moved.body.fax.email, acme.admin.email, 'fax mail too');

      const history = await ta.call('GET', `/api/v1/extensions/${e.body.id}/history`, { token: acme.token });
      t.match(history.body.items, [
        { userId: u.body.id, previousUserId: null, reason: 'created' },
        { userId: acme.admin.id, previousUserId: u.body.id, reason: 'profile_disabled' },
      ], 'the history is kept');
      const listed = await ta.call('GET', '/api/v1/users?status=disabled&fields=id,status', { token: acme.token });
      t.same(listed.body.items, [{ id: u.body.id, status: 'disabled' }]);
      const assign = await ta.call('PATCH', `/api/v1/extensions/${e.body.id}`, { token: acme.token, body: { userId: u.body.id } });
      t.equal(assign.status, 400, 'a disabled profile cannot be given an extension');
      const en = await ta.call('POST', `/api/v1/users/${u.body.id}/enable`, { token: acme.token });
      t.equal(en.body.status, 'active');

      const adminDisable = await ta.call('POST', `/api/v1/users/${acme.admin.id}/disable`, { token: acme.token });
      t.equal(adminDisable.status, 405, 'the primary administrator cannot be disabled while primary');
    });

    t.test('a place gets a profile of its own with the administrator\'s email', async (t) => {
      const e = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1200', place: { name: 'Front Lobby' } } });
      t.equal(e.status, 201);
      const owner = await ta.call('GET', `/api/v1/users/${e.body.userId}`, { token: acme.token });
      t.match(owner.body, { firstName: 'Front', lastName: 'Lobby', username: 'Front Lobby', email: acme.admin.email, kind: 'place' });
      t.equal(e.body.callerId.name, 'Front Lobby');
    });

    t.test('settings update with every problem reported at once', async (t) => {
      const list = await ta.call('GET', '/api/v1/extensions?number=1001', { token: acme.token });
      const id = list.body.items[0].id;
      const bad = await ta.call('PATCH', `/api/v1/extensions/${id}`, {
        token: acme.token, body: { voicemail: { pin: '12' }, codecs: ['MP3'], externalCalling: 'moon', colour: 'red' },
      });
      t.equal(bad.status, 400);
      t.same(bad.body.details.map((d: { field: string }) => d.field).sort(), ['codecs[0]', 'colour', 'externalCalling', 'voicemail.pin']);
      const before = await ta.call('GET', `/api/v1/extensions/${id}`, { token: acme.token });
      t.same(before.body.codecs, ['G722', 'PCMU', 'PCMA'], 'nothing was half-written');
      const ok = await ta.call('PATCH', `/api/v1/extensions/${id}`, {
        token: acme.token,
        body: { codecs: ['OPUS', 'G722'], forwarding: [{ condition: 'busy', destination: '2000' }], recording: { mode: 'always', announceToCaller: true }, callerId: { name: 'Grace at HQ' } },
      });
      t.equal(ok.status, 200);
      t.same(ok.body.codecs, ['OPUS', 'G722']);
      t.equal(ok.body.callerId.name, 'Grace at HQ');
      const reset = await ta.call('PATCH', `/api/v1/extensions/${id}`, { token: acme.token, body: { callerId: { name: null } } });
      t.equal(reset.body.callerId.name, 'Grace Hopper', 'null restores the default from the profile');
    });

    t.test('tenant isolation: another tenant\'s objects are not found', async (t) => {
      const mine = await ta.call('GET', '/api/v1/users?username=grace', { token: acme.token });
      const graceId = mine.body.items[0].id;
      for (const [method, url] of [['GET', `/api/v1/users/${graceId}`], ['PATCH', `/api/v1/users/${graceId}`], ['POST', `/api/v1/users/${graceId}/disable`], ['DELETE', `/api/v1/users/${graceId}`], ['GET', `/api/v1/tenants/${acme.tenant.id}`]] as const) {
        const res = await ta.call(method, url, { token: beta.token, body: method === 'PATCH' ? { firstName: 'X' } : undefined });
        t.equal(res.status, 404, `${method} ${url}`);
      }
      const theirs = await ta.call('GET', '/api/v1/users', { token: beta.token });
      t.ok(theirs.body.items.every((u: { tenantId: string }) => u.tenantId === beta.tenant.id));
      const cross = await ta.call('POST', '/api/v1/extensions', { token: beta.token, body: { number: '3000', userId: graceId } });
      t.equal(cross.status, 400, "a profile of another tenant cannot be assigned");
      const op = await ta.call('GET', `/api/v1/users/${graceId}`, { token: ta.operatorToken });
      t.equal(op.status, 200, 'the operator sees every tenant');
      const tenantCreate = await ta.call('POST', '/api/v1/tenants', { token: acme.token, body: { name: 'X', sipDomain: 'x.test', admin: {} } });
      t.equal(tenantCreate.status, 403, 'only an operator creates tenants');
      const opUser = await ta.call('POST', '/api/v1/users', { token: ta.operatorToken, body: { firstName: 'O', lastName: 'P', email: 'op@x.test' } });
      t.same(opUser.body.details, [{ field: 'tenantId', reason: 'is required with an operator token' }]);
    });

    t.test('lists page, filter and project fields', async (t) => {
      for (let i = 0; i < 5; i++) {
        await ta.call('POST', '/api/v1/users', { token: beta.token, body: { firstName: `Pat${i}`, lastName: 'Page', email: `pat${i}@beta.test` } });
      }
      const page = await ta.call('GET', '/api/v1/users?name=page&limit=2&offset=1&fields=username', { token: beta.token });
      t.equal(page.body.total, 5);
      t.same(page.body.items, [{ username: 'pat1@beta.test' }, { username: 'pat2@beta.test' }]);
      const both = await ta.call('GET', '/api/v1/users?name=pat3%20pag', { token: beta.token });
      t.equal(both.body.total, 1, 'every word of the name must match');
      const byExt = await ta.call('GET', '/api/v1/users?extension=1002', { token: beta.token });
      t.same(byExt.body.items.map((u: { email: string }) => u.email), ['bea@beta.test']);
      const unknown = await ta.call('GET', '/api/v1/users?fields=id,password', { token: beta.token });
      t.equal(unknown.status, 400);
      t.match(unknown.body.details[0].reason, /unknown field "password"/);
      const badLimit = await ta.call('GET', '/api/v1/users?limit=100000', { token: beta.token });
      t.equal(badLimit.status, 400);
      const badParam = await ta.call('GET', '/api/v1/users?sort=1', { token: beta.token });
      t.equal(badParam.status, 400);
    });

    t.test('SQL metacharacters are data, and wildcards match only themselves', async (t) => {
      const odd = await ta.call('POST', '/api/v1/users', { token: beta.token, body: { firstName: "O'Brien", lastName: 'Robert"); DROP TABLE users;--', email: 'ob@beta.test', username: "o'brien" } });
      t.equal(odd.status, 201);
      const found = await ta.call('GET', `/api/v1/users?name=${encodeURIComponent("o'brien")}`, { token: beta.token });
      t.equal(found.body.total, 1);
      const pct = await ta.call('GET', '/api/v1/users?name=%25', { token: beta.token });
      t.equal(pct.body.total, 0, '% is not a wildcard');
      const under = await ta.call('GET', '/api/v1/users?username=_', { token: beta.token });
      t.equal(under.body.total, 0, '_ is not a wildcard');
      const all = await ta.call('GET', '/api/v1/users', { token: beta.token });
      t.ok(all.body.total > 5, 'the users table is still there');
    });

    t.test('hostile bodies get a clear 4xx and change nothing', async (t) => {
      const url = '/api/v1/users';
      const before = (await ta.call('GET', url, { token: beta.token })).body.total;
      const huge = await ta.call('POST', url, { token: beta.token, body: { firstName: 'x'.repeat(2 * 1024 * 1024), lastName: 'y', email: 'h@beta.test' } });
      t.equal(huge.status, 413);
      t.equal(huge.body.error, 'too_large');
      const types = await ta.call('POST', url, { token: beta.token, body: { firstName: ['a'], lastName: { b: 1 }, email: 7 } });
      t.equal(types.status, 400);
      t.same(types.body.details.map((d: { field: string }) => d.field).sort(), ['email', 'firstName', 'lastName']);
      const extra = await ta.call('POST', url, { token: beta.token, body: { firstName: 'A', lastName: 'B', email: 'e@beta.test', password: 'hunter2', isAdmin: true } });
      t.equal(extra.status, 400);
      t.same(extra.body.details.map((d: { field: string }) => d.field).sort(), ['isAdmin', 'password']);
      const latin1 = await ta.call('POST', url, { token: beta.token, payload: Buffer.from('{"firstName":"Andr\xe9","lastName":"B","email":"a@beta.test"}', 'latin1'), headers: { 'content-type': 'application/json' } });
      t.equal(latin1.status, 400);
      t.same(latin1.body.details, [{ field: 'body', reason: 'is not valid UTF-8' }]);
      const proto = await ta.call('POST', url, { token: beta.token, payload: '{"firstName":"A","lastName":"B","email":"p@beta.test","__proto__":{"isAdmin":true}}', headers: { 'content-type': 'application/json' } });
      t.equal(proto.status, 400);
      const broken = await ta.call('POST', url, { token: beta.token, payload: '{"firstName":', headers: { 'content-type': 'application/json' } });
      t.equal(broken.status, 400);
      t.match(broken.body.details[0].reason, /not valid JSON/);
      const notJson = await ta.call('POST', url, { token: beta.token, payload: 'firstName=A', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      t.equal(notJson.status, 415);
      t.match(notJson.body, { error: 'unsupported_media_type', message: 'Content-Type "application/x-www-form-urlencoded" is not accepted here: send the body as application/json', details: [{ field: 'content-type', reason: 'must be application/json' }] });
      const array = await ta.call('POST', url, { token: beta.token, body: [1, 2] });
      t.equal(array.status, 400);
      const longId = await ta.call('GET', `/api/v1/users/${'a'.repeat(300)}`, { token: beta.token });
      t.equal(longId.status, 414);
      t.equal(longId.body.error, 'uri_too_long');
      const after = (await ta.call('GET', url, { token: beta.token })).body.total;
      t.equal(after, before, 'no profile was created');
    });

    t.test('tokens: missing, malformed and unknown are refused', async (t) => {
      t.equal((await ta.call('GET', '/api/v1/users')).status, 401);
      t.equal((await ta.call('GET', '/api/v1/users', { headers: { authorization: 'Basic Zm9vOmJhcg==' } })).status, 401);
      t.equal((await ta.call('GET', '/api/v1/users', { token: 'dt_' + 'x'.repeat(40) })).status, 401);
      t.equal((await ta.call('GET', '/api/v1/users', { token: "' or 1=1 --" })).status, 401);
    });

    t.test('health, readiness and the API description', async (t) => {
      t.same((await ta.call('GET', '/healthz')).body, { status: 'ok' });
      t.same((await ta.call('GET', '/readyz')).body, { status: 'ready', database: 'reachable' });
      const doc = await ta.call('GET', '/api/docs/json');
      t.equal(doc.status, 200);
      t.ok(doc.body.paths['/api/v1/users'], 'users are described');
      t.ok(doc.body.paths['/api/v1/extensions/{id}'], 'extensions are described');
    });
  });
}
