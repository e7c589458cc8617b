import t from 'tap';
import { makeTenant, startTestApp, type TestApp } from '../helpers/app';

const form = (ta: TestApp, url: string, payload: string, type = 'application/x-www-form-urlencoded') =>
  ta.call('POST', url, { payload, headers: { 'content-type': type } });

t.test('hostile input to the account pages and sign-in', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await makeTenant(ta, 'hostile.example');

  const echoed = await form(ta, '/account/sign-in', new URLSearchParams({ username: '"><script>alert(1)</script>', password: 'x' }).toString());
  t.equal(echoed.status, 401);
  t.notMatch(echoed.raw, /<script>/, 'an echoed username is escaped');
  t.match(echoed.raw, /&quot;&gt;&lt;script&gt;/);

  t.equal((await form(ta, '/account/set-password', 'password=a&confirm=a')).status, 404, 'no token');
  t.equal((await form(ta, '/account/set-password', `token=${'%00'.repeat(50)}&password=a&confirm=a`)).status, 404, 'a token of NULs');
  t.equal((await ta.call('GET', `/account/set-password?token=${'a'.repeat(5000)}`)).status, 404, 'a very long token');
  t.equal((await ta.call('GET', '/account/set-password?token=x&token=y')).status, 404, 'a repeated token');
  t.equal((await form(ta, '/account/set-password', `token=${'a'.repeat(40)}&password=${'p'.repeat(20000)}`)).status, 413, 'a form over 16 KiB');
  t.equal((await form(ta, '/account/sign-in', '--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nx\r\n--b--', 'multipart/form-data; boundary=b')).status, 415, 'only urlencoded forms');
  t.equal((await form(ta, '/account/forgot', 'who=' + 'x'.repeat(1000))).status, 200, 'an overlong forgot entry gets the usual answer');

  const api = (body: unknown) => ta.call('POST', '/api/v1/sign-in', { body });
  t.equal((await api({ username: ['a'], password: 'x' })).status, 400);
  t.equal((await api({ username: 'a', password: { $gt: '' } })).status, 400);
  t.equal((await api({ username: 'a', password: 'x'.repeat(5000) })).status, 400, 'an enormous password is refused before hashing');
  t.equal((await api({})).status, 400);
  t.equal((await ta.call('POST', '/api/v1/sign-in', { payload: '{"username":', headers: { 'content-type': 'application/json' } })).status, 400);
});
