import t from 'tap';
import { PASSWORD_MIN, passwordProblems } from '../../daemon/accounts/password-rules';
import { hit, retryAfter } from '../../daemon/accounts/rate-limit';

const who = { username: 'ada.lovelace', email: 'ada@example.com' };

t.test('a long passphrase is accepted', async (t) => {
  t.same(passwordProblems('correct horse battery staple', who), []);
  t.same(passwordProblems('Ünïcødé pässwörd ☎ 2026', who), []);
});

t.test('each broken rule is named', async (t) => {
  t.match(passwordProblems('short', who), [/at least 12/]);
  t.match(passwordProblems('x'.repeat(129), who), [/at most 128/, /repeated/]);
  t.match(passwordProblems('my Ada.Lovelace secret', who), [/username/]);
  t.match(passwordProblems('ada-is-the-best-ever', who), [/email/]);
  t.match(passwordProblems('aaaaaaaaaaaaaaa', who), [/one character repeated/]);
  t.match(passwordProblems('Password-2024!!', who), [/well-known/]);
  t.match(passwordProblems('123456789012', who), [/digits and symbols/]);
  t.match(passwordProblems('', who), [/at least 12/], 'empty is too short and nothing else');
  t.equal(passwordProblems('', who).length, 1);
  t.ok(PASSWORD_MIN >= 12);
});

t.test('a fixed window counts hits and reopens when it has passed', async (t) => {
  const limit = { max: 3, windowMs: 60_000 };
  const t0 = new Date('2026-01-01T00:00:00Z');
  let w = hit(null, t0, limit);
  w = hit(w, new Date(t0.getTime() + 1000), limit);
  t.equal(retryAfter(w, t0, limit), 0, 'two of three: still open');
  w = hit(w, new Date(t0.getTime() + 2000), limit);
  t.equal(retryAfter(w, new Date(t0.getTime() + 2000), limit), 58, 'closed until the window ends');
  const later = new Date(t0.getTime() + 60_000);
  t.equal(retryAfter(w, later, limit), 0);
  t.same(hit(w, later, limit), { count: 1, windowStart: later.toISOString() });
});
