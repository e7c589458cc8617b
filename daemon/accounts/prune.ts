import type { Knex } from 'knex';

/** Spent links are kept a month, so that following an old email still says "used" or "expired" rather than "not valid". */
export const KEEP_SPENT_LINKS_MS = 30 * 86_400_000;
/** Every rate-limit window is an hour at most; a day-old bucket counts nothing. */
export const KEEP_RATE_WINDOWS_MS = 86_400_000;

/** Deletes expired sessions, long-spent links and stale rate-limit buckets; run hourly by the accounts component. */
export async function pruneAccounts(knex: Knex, at = new Date()): Promise<{ sessions: number; links: number; rateLimits: number }> {
  const iso = (ms: number) => new Date(at.getTime() - ms).toISOString();
  const sessions = await knex('sessions').where('expires_at', '<=', at.toISOString()).delete();
  const links = await knex('password_links').where('expires_at', '<=', iso(KEEP_SPENT_LINKS_MS)).delete();
  const rateLimits = await knex('rate_limits').where('window_start', '<=', iso(KEEP_RATE_WINDOWS_MS)).delete();
  return { sessions, links, rateLimits };
}
