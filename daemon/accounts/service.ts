import type { Knex } from 'knex';
import { DomainError, ValidationError } from '../core/errors';
import { newId, now } from '../core/ids';
import { randomString, sha256 } from '../crypto/random';
import { userFromRow, type User } from '../admin/store/rows';
import { usernameKey } from '../admin/domain/profile';
import { recordAudit } from '../audit/log';
import { hashPassword, verifyAgainstDecoy, verifyPassword } from './hashing';
import { checkLink, consumeLink, type LinkState } from './links';
import { passwordProblems } from './password-rules';
import { FORGOT_PER_SOURCE, RateLimiter, SIGN_IN_PER_ACCOUNT, SIGN_IN_PER_SOURCE } from './rate-limit';

export const SESSION_LIFETIME_MS = 8 * 3600 * 1000;

export class RateLimitedError extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `too many attempts; try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s)`);
  }
}

/** Sets the password a link allows; the link is spent whatever happens next. */
export async function setPasswordWithLink(knex: Knex, token: string, password: string, confirm: string): Promise<{ ok: true; user: User } | { ok: false; state: Exclude<LinkState, { ok: true }> } | { ok: false; problems: string[] }> {
  const state = await checkLink(knex, token);
  if (!state.ok) return { ok: false, state };
  const problems = passwordProblems(password, state.user);
  if (password !== confirm) problems.push('the two passwords differ');
  if (problems.length > 0) return { ok: false, problems };
  const hash = await hashPassword(password);
  const at = now();
  const used = await knex.transaction(async (trx) => {
    if (!(await consumeLink(trx, state.linkId, state.user.id))) return false;
    await trx('users').where('id', state.user.id).update({ password_hash: hash, password_set_at: at });
    // A new password ends every session opened with the old one.
    await trx('sessions').where('user_id', state.user.id).delete();
    return true;
  });
  if (!used) return { ok: false, state: { ok: false, reason: 'used' } };
  await recordAudit(knex, { tenantId: state.user.tenantId, actor: `user:${state.user.id}`, kind: 'password', objectId: state.user.id, action: 'set' });
  return { ok: true, user: state.user };
}

/**
 * Checks a username and password. Failures count against the account and the
 * source address; the answer is the same for an unknown username, a wrong
 * password and a disabled profile, so it reveals nothing.
 */
export async function signIn(knex: Knex, limiter: RateLimiter, input: { username: unknown; password: unknown; source: string }): Promise<{ user: User; sessionToken: string }> {
  if (typeof input.username !== 'string' || typeof input.password !== 'string' || input.username.length > 254 || input.password.length > 1024) {
    throw new ValidationError([{ field: 'username', reason: 'username and password are required' }]);
  }
  const accountBucket = `signin:account:${usernameKey(input.username.trim())}`;
  const sourceBucket = `signin:source:${input.source}`;
  const wait = Math.max(await limiter.blockedFor(accountBucket, SIGN_IN_PER_ACCOUNT), await limiter.blockedFor(sourceBucket, SIGN_IN_PER_SOURCE));
  if (wait > 0) throw new RateLimitedError(wait);
  await limiter.record(sourceBucket, SIGN_IN_PER_SOURCE);
  const row = await knex('users').where('username_key', usernameKey(input.username.trim())).first();
  let ok = false;
  if (row?.password_hash) ok = await verifyPassword(row.password_hash, input.password);
  else await verifyAgainstDecoy(input.password);
  if (!ok || row.status !== 'active') {
    await limiter.record(accountBucket, SIGN_IN_PER_ACCOUNT);
    if (row) await recordAudit(knex, { tenantId: row.tenant_id, actor: `source:${input.source}`, kind: 'session', objectId: row.id, action: 'sign_in_refused' });
    throw new DomainError('unauthorized', 'wrong username or password, or the profile cannot sign in');
  }
  await limiter.clear(accountBucket);
  const sessionToken = randomString(43);
  const at = new Date();
  const id = newId();
  await knex('sessions').insert({ id, token_hash: sha256(sessionToken), user_id: row.id, created_at: at.toISOString(), expires_at: new Date(at.getTime() + SESSION_LIFETIME_MS).toISOString() });
  await recordAudit(knex, { tenantId: row.tenant_id, actor: `user:${row.id}`, kind: 'session', objectId: id, action: 'signed_in' });
  return { user: userFromRow(row), sessionToken };
}

/** The profile a session cookie belongs to, while the session lasts and the profile is active. */
export async function sessionUser(knex: Knex, token: string | undefined): Promise<User | null> {
  if (!token || token.length > 100) return null;
  const s = await knex('sessions').where('token_hash', sha256(token)).first();
  if (!s || s.expires_at <= now()) return null;
  const row = await knex('users').where('id', s.user_id).first();
  return row && row.status === 'active' ? userFromRow(row) : null;
}

export async function endSession(knex: Knex, token: string | undefined): Promise<void> {
  if (token) await knex('sessions').where('token_hash', sha256(token)).delete();
}

/**
 * The forgot-password form: by username or email, answered the same way
 * whether or not anything matched. Returns the profiles to mail.
 */
export async function profilesForForgot(knex: Knex, limiter: RateLimiter, who: string, source: string): Promise<User[]> {
  const bucket = `forgot:source:${source}`;
  if ((await limiter.blockedFor(bucket, FORGOT_PER_SOURCE)) > 0) return [];
  await limiter.record(bucket, FORGOT_PER_SOURCE);
  const needle = who.trim();
  if (needle === '' || needle.length > 254) return [];
  const rows = await knex('users')
    .where({ status: 'active', kind: 'person' })
    .andWhere((w) => w.where('username_key', usernameKey(needle)).orWhereRaw('lower(email) = ?', [needle.toLowerCase()]))
    .limit(20);
  return rows.map(userFromRow);
}
