import t from 'tap';

/** What fn threw, for t.match: no error is a failure. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return new Error('nothing was thrown');
}
import { matches, parseFilter } from '../../daemon/scim/filter';
import { applyPatch, parsePatchPath, PATCH_OP } from '../../daemon/scim/patch';

// RFC 7644 §3.4.2.2, every example filter.
const RFC_FILTERS = [
  'userName eq "bjensen"',
  'name.familyName co "O\'Malley"',
  'userName sw "J"',
  'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
  'title pr',
  'meta.lastModified gt "2011-05-13T04:42:34Z"',
  'meta.lastModified ge "2011-05-13T04:42:34Z"',
  'meta.lastModified lt "2011-05-13T04:42:34Z"',
  'meta.lastModified le "2011-05-13T04:42:34Z"',
  'title pr and userType eq "Employee"',
  'title pr or userType eq "Intern"',
  'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
  'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
  'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
  'userType eq "Employee" and (emails.type eq "work")',
  'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
  'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
];

// RFC 7643 §8.2 (abridged): the full user example.
const BJENSEN = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id: '2819c223-7f76-453a-919d-413861904646',
  userName: 'bjensen@example.com',
  name: { formatted: 'Ms. Barbara J Jensen, III', familyName: 'Jensen', givenName: 'Barbara' },
  title: 'Tour Guide',
  userType: 'Employee',
  emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }, { value: 'babs@jensen.org', type: 'home' }],
  ims: [{ value: 'someaimhandle', type: 'aim' }],
  meta: { lastModified: '2011-05-13T04:42:34Z' },
};

t.test('every example filter of RFC 7644 parses', async (t) => {
  for (const f of RFC_FILTERS) t.ok(parseFilter(f), f);
});

t.test('precedence: not binds tighter than and, and tighter than or', async (t) => {
  t.match(parseFilter('a eq 1 or b eq 2 and c eq 3'), { op: 'or', left: { path: 'a' }, right: { op: 'and' } });
  t.match(parseFilter('(a eq 1 or b eq 2) and c eq 3'), { op: 'and', left: { op: 'or' } });
  t.match(parseFilter('not (a pr) and b pr'), { op: 'and', left: { op: 'not' } });
  t.match(parseFilter('userName EQ "x" AND title PR'), { op: 'and', left: { op: 'eq' }, right: { op: 'pr' } }, 'operators ignore case');
});

t.test('the examples evaluate as the RFC means them', async (t) => {
  const expect: Record<string, boolean> = {
    'userName eq "BJENSEN@example.com"': true,
    'userName sw "J"': false,
    'title pr': true,
    'meta.lastModified ge "2011-05-13T04:42:34Z"': true,
    'meta.lastModified gt "2011-05-13T04:42:34Z"': false,
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")': true,
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")': false,
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]': true,
    'emails[type eq "home" and value co "@example.com"]': false,
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]': true,
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"': true,
  };
  for (const [f, want] of Object.entries(expect)) t.equal(matches(parseFilter(f), BJENSEN), want, f);
});

t.test('malformed filters are refused with invalidFilter', async (t) => {
  for (const bad of ['', 'userName', 'userName eq', 'userName zz "x"', 'userName eq "x', '(userName pr', 'userName eq "x" and', 'not userName pr', 'emails[type eq "work"', 'userName eq bareword', '"x" eq userName', 'a eq "\\q"', `${'('.repeat(40)}a pr${')'.repeat(40)}`, 'x'.repeat(3000)]) {
    t.match(thrown(() => parseFilter(bad)), { status: 400, scimType: 'invalidFilter' }, JSON.stringify(bad.slice(0, 50)));
  }
});

t.test('PATCH paths', async (t) => {
  t.match(parsePatchPath('name.familyName'), { attr: 'name', sub: 'familyName', filter: null });
  t.match(parsePatchPath('addresses[type eq "work"].streetAddress'), { attr: 'addresses', sub: 'streetAddress', filter: { op: 'eq' } });
  t.match(parsePatchPath('members[value eq "2819c223-7f76-453a-919d-413861904646"]'), { attr: 'members', filter: { op: 'eq' } });
  t.match(parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department'), { urn: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attr: 'department' });
  t.match(thrown(() => parsePatchPath('emails[type eq')), { status: 400, scimType: 'invalidPath' });
  t.match(thrown(() => parsePatchPath('a b')), { status: 400, scimType: 'invalidPath' });
});

const patch = (ops: unknown[]) => ({ schemas: [PATCH_OP], Operations: ops });

t.test('PATCH operations from RFC 7644 §3.5.2', async (t) => {
  const added = applyPatch(BJENSEN, patch([{ op: 'add', value: { emails: [{ value: 'babs@jensen.org', type: 'home' }], nickName: 'Babs' } }]));
  t.equal((added.emails as unknown[]).length, 3, 'add without a path appends to multi-valued attributes');
  t.equal(added.nickName, 'Babs');
  const removed = applyPatch(BJENSEN, patch([{ op: 'remove', path: 'emails[type eq "home"]' }]));
  t.same((removed.emails as { type: string }[]).map((e) => e.type), ['work']);
  const replaced = applyPatch(BJENSEN, patch([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'barbara@example.com' }]));
  t.equal((replaced.emails as { value: string }[])[0]!.value, 'barbara@example.com');
  const sub = applyPatch(BJENSEN, patch([{ op: 'Replace', path: 'name.givenName', value: 'Babs' }]));
  t.equal((sub.name as { givenName: string }).givenName, 'Babs', 'op names ignore case (Azure sends "Replace")');
  const ext = applyPatch(BJENSEN, patch([{ op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'Tours' }]));
  t.same(ext['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'], { department: 'Tours' });
  const noPath = applyPatch(BJENSEN, patch([{ op: 'replace', value: { active: false, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'X' } } }]));
  t.equal(noPath.active, false);
  t.equal(BJENSEN.emails.length, 2, 'the original is untouched');
});

t.test('PATCH errors', async (t) => {
  t.match(thrown(() => applyPatch(BJENSEN, patch([{ op: 'remove' }]))), { status: 400, scimType: 'noTarget' });
  t.match(thrown(() => applyPatch(BJENSEN, patch([{ op: 'replace', path: 'emails[type eq "fax"].value', value: 'x' }]))), { status: 400, scimType: 'noTarget' });
  t.match(thrown(() => applyPatch(BJENSEN, patch([{ op: 'replace', path: 'id', value: 'x' }]))), { status: 400, scimType: 'mutability' });
  t.match(thrown(() => applyPatch(BJENSEN, patch([{ op: 'move', path: 'title', value: 'x' }]))), { status: 400, scimType: 'invalidSyntax' });
  t.match(thrown(() => applyPatch(BJENSEN, { Operations: [] })), { status: 400, scimType: 'invalidSyntax' });
  t.match(thrown(() => applyPatch(BJENSEN, patch([{ op: 'add', path: 'title' }]))), { status: 400, scimType: 'invalidValue' });
});
