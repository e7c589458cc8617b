import { CacheTrust } from '../../core/cache-trust';
import type { SipIdentity, SipIdentityLookup } from '../identity';

/** Enough for every extension of a large deployment; past it the oldest entry goes. */
const DEFAULT_MAX_ENTRIES = 200_000;

/**
 * The identities authenticated REGISTERs were checked against, kept in
 * memory so that a phone re-registering costs no database query and no
 * unsealing. An entry lives until a change to its extension or tenant is
 * heard (see identity-invalidation.ts). While changes may go unheard (the
 * change relay's subscription is down), nothing is served from memory and
 * nothing is kept: a stale password must never authenticate.
 */
export class IdentityCache {
  private readonly entries = new Map<string, SipIdentity>();
  private readonly keysByExtension = new Map<string, string>();
  /** Bumped by every forgetting, so a lookup that began before it does not store what it read. */
  private generation = 0;
  private readonly trusting = new CacheTrust(() => this.forgetAll());
  private readonly maxEntries: number;

  constructor(opts: { maxEntries?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  get size(): number {
    return this.entries.size;
  }

  /** `source`, answered from memory when it can be; only identities of extensions are kept. */
  wrap(source: SipIdentityLookup): SipIdentityLookup {
    return async (domain, username) => {
      const key = `${domain.toLowerCase()}\n${username}`;
      // Nothing is kept while distrusted, so whatever is found here may be served.
      const hit = this.entries.get(key);
      if (hit) return hit;
      const generation = this.generation;
      const found = await source(domain, username);
      if (found?.extensionId && this.trusting.mayKeep && generation === this.generation) this.keep(key, found);
      return found;
    };
  }

  forgetExtension(extensionId: string): void {
    this.generation++;
    const key = this.keysByExtension.get(extensionId);
    if (key === undefined) return;
    this.keysByExtension.delete(extensionId);
    this.entries.delete(key);
  }

  forgetTenant(tenantId: string): void {
    this.generation++;
    for (const [key, identity] of this.entries) {
      if (identity.tenantId !== tenantId) continue;
      this.entries.delete(key);
      this.keysByExtension.delete(identity.extensionId!);
    }
  }

  /** Changes may go unheard from now on (see CacheTrust). */
  distrust(): void {
    this.trusting.distrust();
  }

  trust(): void {
    this.trusting.trust();
  }

  private forgetAll(): void {
    this.generation++;
    this.entries.clear();
    this.keysByExtension.clear();
  }

  private keep(key: string, identity: SipIdentity): void {
    const previous = this.keysByExtension.get(identity.extensionId!);
    if (previous !== undefined) this.entries.delete(previous);
    if (this.entries.size >= this.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, SipIdentity];
      this.entries.delete(oldestKey);
      this.keysByExtension.delete(oldest.extensionId!);
    }
    this.entries.set(key, identity);
    this.keysByExtension.set(identity.extensionId!, key);
  }
}
