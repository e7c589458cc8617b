import type { Change, ChangeFeed } from '../../core/changes';
import type { IdentityCache } from './identity-cache';

export type Staleness = { extensionId: string } | { tenantId: string };

/**
 * Which cached identities a committed change may have made wrong: any change
 * to an extension (credentials rotated, renumbered, reassigned) or to a
 * tenant. A record just created was never cached.
 */
export function staleBy(change: Change): Staleness | null {
  if (change.action === 'created') return null;
  if (change.kind === 'extension') return { extensionId: change.id };
  if (change.kind === 'tenant') return { tenantId: change.id };
  return null;
}

/**
 * Keeps a cache honest: it forgets what every change heard on the feed, from
 * any process, may have made wrong, and keeps nothing while the feed is deaf
 * to other processes. In the process that commits a change it takes effect
 * before the API answers; in the others, when the change relay delivers it
 * (well under a millisecond on one network), so a REGISTER another process is
 * answering at that very moment may still pass with what the change replaced.
 * Returns the unsubscription, after which nothing is kept.
 */
export function invalidateIdentities(cache: IdentityCache, changes: ChangeFeed): () => void {
  const unsubscribe = changes.subscribeEverywhere({
    change(change) {
      const stale = staleBy(change);
      if (!stale) return;
      if ('extensionId' in stale) cache.forgetExtension(stale.extensionId);
      else cache.forgetTenant(stale.tenantId);
    },
    deaf: () => cache.distrust(),
    hearing: () => cache.trust(),
  });
  return () => {
    unsubscribe();
    cache.distrust();
  };
}
