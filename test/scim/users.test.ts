import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

// RFC 7644 §3.3's create example, with the email dialtone requires of every profile.
const bjensen = (extra: Record<string, unknown> = {}) => ({
  schemas: [CORE, ENT], userName: 'bjensen', externalId: 'bjensen',
  name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
  emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
  [ENT]: { department: 'Tour Operations' },
  ...extra,
});

function scim(ta: TestApp, token: string) {
  return (method: string, url: string, body?: unknown) => ta.call(method, `/scim/v2${url}`, {
    token, ...(body !== undefined ? { payload: JSON.stringify(body), headers: { 'content-type': 'application/scim+json' } } : {}),
  });
}

for (const kind of databaseKinds()) {
  t.test(`SCIM on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const acme = await makeTenant(ta, 'acme.example');
    const tok = await ta.call('POST', '/api/v1/scim-tokens', { token: acme.token, body: { label: 'Okta' } });
    t.equal(tok.status, 201);
    t.match(tok.body.token, /^scim_/);
    const s = scim(ta, tok.body.token);

    t.test('authentication and the error format', async (t) => {
      const none = await ta.call('GET', '/scim/v2/Users');
      t.equal(none.status, 401);
      t.match(none.body, { schemas: [ERROR], status: '401' });
      t.match(none.headers['content-type'], /application\/scim\+json/);
      t.equal((await ta.call('GET', '/scim/v2/Users', { token: acme.token })).status, 401, 'an admin API token is not a SCIM token');
    });

    t.test('discovery', async (t) => {
      const spc = await s('GET', '/ServiceProviderConfig');
      t.match(spc.body, { patch: { supported: true }, filter: { supported: true }, sort: { supported: true }, changePassword: { supported: false }, bulk: { supported: false } });
      const rts = await s('GET', '/ResourceTypes');
      t.match(rts.body.Resources, [{ id: 'User', endpoint: '/Users', schemaExtensions: [{ schema: ENT }], description: /never deleted/ }]);
      const schemas = await s('GET', '/Schemas');
      t.same(schemas.body.Resources.map((r: { id: string }) => r.id), [CORE, ENT]);
      t.equal((await s('GET', `/Schemas/${ENT}`)).status, 200);
      t.equal((await s('GET', '/Schemas/urn:nope')).status, 404);
      const groups = await s('GET', '/Groups');
      t.match(groups.body, { schemas: [ERROR], status: '404', detail: /Users/ }, 'unsupported resources answer in SCIM\'s format');
    });

    let id = '';
    t.test('create (RFC 7644 §3.3)', async (t) => {
      const noEmail = await s('POST', '/Users', { ...bjensen(), emails: undefined });
      t.equal(noEmail.status, 400);
      t.match(noEmail.body, { schemas: [ERROR], scimType: 'invalidValue', detail: /emails: is required/ });
      const res = await s('POST', '/Users', bjensen());
      t.equal(res.status, 201, res.raw);
      id = res.body.id;
      t.equal(res.headers.location, `${ta.app.runtime.config.publicUrl}/scim/v2/Users/${id}`);
      t.match(res.body, {
        schemas: [CORE, ENT], userName: 'bjensen', externalId: 'bjensen', active: true,
        name: { givenName: 'Barbara', familyName: 'Jensen' }, [ENT]: { department: 'Tour Operations' },
        meta: { resourceType: 'User', created: String, lastModified: String, location: String },
      });
      const dup = await s('POST', '/Users', { ...bjensen(), externalId: 'other', userName: 'BJENSEN' });
      t.equal(dup.status, 409);
      t.equal(dup.body.scimType, 'uniqueness');
      const pw = await s('POST', '/Users', { ...bjensen({ userName: 'pw' }), password: 't1meMa$heen' });
      t.equal(pw.status, 400);
      t.equal(pw.body.scimType, 'mutability');
      t.equal((await s('POST', '/Users', { userName: 'x' })).body.scimType, 'invalidSyntax', 'schemas are required');
      const broken = await ta.call('POST', '/scim/v2/Users', { token: tok.body.token, payload: '{"schemas": [', headers: { 'content-type': 'application/scim+json' } });
      t.match(broken.body, { status: '400', scimType: 'invalidSyntax' });
      const api = await ta.call('GET', `/api/v1/users/${id}`, { token: acme.token });
      t.equal(api.body.department, 'Tour Operations', 'the same profile as the admin API sees');
    });

    t.test('get, and tenants are apart', async (t) => {
      t.equal((await s('GET', `/Users/${id}`)).body.userName, 'bjensen');
      const other = await makeTenant(ta, 'other.example');
      const otherTok = await ta.call('POST', '/api/v1/scim-tokens', { token: other.token, body: {} });
      const res = await ta.call('GET', `/scim/v2/Users/${id}`, { token: otherTok.body.token });
      t.equal(res.status, 404);
      t.equal(res.body.status, '404');
    });

    t.test('list: filters in the database, paging and sorting', async (t) => {
      for (const [given, family, user, title] of [['Jim', 'Smith', 'jsmith', 'Engineer'], ['Jane', "O'Malley", 'jomalley', null], ['Zed', 'Adams', 'zadams', 'Tour Guide']] as const) {
        const r = await s('POST', '/Users', { schemas: [CORE], userName: user, name: { givenName: given, familyName: family }, emails: [{ value: `${user}@example.org`, primary: true }], ...(title ? { title } : {}) });
        t.equal(r.status, 201, r.raw);
      }
      const names = async (q: string) => {
        const r = await s('GET', `/Users?${q}`);
        t.equal(r.status, 200, `${q}: ${r.raw.slice(0, 300)}`);
        return r.body.Resources.map((u: { userName: string }) => u.userName).sort();
      };
      const f = (filter: string) => `filter=${encodeURIComponent(filter)}`;
      t.same(await names(f('userName eq "BJENSEN"')), ['bjensen']);
      t.same(await names(f('name.familyName co "O\'Malley"')), ['jomalley']);
      t.same(await names(f('userName sw "J"')), ['jomalley', 'jsmith']);
      t.same(await names(f(`${CORE}:userName sw "J"`)), ['jomalley', 'jsmith']);
      t.same(await names(f('title pr')), ['jsmith', 'zadams']);
      t.same(await names(f('meta.lastModified gt "2011-05-13T04:42:34Z"')), ['admin.acme.example', 'bjensen', 'jomalley', 'jsmith', 'zadams']);
      t.same(await names(f('meta.lastModified lt "2011-05-13T04:42:34Z"')), []);
      t.same(await names(f('title pr and userName ew "adams"')), ['zadams']);
      t.same(await names(f('title eq "Engineer" or emails co "bjensen@example.com"')), ['bjensen', 'jsmith']);
      t.same(await names(f('not (emails co "example.org") and userName ne "admin.acme.example"')), ['bjensen']);
      t.same(await names(f('not (title eq "Engineer") and emails.value co "example.org"')), ['jomalley', 'zadams'], 'not() keeps profiles without a title');
      t.same(await names(f('emails[type eq "work" and value co "@example.com"]')), ['bjensen']);
      t.same(await names(f(`${ENT}:department eq "tour operations"`)), ['bjensen']);
      t.same(await names(f('active eq true and (userName sw "z" or userName sw "b")')), ['bjensen', 'zadams']);
      t.same(await names(f('userName co "%" or userName co "_"')), [], 'LIKE wildcards match only themselves');
      t.same(await names(f('userName eq "x\' or \'1\'=\'1" or userName eq "\\"; drop table users; --"')), [], 'values are parameters, never SQL');
      const bad = await s('GET', `/Users?${f('userType eq "Employee"')}`);
      t.match(bad.body, { status: '400', scimType: 'invalidFilter' });
      t.equal((await s('GET', `/Users?${f('userName eq')}`)).body.scimType, 'invalidFilter');

      const page = await s('GET', '/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2');
      t.match(page.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 5, startIndex: 2, itemsPerPage: 2 });
      t.same(page.body.Resources.map((u: { userName: string }) => u.userName), ['jsmith', 'jomalley']);
      const zero = await s('GET', '/Users?count=0');
      t.match(zero.body, { totalResults: 5, itemsPerPage: 0, Resources: [] });
      const byName = await s('GET', '/Users?sortBy=name.familyName&count=1');
      t.equal(byName.body.Resources[0].userName, 'zadams');
      const attrs = await s('GET', `/Users?${f('userName eq "bjensen"')}&attributes=userName,name.givenName`);
      t.same(Object.keys(attrs.body.Resources[0]).sort(), ['id', 'name', 'schemas', 'userName']);
      t.same(attrs.body.Resources[0].name, { givenName: 'Barbara' });
      const search = await s('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "jsmith"', excludedAttributes: ['emails'] });
      t.equal(search.body.totalResults, 1);
      t.notOk('emails' in search.body.Resources[0]);
    });

    t.test('PUT replaces; PATCH with paths and value filters (RFC 7644 §3.5)', async (t) => {
      const put = await s('PUT', `/Users/${id}`, bjensen({ title: 'Tour Guide', [ENT]: undefined }));
      t.equal(put.status, 200, put.raw);
      t.equal(put.body.title, 'Tour Guide');
      t.same(put.body[ENT], {}, 'an attribute left out of PUT is cleared');
      const p1 = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'barbara@example.com' },
        { op: 'add', path: `${ENT}:department`, value: 'Tours' },
        { op: 'remove', path: 'title' },
        { op: 'replace', value: { name: { givenName: 'Babs' } } },
      ] });
      t.equal(p1.status, 200, p1.raw);
      t.match(p1.body, { emails: [{ value: 'barbara@example.com' }], [ENT]: { department: 'Tours' }, name: { givenName: 'Babs', familyName: 'Jensen' } });
      t.notOk('title' in p1.body);
      const bad = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'userName' }] });
      t.equal(bad.status, 400, 'userName is required');
      const noTarget = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@y.example' }] });
      t.equal(noTarget.body.scimType, 'noTarget');
      const refused: [unknown[], string, RegExp][] = [
        [[{ op: 'replace', path: 'displayName', value: 'Babs the Great' }], 'mutability', /displayName is read-only: dialtone derives it from name.givenName and name.familyName/],
        [[{ op: 'replace', path: 'name.formatted', value: 'B. J.' }], 'mutability', /name.formatted is read-only/],
        [[{ op: 'add', path: 'nickName', value: 'Babs' }], 'invalidPath', /^nickName is not an attribute dialtone stores/],
        [[{ op: 'add', value: { nickName: 'Babs' } }], 'invalidPath', /^nickName is not an attribute/],
        [[{ op: 'add', path: 'name.middleName', value: 'Q' }], 'invalidPath', /^name.middleName is not/],
        [[{ op: 'add', path: `${ENT}:manager`, value: { value: 'x' } }], 'invalidPath', /manager is not an attribute/],
        [[{ op: 'add', path: 'emails', value: [{ value: 'babs@home.example', type: 'home' }] }], 'invalidValue', /^emails: dialtone keeps one email per user, the request leaves 2/],
        [[{ op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0100' }, { value: '+1 555 0101' }] }], 'invalidValue', /one phone number per user/],
        [[{ op: 'replace', path: 'meta.created', value: '2000-01-01T00:00:00Z' }], 'mutability', /meta is read-only/],
      ];
      const before = (await s('GET', `/Users/${id}`)).body;
      for (const [ops, scimType, detail] of refused) {
        const r = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'title', value: 'Changed' }, ...ops] });
        t.equal(r.status, 400, JSON.stringify(ops));
        t.match(r.body, { scimType, detail }, JSON.stringify(ops));
      }
      t.same((await s('GET', `/Users/${id}`)).body, before, 'a refused PATCH changed nothing, not even its other operations');
      const derived = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [
        { op: 'replace', path: 'name.givenName', value: 'Barbara' }, { op: 'replace', path: 'displayName', value: 'Barbara Jensen' },
      ] });
      t.equal(derived.status, 200, 'a displayName equal to what dialtone derives is no change');
      t.equal(derived.body.displayName, 'Barbara Jensen');
      const ro = await s('PUT', `/Users/${id}`, { ...bjensen(), id: 'other' });
      t.equal(ro.body.scimType, 'mutability');
    });

    t.test('active=false disables with reassignment; DELETE disables and hides', async (t) => {
      const ext = await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '3001', userId: id } });
      t.equal(ext.status, 201);
      const off = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] });
      t.equal(off.body.active, false);
      const moved = await ta.call('GET', `/api/v1/extensions/${ext.body.id}`, { token: acme.token });
      t.equal(moved.body.userId, acme.admin.id, 'the extension went to the primary administrator');
      const on = await s('PATCH', `/Users/${id}`, { schemas: [PATCH], Operations: [{ op: 'Replace', value: { active: 'True' } }] });
      t.equal(on.body.active, true, 'Azure AD\'s "True" string is understood');
      const del = await s('DELETE', `/Users/${id}`);
      t.equal(del.status, 204);
      t.match(del.headers['dialtone-deleted-as'], /disabled/);
      t.equal((await s('GET', `/Users/${id}`)).status, 404);
      t.notOk((await s('GET', '/Users')).body.Resources.some((u: { id: string }) => u.id === id));
      const kept = await ta.call('GET', `/api/v1/users/${id}`, { token: acme.token });
      t.equal(kept.body.status, 'disabled', 'the profile is kept, disabled');
      const back = await s('POST', '/Users', bjensen({ userName: 'BJensen' }));
      t.equal(back.status, 201, 'creating the deleted userName again brings the same profile back');
      t.equal(back.body.id, id);
      t.equal(back.body.active, true);
      t.equal((await s('GET', `/Users/${id}`)).status, 200);
      const primary = await s('PATCH', `/Users/${acme.admin.id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] });
      t.equal(primary.status, 400);
      t.equal(primary.body.scimType, 'mutability');
    });

    t.test('token revocation and audit', async (t) => {
      const audit = await ta.call('GET', '/api/v1/audit?kind=scim_token', { token: acme.token });
      t.equal(audit.body.items[0].action, 'created');
      t.notMatch(audit.raw, new RegExp(tok.body.token));
      t.equal((await ta.call('DELETE', `/api/v1/scim-tokens/${tok.body.id}`, { token: acme.token })).status, 204);
      t.equal((await s('GET', '/Users')).status, 401);
    });
  });
}
