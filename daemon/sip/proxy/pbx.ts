import dns from 'node:dns';
import net from 'node:net';
import type { Knex } from 'knex';
import type { Change, ChangeFeed } from '../../core/changes';
import type { Logger } from '../../core/log';
import type { PbxKind } from '../../admin/domain/tenant-pbx';
import { ownPbxRows, ownPbx } from '../../admin/service/tenant-pbx';
import type { Flow } from '../engine';
import { type PbxAddress, parsePbxUri } from './pbx-uri';

/** A tenant's PBX as the proxy relays to it: the URI's parts and the host's current addresses. */
export interface ResolvedPbx extends PbxAddress {
  kind: PbxKind;
  /** The tenant's own PBX, or DIALTONE_PBX_URI. */
  source: 'tenant' | 'default';
  /** What the host resolved to (the host itself for an IP address); empty while DNS fails. */
  addresses: string[];
}

/** Looks a host name up; every address, IPv4 and IPv6. */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);

interface Pbx extends PbxAddress {
  kind: PbxKind;
  source: 'tenant' | 'default';
}

interface Lookup {
  addresses: string[];
  pending: Promise<string[]> | null;
}

export interface PbxDirectoryOptions {
  knex: Knex;
  changes: ChangeFeed;
  /** DIALTONE_PBX_URI, already validated; null when unset. */
  defaultUri: string | null;
  log: Logger;
  resolver?: Resolver;
  /** How often names are looked up again, so a PBX that moves is followed without a change. */
  refreshMs?: number;
}

/** The transport a request from a PBX arrives on, by the transport of its URI. */
const SOURCE_TRANSPORT: Record<PbxAddress['transport'], Flow['transport']> = { udp: 'udp', tcp: 'tcp', tls: 'tcp', ws: 'ws' };

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
function canonicalAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped ? mapped[1]! : lower;
}

/**
 * Which PBX serves each tenant, and which tenants a request's source speaks
 * for. Loaded at start, kept current through the change feed, with the PBX
 * hosts' addresses cached and looked up again when a PBX changes and every
 * `refreshMs`.
 */
