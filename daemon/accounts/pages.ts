import { PASSWORD_MAX, PASSWORD_RULES } from './password-rules';

/**
 * The account pages: plain HTML forms, no script, so they work in any browser
 * and with JavaScript off. Every value from outside is escaped.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · dialtone</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;font-size:1rem}button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}.error{color:#a00}.ok{color:#070}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

const rules = () => `<p>Your password must be:</p><ul id="rules">${PASSWORD_RULES.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`;

const problemList = (problems: string[]) => problems.length === 0 ? '' : `<div class="error" role="alert"><p>That password cannot be used:</p><ul>${problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul></div>`;

export function setPasswordPage(opts: { token: string; username: string; problems?: string[] }): string {
  return page('Choose your password', `<p>Username: <strong>${escapeHtml(opts.username)}</strong></p>
${problemList(opts.problems ?? [])}${rules()}
<form method="post" action="/account/set-password">
<input type="hidden" name="token" value="${escapeHtml(opts.token)}">
<input type="text" name="username" value="${escapeHtml(opts.username)}" autocomplete="username" hidden>
<label>New password <input type="password" name="password" autocomplete="new-password" required maxlength="${PASSWORD_MAX}"></label>
<label>The same password again <input type="password" name="confirm" autocomplete="new-password" required maxlength="${PASSWORD_MAX}"></label>
<button type="submit">Set password</button>
</form>`);
}

const LINK_REASONS = {
  unknown: 'This link is not valid. Check that the whole link was copied from the email, or ask for a new one.',
  expired: 'This link has expired. Ask for a new one below, or ask your administrator to send a reset link.',
  used: 'This link has already been used. Each link works once: ask for a new one below if you need to change your password.',
  disabled: 'This link no longer works because the profile is disabled. Ask your administrator.',
} as const;

export function linkRefusedPage(reason: keyof typeof LINK_REASONS): string {
  return page('This link cannot be used', `<p class="error" role="alert" id="link-refused">${LINK_REASONS[reason]}</p>
<p><a href="/account/forgot">Forgot your password?</a> · <a href="/account/sign-in">Sign in</a></p>`);
}

export function passwordSetPage(username: string): string {
  return page('Password set', `<p class="ok" role="status">The password of <strong>${escapeHtml(username)}</strong> is set. The link you used no longer works.</p>
<p><a href="/account/sign-in">Sign in</a></p>`);
}

export function signInPage(opts: { error?: string; username?: string } = {}): string {
  return page('Sign in', `${opts.error ? `<p class="error" role="alert" id="sign-in-error">${escapeHtml(opts.error)}</p>` : ''}
<form method="post" action="/account/sign-in">
<label>Username <input type="text" name="username" value="${escapeHtml(opts.username ?? '')}" autocomplete="username" required maxlength="254"></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required maxlength="${PASSWORD_MAX}"></label>
<button type="submit">Sign in</button>
</form>
<p><a href="/account/forgot">Forgot your password?</a></p>`);
}

export function accountPage(user: { username: string; firstName: string; lastName: string }): string {
  return page('Your account', `<p id="signed-in">Signed in as <strong>${escapeHtml(user.username)}</strong> (${escapeHtml(`${user.firstName} ${user.lastName}`)}).</p>
<form method="post" action="/account/sign-out"><button type="submit">Sign out</button></form>`);
}

export function forgotPage(sent = false): string {
  if (sent) {
    return page('Check your email', `<p role="status" id="forgot-sent">If a profile matches what you entered, an email with a link to choose a new password is on its way to the address of that profile. The link works once, for one hour.</p>
<p><a href="/account/sign-in">Sign in</a></p>`);
  }
  return page('Forgot your password?', `<p>Enter your username or your email address. We will email a link to choose a new password.</p>
<form method="post" action="/account/forgot">
<label>Username or email <input type="text" name="who" required maxlength="254" autocomplete="username"></label>
<button type="submit">Send the link</button>
</form>`);
}
