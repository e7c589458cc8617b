import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import { now } from '../core/ids';
import type { Logger } from '../core/log';

/**
 * Disabling a profile ends its sessions and expires its open links for good,
 * so enabling it again later does not revive an email sent before.
 */
export function revokeOnDisable(knex: Knex, changes: ChangeFeed, log: Logger): { stop(): void; idle(): Promise<void> } {
  const pending = new Set<Promise<void>>();
  const stop = changes.subscribe((c) => {
    if (c.kind !== 'user' || c.action !== 'disabled') return;
    const p: Promise<void> = (async () => {
      const at = now();
      await knex('password_links').where('user_id', c.id).whereNull('used_at').where('expires_at', '>', at).update({ expires_at: at });
      await knex('sessions').where('user_id', c.id).delete();
    })().catch((err: unknown) => log.error({ err, userId: c.id }, 'links and sessions of a disabled profile not revoked'))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  return {
    stop,
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
