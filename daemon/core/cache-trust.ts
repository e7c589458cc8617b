/**
 * Whether a cache fed by the ChangeFeed may keep what it reads. While changes
 * committed in other processes may go unheard (CacheListener.deaf), anything
 * kept could be made wrong without the cache knowing: so it drops everything
 * and keeps nothing until changes are heard again, and then starts empty,
 * since what changed meanwhile was never heard.
 */
export class CacheTrust {
  private trusted = true;

  /** `forgetAll` drops every entry of the cache. */
  constructor(private readonly forgetAll: () => void) {}

  /** Whether what is read now may be kept. */
  get mayKeep(): boolean {
    return this.trusted;
  }

  /** Changes may go unheard from now on: every entry is dropped, and none is kept until trust(). */
  distrust(): void {
    this.trusted = false;
    this.forgetAll();
  }

  /** Changes are heard again; what was read meanwhile was never kept. */
  trust(): void {
    this.forgetAll();
    this.trusted = true;
  }
}
