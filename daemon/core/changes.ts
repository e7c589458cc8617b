import { EventEmitter } from 'node:events';

/**
 * Announces committed changes to admin records, so that provisioning can drop
 * cached files and resync phones, and PBX sync can rewrite its rows, without
 * the admin code knowing either exists.
 */
export interface Change {
  /** `pbx`: a tenant's own PBX was set or removed (`id` is the tenant's). */
  kind: 'tenant' | 'site' | 'user' | 'extension' | 'device' | 'pbx';
  id: string;
  tenantId: string;
  /** `replaced`: a device that lost its extension to another phone. */
  action: 'created' | 'updated' | 'disabled' | 'enabled' | 'reassigned' | 'credentials' | 'replaced';
  /** Who made the change: `operator`, `token:<id>`, `user:<id>`, or a subsystem such as `scim`. */
  actor: string;
}

export class ChangeFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  publish(change: Change): void {
    this.emitter.emit('change', change);
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
