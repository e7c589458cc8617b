import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';
import { flushMail, readOutbox } from '../helpers/mail';
import { BULK_MAX_BYTES, MAX_REPORTED } from '../../daemon/bulk/import';

const upload = (ta: TestApp, token: string, csv: string | Buffer) =>
  ta.call('POST', '/api/v1/users/bulk', { token, payload: csv, headers: { 'content-type': 'text/csv' } });

const BAD = [
  'First Name (required),Last Name (required),Email (required),Username (optional),Extension (optional),Online Access (optional)',
  'Ada,Lovelace,ada@corp.example,,2001,yes',
  ',Babbage,not-an-email,,20a1,maybe',
  'Grace,Hopper,grace@corp.example,ADMIN.corp.example,,',
  'Alan,Turing,ada@corp.example,alan,2001,no',
  '"Hedy","Lamarr","hedy.lamarr.with.a.very.long.address@corp.example",,,',
].join('\r\n');

const GOOD = [
  '\ufeffFirst Name,Last Name,Email,Username,Extension,Online Access,Department',
  'Ada,Lovelace,ada@corp.example,,2001,yes,"Research, Analytical"',
  'Charles,Babbage,charles@corp.example,,2002,no,',
  'Grace,Hopper,grace@corp.example,grace,,,',
  'Alan,Turing,alan@corp.example,alan,2004,,',
  '"Hedy","Lamarr","hedy.lamarr.with.a.very.long.address@corp.example",hedy,,,"line one',
  'line two"',
].join('\r\n');

