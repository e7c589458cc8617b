import crypto from 'node:crypto';
import { ownBuffer } from '../core/buffers';
import { CacheTrust } from '../core/cache-trust';

export interface RenderedFile {
  body: Buffer;
  contentType: string;
  etag: string;
  /** HTTP date of the newest record the file was built from. */
  lastModified: string;
  mode: 'full' | 'activation' | 'common';
  /** The vendor family whose template made it, for the fetch metrics. */
  vendor: string;
}

export function renderedFile(text: string, contentType: string, lastModified: string, mode: RenderedFile['mode'], vendor: string): RenderedFile {
  // Kept in the cache until a change drops it: one per phone, so it must not hold a block of the shared pool.
  const body = ownBuffer(text, 'utf8');
  return { body, contentType, mode, vendor, lastModified: new Date(lastModified).toUTCString(), etag: `"${crypto.createHash('sha1').update(body).digest('base64url')}"` };
}

/**
 * Rendered files, each remembered with the ids of the records it was built
 * from; a change to any one of them (announced on the ChangeFeed, from any
 * process) drops it. While changes from other processes cannot be heard,
 * nothing is kept. Bounded: past the limit the oldest entry goes first.
 */
export class RenderCache {
  private readonly entries = new Map<string, { file: RenderedFile; deps: string[] }>();
  private readonly byDep = new Map<string, Set<string>>();
  private changes = 0;
  private readonly trusting = new CacheTrust(() => this.clear());

  constructor(private readonly max = 50_000) {}

  get size(): number {
    return this.entries.size;
  }

  /** Changes with every entry set or dropped: whoever remembers what get() returned can tell it is still current. */
  get version(): number {
    return this.changes;
  }

  get(key: string): RenderedFile | null {
    return this.entries.get(key)?.file ?? null;
  }

  set(key: string, file: RenderedFile, deps: string[]): void {
    if (!this.trusting.mayKeep) return;
    this.delete(key);
    if (this.entries.size >= this.max) this.delete(this.entries.keys().next().value!);
    this.entries.set(key, { file, deps });
    this.changes++;
    for (const d of deps) {
      let keys = this.byDep.get(d);
      if (!keys) this.byDep.set(d, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every file: what they were all built from changed (the templates, or the SIP registrar's address once the engine is listening). */
  clear(): void {
    this.entries.clear();
    this.byDep.clear();
    this.changes++;
  }

  /** Changes may go unheard from now on (see CacheTrust). */
  distrust(): void {
    this.trusting.distrust();
  }

  trust(): void {
    this.trusting.trust();
  }

  invalidate(id: string): void {
    for (const key of this.byDep.get(id) ?? []) this.delete(key);
    this.byDep.delete(id);
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.changes++;
    for (const d of e.deps) {
      const keys = this.byDep.get(d);
      keys?.delete(key);
      if (keys?.size === 0) this.byDep.delete(d);
    }
  }
}