export class PbxDirectory {
  private readonly resolver: Resolver;
  private readonly defaultPbx: Pbx | null;
  private readonly own = new Map<string, Pbx>();
  private readonly tenants = new Set<string>();
  private readonly lookups = new Map<string, Lookup>();
  /** canonical address → the PBXes there and the tenants each serves; rebuilt on every change. */
  private index = new Map<string, { pbx: Pbx; tenants: string[] }[]>();
  private unsubscribe: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: PbxDirectoryOptions) {
    this.resolver = opts.resolver ?? systemResolver;
    if (opts.defaultUri === null) {
      this.defaultPbx = null;
    } else {
      const parsed = parsePbxUri(opts.defaultUri);
      if (!parsed.ok) throw new Error(`DIALTONE_PBX_URI: ${parsed.reason}`);
      this.defaultPbx = { ...parsed.pbx, kind: 'other', source: 'default' };
    }
  }

  async start(): Promise<void> {
    // From every process: a tenant created through another node's API must be routed here too.
    this.unsubscribe = this.opts.changes.subscribeEverywhere({
      change: (change) => this.onChange(change),
      // Until changes are heard again, the tenants and PBXes last known are the best there is.
      deaf: () => {},
      hearing: () => {
        this.queue = this.queue.then(() => this.load()).catch((err: unknown) => {
          this.opts.log.error({ err }, 'cannot read the tenants and their PBXes again; tenants created elsewhere meanwhile are unknown here until the next change');
        });
      },
    });
    await this.load();
    if (this.opts.refreshMs !== 0) {
      this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs ?? 300_000);
      this.timer.unref();
    }
  }

  /** Every tenant and own PBX, as the database has them now. */
  private async load(): Promise<void> {
    const [tenantRows, ownRows] = await Promise.all([this.opts.knex('tenants').select('id'), ownPbxRows(this.opts.knex)]);
    for (const r of tenantRows as { id: string }[]) this.tenants.add(r.id);
    this.own.clear();
    for (const r of ownRows) this.setOwn(r.tenantId, r.uri, r.kind);
    this.rebuild();
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.queue;
  }

  /** Resolves once every change announced so far is applied (tests, and the proxy at start). */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  /** The tenant's PBX with its addresses; null for an unknown tenant, or when it has none (no own PBX and no DIALTONE_PBX_URI). */
  async pbxFor(tenantId: string): Promise<ResolvedPbx | null> {
    await this.settled();
    if (!this.tenants.has(tenantId)) return null;
    const pbx = this.own.get(tenantId) ?? this.defaultPbx;
    if (!pbx) return null;
    const lookup = this.lookups.get(pbx.host);
    const addresses = lookup?.pending ? await lookup.pending : lookup?.addresses ?? await this.resolve(pbx.host);
    return { ...pbx, addresses: [...addresses] };
  }

  /**
   * The tenants whose PBX sent a request from `source`, or null when it is no
   * PBX's. It must come from an address the PBX's host resolves to and, over
   * UDP, from the PBX's port: UDP source addresses are easy to forge from
   * elsewhere, and a stream's source port is the PBX's ephemeral one. It must
   * also arrive over the PBX's transport.
   */
  isFromPbx(source: Pick<Flow, 'transport' | 'address' | 'port'>): string[] | null {
    const candidates = this.index.get(canonicalAddress(source.address));
    if (!candidates) return null;
    const tenants = new Set<string>();
    for (const { pbx, tenants: served } of candidates) {
      // Only over the transport the PBX is configured with: a phone on the PBX's own host must not pass for it.
      if (source.transport !== SOURCE_TRANSPORT[pbx.transport]) continue;
      if (source.transport === 'udp' && source.port !== pbx.port) continue;
      for (const t of served) tenants.add(t);
    }
    return tenants.size > 0 ? [...tenants] : null;
  }

  /** Looks every PBX host up again; addresses that fail to resolve keep their last answer. */
  async refresh(): Promise<void> {
    const hosts = new Set<string>([...this.own.values()].map((p) => p.host));
    if (this.defaultPbx) hosts.add(this.defaultPbx.host);
    for (const host of this.lookups.keys()) if (!hosts.has(host)) this.lookups.delete(host);
    await Promise.all([...hosts].map((h) => this.resolve(h)));
  }

  private resolve(host: string): Promise<string[]> {
    const known = this.lookups.get(host);
    if (known?.pending) return known.pending;
    const entry: Lookup = known ?? { addresses: [], pending: null };
    this.lookups.set(host, entry);
    const pending = (net.isIP(host) ? Promise.resolve([host]) : this.resolver(host))
      .then((list) => list.map(canonicalAddress))
      .catch((err: unknown) => {
        this.opts.log.warn({ host, err: String(err) }, 'PBX host does not resolve; its requests are treated as phones\' until it does');
        return entry.addresses;
      })
      .then((addresses) => {
        entry.addresses = addresses;
        entry.pending = null;
        this.rebuild();
        return addresses;
      });
    entry.pending = pending;
    return pending;
  }

  private setOwn(tenantId: string, uri: string, kind: PbxKind): void {
    const parsed = parsePbxUri(uri);
    if (!parsed.ok) {
      this.opts.log.error({ tenantId, uri }, `stored PBX URI is not valid (${parsed.reason}); the tenant uses the default PBX`);
      this.own.delete(tenantId);
      return;
    }
    this.own.set(tenantId, { ...parsed.pbx, kind, source: 'tenant' });
  }

  private onChange(change: Change): void {
    if (change.kind === 'tenant' && change.action === 'created') {
      this.tenants.add(change.id);
      this.rebuild();
    } else if (change.kind === 'pbx') {
      this.queue = this.queue.then(async () => {
        try {
          const row = await ownPbx(this.opts.knex, change.tenantId);
          if (row) this.setOwn(change.tenantId, row.uri, row.kind);
          else this.own.delete(change.tenantId);
          this.tenants.add(change.tenantId);
          const pbx = this.own.get(change.tenantId) ?? this.defaultPbx;
          this.rebuild();
          if (pbx) await this.resolve(pbx.host);
        } catch (err) {
          this.opts.log.error({ err, tenantId: change.tenantId }, 'cannot read the tenant\'s PBX; the previous one stays in use');
        }
      });
    }
  }

  private rebuild(): void {
    const byPbx = new Map<Pbx, string[]>();
    for (const tenantId of this.tenants) {
      const pbx = this.own.get(tenantId) ?? this.defaultPbx;
      if (!pbx) continue;
      const list = byPbx.get(pbx);
      if (list) list.push(tenantId);
      else byPbx.set(pbx, [tenantId]);
    }
    const index = new Map<string, { pbx: Pbx; tenants: string[] }[]>();
    for (const [pbx, tenants] of byPbx) {
      for (const address of this.lookups.get(pbx.host)?.addresses ?? []) {
        const list = index.get(address) ?? [];
        list.push({ pbx, tenants });
        index.set(address, list);
      }
    }
    this.index = index;
  }
}