for (const kind of databaseKinds()) {
  t.test(`bulk upload on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const { token } = await makeTenant(ta, 'corp.example');

    t.test('templates download', async (t) => {
      const res = await ta.call('GET', '/api/v1/users/bulk/template?kind=advanced', { token });
      t.equal(res.status, 200);
      t.match(res.headers['content-type'], /text\/csv/);
      t.match(res.raw, /First Name \(required\)/);
      t.match(res.raw, /Extension \(optional\)/);
    });

    t.test('a file with several bad rows reports every one and creates nothing', async (t) => {
      const res = await upload(ta, token, BAD);
      t.equal(res.status, 400);
      const found = res.body.details.map((d: { line: number; column: string }) => `${d.line}:${d.column}`);
      t.same(found, [
        '3:First Name', '3:Email', '3:Extension', '3:Online Access',
        '4:Username',
        '5:Email',
        '5:Extension',
        '6:Username',
      ]);
      t.match(res.body.details.find((d: { line: number }) => d.line === 6).reason, /30/);
      t.match(res.body.details.find((d: { line: number; column: string }) => d.line === 4).reason, /already taken/);
      t.match(res.body.details.find((d: { line: number; column: string }) => d.line === 5 && d.column === 'Email').reason, /repeats line 2/);
      const users = await ta.call('GET', '/api/v1/users', { token });
      t.equal(users.body.total, 1, 'only the administrator exists');
    });

    t.test('the fixed file creates every profile and extension, and queues welcomes', async (t) => {
      const res = await upload(ta, token, GOOD);
      t.equal(res.status, 201, res.raw);
      t.equal(res.body.created, 5);
      t.equal(res.body.extensions, 3);
      const ada = (await ta.call('GET', '/api/v1/users?email=ada@corp.example', { token })).body.items[0];
      t.equal(ada.department, 'Research, Analytical');
      t.equal(ada.username, 'ada@corp.example', 'username defaults to the email');
      const hedy = (await ta.call('GET', '/api/v1/users?username=hedy', { token })).body.items[0];
      t.equal(hedy.department, 'line one\r\nline two'.replace('\r\n', '\r\n'));
      const ext = (await ta.call('GET', '/api/v1/extensions?number=2002', { token })).body.items[0];
      t.equal(ext.onlineAccess, false);
      await flushMail(ta);
      const mail = readOutbox(ta.dataDir).filter((m) => m.to.includes('corp.example') && !m.to.includes('admin@'));
      t.equal(mail.length, 3, 'one welcome per profile with an extension');
      const charles = mail.find((m) => m.to.includes('charles'))!;
      t.notMatch(charles.text, /set-password/, 'online access off: no password instructions');
      t.match(mail.find((m) => m.to.includes('ada'))!.text, /set-password\?token=/);
    });

    t.test('create only: uploading the same file again changes nothing', async (t) => {
      const res = await upload(ta, token, GOOD);
      t.equal(res.status, 400);
      t.equal(res.body.details.filter((d: { column: string }) => d.column === 'Email').length, 5);
    });

    t.test('hostile and malformed files', async (t) => {
      t.match((await upload(ta, token, '')).body.details, [{ reason: /empty/ }]);
      t.match((await upload(ta, token, 'First Name,Last Name,Email\n')).body.details, [{ reason: /no rows/ }]);
      t.match((await upload(ta, token, 'First Name,Last Name\nA,B\n')).body.details, [{ column: 'Email', reason: /missing/ }]);
      t.match((await upload(ta, token, 'First Name,Last Name,Email,Salary\nA,B,c@d.example,1\n')).body.details, [{ column: 'Salary', reason: /not a template column/ }]);
      t.match((await upload(ta, token, 'First Name,Last Name,Email\n"A,B,c@d.example\n')).body.details, [{ line: 2, reason: /never closed/ }]);
      t.match((await upload(ta, token, 'First Name,Last Name,Email\nA\u0001,B,c@d.example\n')).body.details, [{ line: 2, column: 'First Name', reason: /control/ }]);
      const wide = await upload(ta, token, 'First Name,Last Name,Email' + ',x'.repeat(5000) + '\nA,B,c@d.example\n');
      t.equal(wide.status, 400);
      t.equal(wide.body.details.length, MAX_REPORTED + 1, 'a file wrong everywhere gets a bounded answer');
      t.match(wide.body.details[MAX_REPORTED], { reason: /and \d+ more problems/ });
      t.match(wide.body.message, /5000 problem/);
      const injection = await upload(ta, token, 'First Name,Last Name,Email,Department\nA,B,x@d.example,"x\' or \'1\'=\'1; drop table users; --"\n');
      t.equal(injection.status, 201, 'quotes in values are data');
      t.equal((await ta.call('GET', '/api/v1/users?email=x@d.example', { token })).body.items[0].department, "x' or '1'='1; drop table users; --");
      const big = await upload(ta, token, Buffer.alloc(BULK_MAX_BYTES + 10, 'a'));
      t.equal(big.status, 400);
      t.match(big.body.details, [{ reason: /limit is 5 MB/ }]);
      const huge = await upload(ta, token, Buffer.alloc(BULK_MAX_BYTES * 2 + 10, 'a'));
      t.equal(huge.status, 413);
    });

    t.test('the export guards formulas', async (t) => {
      await ta.call('POST', '/api/v1/users', { token, body: { firstName: '=HYPERLINK("http://x")', lastName: '+1', email: 'evil@corp.example' } });
      const res = await ta.call('GET', '/api/v1/users/export.csv', { token });
      t.equal(res.status, 200);
      t.match(res.raw, /'=HYPERLINK/);
      t.match(res.raw, /,'\+1,/);
      t.notMatch(res.raw, /,=HYPERLINK/);
    });
  });
}

t.test('a bulk upload sent as something else than CSV is told to send text/csv', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { token } = await makeTenant(ta, 'media.example');
  const res = await ta.call('POST', '/api/v1/users/bulk', { token, body: { firstName: 'A' } });
  t.equal(res.status, 415);
  t.equal(res.body.message, 'Content-Type "application/json" is not accepted here: send the body as text/csv');
});

t.test("the Directory column keeps a profile out of the tenant's corporate directory", async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const { token } = await makeTenant(ta, 'dir.example');
  const bad = await upload(ta, token, 'First Name,Last Name,Email,Directory\r\nAda,Lovelace,ada@dir.example,maybe\r\n');
  t.equal(bad.status, 400);
  t.match(bad.body.details, [{ line: 2, column: 'Directory', reason: 'must be yes or no' }]);
  const good = await upload(ta, token, 'First Name,Last Name,Email,Directory\r\nAda,Lovelace,ada@dir.example,no\r\nBob,Builder,bob@dir.example,\r\n');
  t.equal(good.status, 201, good.raw);
  const users = await ta.call('GET', '/api/v1/users?fields=email,directory', { token });
  t.same(users.body.items.filter((u: { email: string }) => u.email !== 'admin@dir.example').map((u: { email: string; directory: boolean }) => [u.email, u.directory]).sort(),
    [['ada@dir.example', false], ['bob@dir.example', true]], 'no: left out; empty: listed');
});
