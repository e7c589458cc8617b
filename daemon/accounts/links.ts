import type { Knex } from 'knex';
import { newId, now } from '../core/ids';
import { randomString, sha256 } from '../crypto/random';
import { userFromRow, type User } from '../admin/store/rows';

export type LinkPurpose = 'welcome' | 'reset';

/** A welcome may sit in an inbox over a weekend; a reset is asked for by someone waiting for it. */
export const LINK_LIFETIME_MS: Record<LinkPurpose, number> = {
  welcome: 7 * 24 * 3600 * 1000,
  reset: 60 * 60 * 1000,
};

/** Why a link cannot be used, as the page tells it. */
export type LinkState = { ok: true; user: User; linkId: string } | { ok: false; reason: 'unknown' | 'expired' | 'used' | 'disabled' };

/** A new link's token and the row that stores only its SHA-256, so a database copy opens no account. */
export function newLink(userId: string, purpose: LinkPurpose, at = new Date()): { token: string; row: Record<string, unknown> } {
  const token = randomString(43);
  return {
    token,
    row: {
      id: newId(), token_hash: sha256(token), user_id: userId, purpose,
      created_at: at.toISOString(), expires_at: new Date(at.getTime() + LINK_LIFETIME_MS[purpose]).toISOString(), used_at: null,
    },
  };
}

/** Issues a single-use link and returns its token, which only the email will hold. */
export async function issueLink(knex: Knex, userId: string, purpose: LinkPurpose, at = new Date()): Promise<string> {
  const { token, row } = newLink(userId, purpose, at);
  await knex('password_links').insert(row);
  return token;
}

export async function checkLink(knex: Knex, token: string, at = new Date()): Promise<LinkState> {
  if (typeof token !== 'string' || token.length < 20 || token.length > 100) return { ok: false, reason: 'unknown' };
  const link = await knex('password_links').where('token_hash', sha256(token)).first();
  if (!link) return { ok: false, reason: 'unknown' };
  if (link.used_at) return { ok: false, reason: 'used' };
  // Disabled before expired: while the profile is disabled, that is what its owner needs to hear.
  const user = userFromRow(await knex('users').where('id', link.user_id).first());
  if (user.status !== 'active') return { ok: false, reason: 'disabled' };
  if (link.expires_at <= at.toISOString()) return { ok: false, reason: 'expired' };
  return { ok: true, user, linkId: link.id };
}

/**
 * Marks the link used; false when another request used it first. Every other
 * open link of the profile dies too: once a password is chosen, an older
 * email must not be able to change it again.
 */
export async function consumeLink(trx: Knex, linkId: string, userId: string): Promise<boolean> {
  const at = now();
  const n = await trx('password_links').where('id', linkId).whereNull('used_at').update({ used_at: at });
  if (n !== 1) return false;
  await trx('password_links').where('user_id', userId).whereNull('used_at').update({ used_at: at });
  return true;
}
