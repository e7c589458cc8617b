import t from 'tap';
import { ValidationError } from '../../daemon/core/errors';
import { displayName, usernameKey, validateNewProfile, validateProfilePatch } from '../../daemon/admin/domain/profile';

function problems(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return Object.fromEntries(err.details.map((d) => [d.field, d.reason]));
    throw err;
  }
  throw new Error('expected a ValidationError');
}

t.test('the username defaults to the email', async (t) => {
  const p = validateNewProfile({ firstName: 'Grace', lastName: 'Hopper', email: 'grace@navy.test' });
  t.equal(p.username, 'grace@navy.test');
  t.equal(p.siteId, null);
});

t.test('a chosen username wins over the email', async (t) => {
  t.equal(validateNewProfile({ firstName: 'A', lastName: 'B', email: 'a@b.test', username: 'Front Lobby' }).username, 'Front Lobby');
});

t.test('first name, last name and email are mandatory, and all missing ones are named', async (t) => {
  const p = problems(() => validateNewProfile({}));
  t.same(Object.keys(p).sort(), ['email', 'firstName', 'lastName']);
});

t.test('an email over 30 characters with no username says to choose one', async (t) => {
  const p = problems(() => validateNewProfile({ firstName: 'A', lastName: 'B', email: 'someone.with.a.long.name@example.com' }));
  t.match(p.username, /defaults to the email.*36 characters.*choose a username/);
});

t.test('a username of 31 characters is refused, 30 accepted', async (t) => {
  t.match(problems(() => validateNewProfile({ firstName: 'A', lastName: 'B', email: 'a@b.test', username: 'x'.repeat(31) })).username, /at most 30 characters \(got 31\)/);
  t.equal(validateNewProfile({ firstName: 'A', lastName: 'B', email: 'a@b.test', username: 'x'.repeat(30) }).username.length, 30);
});

t.test('hostile values are refused with reasons', async (t) => {
  const p = problems(() => validateNewProfile({
    firstName: 'A\u0000B', lastName: 42, email: 'not-an-email', username: "x'; drop table users; --", language: 'klingon', personalPhone: 'call me',
  }));
  t.match(p.firstName, /control characters/);
  t.match(p.lastName, /must be a string/);
  t.match(p.email, /email address/);
  t.match(p.username, /letters, digits/);
  t.match(p.language, /language tag/);
  t.match(p.personalPhone, /phone number/);
  t.match(problems(() => validateNewProfile([1, 2])).body, /JSON object/);
});

t.test('usernames compare ignoring case', async (t) => {
  t.equal(usernameKey('Grace@Navy.TEST'), usernameKey('grace@navy.test'));
});

t.test('a patch may change mandatory fields but never empty them', async (t) => {
  t.same(validateProfilePatch({ jobTitle: 'Admiral' }), { jobTitle: 'Admiral' });
  const p = problems(() => validateProfilePatch({ firstName: '', email: null, username: '' }));
  t.same(Object.keys(p).sort(), ['email', 'firstName', 'username']);
});

t.test('the display name joins first and last name', async (t) => {
  t.equal(displayName({ firstName: 'Front', lastName: 'Lobby' }), 'Front Lobby');
});
