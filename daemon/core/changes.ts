/**
 * Announces committed changes to admin records, so that provisioning can drop
 * cached files and resync phones, and PBX sync can rewrite its rows, without
 * the admin code knowing either exists.
 */
export const CHANGE_KINDS = ['tenant', 'site', 'user', 'extension', 'device', 'pbx'] as const;
export const CHANGE_ACTIONS = ['created', 'updated', 'disabled', 'enabled', 'reassigned', 'credentials', 'replaced'] as const;

export interface Change {
  /** `pbx`: a tenant's own PBX was set or removed (`id` is the tenant's). */
  kind: (typeof CHANGE_KINDS)[number];
  id: string;
  tenantId: string;
  /** `replaced`: a device that lost its extension to another phone. */
  action: (typeof CHANGE_ACTIONS)[number];
  /** Who made the change: `operator`, `token:<id>`, `user:<id>`, or a subsystem such as `scim`. */
  actor: string;
}

/** Something to do once for each change, in the process that committed it: write a row, send mail, send a NOTIFY. */
export type ChangeListener = (change: Change) => void;

/**
 * What keeps a copy of records in memory (a cache, or a directory of
 * tenants) must hear changes committed in every process sharing the
 * database, and must know when it may not have: then it keeps nothing a
 * missed change could have made wrong.
 */
export interface CacheListener {
  /** A change committed in this process or in another one. */
  change(change: Change): void;
  /** Changes committed elsewhere may go unheard from now on (the relay's Redis subscription is down, or not up yet). */
  deaf(): void;
  /** Changes from every process are heard again; those committed meanwhile were not. */
  hearing(): void;
}

/**
 * Changes committed in this process reach both kinds of listener; changes
 * committed in other processes (re-announced by daemon/ops/change-relay.ts)
 * reach only caches. Side effects subscribe with `subscribe` so that a
 * change made through one node's API sends one mail, one resync, one write
 * to the PBX, and not one per node; caches subscribe with
 * `subscribeEverywhere` so that no node serves what another node changed.
 */
export class ChangeFeed {
  private readonly local = new Set<ChangeListener>();
  private readonly everywhere = new Set<CacheListener>();
  private deafened = false;

  /** A change this process committed. */
  publish(change: Change): void {
    for (const l of this.everywhere) l.change(change);
    for (const l of this.local) l(change);
  }

  /** A change another process committed, as the relay heard it. */
  publishFromElsewhere(change: Change): void {
    for (const l of this.everywhere) l.change(change);
  }

  /** The relay cannot hear other processes (it starts so, with Redis, until its subscription is confirmed). */
  deaf(): void {
    if (this.deafened) return;
    this.deafened = true;
    for (const l of this.everywhere) l.deaf();
  }

  hearing(): void {
    if (!this.deafened) return;
    this.deafened = false;
    for (const l of this.everywhere) l.hearing();
  }

  /** For side effects: only changes committed in this process. */
  subscribe(listener: ChangeListener): () => void {
    this.local.add(listener);
    return () => this.local.delete(listener);
  }

  /** For caches: changes committed in any process; told at once when changes are not being heard. */
  subscribeEverywhere(listener: CacheListener): () => void {
    this.everywhere.add(listener);
    if (this.deafened) listener.deaf();
    return () => this.everywhere.delete(listener);
  }
}
