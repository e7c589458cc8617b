import fs from 'node:fs';
import t from 'tap';
import { chromium } from 'playwright-core';
import { makeTenant, startTestApp } from '../helpers/app';
import { flushMail, readOutbox } from '../helpers/mail';

const CHROMIUM = process.env.DIALTONE_TEST_CHROMIUM ?? '/usr/bin/chromium';

function linkIn(text: string): string {
  const m = /(http:\/\/127\.0\.0\.1:\d+\/account\/set-password\?token=[A-Za-z0-9%]+)/.exec(text);
  if (!m) throw new Error(`no link in:\n${text}`);
  return m[1]!;
}

t.test('a new user, as a person would: welcome email, set password, sign in, reset, disabled', { skip: fs.existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium)` }, async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const { port } = ta.app.httpAddress();
  // Links in emails must reach this test's server, which only now knows its port.
  ta.app.runtime.config.publicUrl = `http://127.0.0.1:${port}`;
  const base = ta.app.runtime.config.publicUrl;

  const { token } = await makeTenant(ta, 'lobby.example');
  const user = await ta.call('POST', '/api/v1/users', { token, body: { firstName: 'Grace', lastName: 'Hopper', email: 'grace@lobby.example', username: 'grace' } });
  t.equal(user.status, 201);
  t.equal((await ta.call('POST', '/api/v1/extensions', { token, body: { number: '4100', userId: user.body.id } })).status, 201);
  await flushMail(ta);
  const welcome = readOutbox(ta.dataDir).find((m) => m.to.includes('grace@lobby.example'));
  t.ok(welcome, 'the welcome email is in the outbox');
  t.match(welcome!.text, /4100/);
  t.match(welcome!.text, /lobby\.example/);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  // The pages promise to work without JavaScript: hold them to it.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();

  const setPassword = async (link: string, password: string) => {
    await page.goto(link);
    await page.fill('input[name=password]', password);
    await page.fill('input[name=confirm]', password);
    await page.click('button[type=submit]');
  };
  const signIn = async (username: string, password: string) => {
    await page.goto(`${base}/account/sign-in`);
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', password);
    await page.click('button[type=submit]');
  };

  const first = linkIn(welcome!.text);
  await page.goto(first);
  t.match(await page.textContent('#rules'), /At least 12/, 'the page states the rules');
  await setPassword(first, 'short');
  t.match(await page.textContent('[role=alert]'), /use at least 12/, 'a weak password is refused with the reason');
  await setPassword(first, 'grace hopper wrote cobol');
  t.match(await page.textContent('[role=alert]'), /username|well-known|contains/i, 'a password containing the username is refused');
  await setPassword(first, 'nanoseconds of wire 1906');
  t.match(await page.textContent('h1'), /Password set/);

  await signIn('grace', 'nanoseconds of wire 1906');
  t.match(await page.textContent('#signed-in'), /Signed in as grace/);

  await page.goto(first);
  t.match(await page.textContent('#link-refused'), /already been used/, 'the welcome link works once');

  t.equal((await ta.call('POST', `/api/v1/users/${user.body.id}/reset-password`, { token })).status, 202);
  await flushMail(ta);
  const reset = readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password').pop()!;
  await setPassword(linkIn(reset.text), 'a different phrase 2026');
  t.match(await page.textContent('h1'), /Password set/);
  await signIn('grace', 'nanoseconds of wire 1906');
  t.match(await page.textContent('#sign-in-error'), /Wrong username or password/, 'the old password no longer works');
  await signIn('grace', 'a different phrase 2026');
  t.match(await page.textContent('#signed-in'), /Signed in as grace/);

  await page.goto(`${base}/account/forgot`);
  await page.fill('input[name=who]', 'grace@lobby.example');
  await page.click('button[type=submit]');
  t.match(await page.textContent('#forgot-sent'), /If a profile matches/);
  await flushMail(ta);
  const pending = readOutbox(ta.dataDir).filter((m) => m.subject === 'Reset your password').pop()!;

  t.equal((await ta.call('POST', `/api/v1/users/${user.body.id}/disable`, { token })).status, 200);
  await page.goto(linkIn(pending.text));
  t.match(await page.textContent('#link-refused'), /profile is disabled/, 'the link stops working');
  await page.goto(`${base}/account`);
  t.match(page.url(), /\/account\/sign-in$/, 'the open session ends with the profile');
  await signIn('grace', 'a different phrase 2026');
  t.match(await page.textContent('#sign-in-error'), /cannot sign in/, 'sign-in is refused');
});
