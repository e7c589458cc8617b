import crypto from 'node:crypto';
import { type RedisClient, redisClient } from '../storage/redis-client';
import type { Logger } from '../core/log';
import type { Flow, SipTransport } from './engine';

/**
 * The dialtone nodes sharing one Redis, as each node's SIP side needs them:
 * a phone on TCP or WebSocket is reachable only through the node holding its
 * connection, so every node publishes where its SIP ports are, and a stream
 * connection's id names the node that holds it.
 */
export interface NodeAddress {
  host: string;
  udp?: number;
  tcp?: number;
}

/** A stream connection's id: its transport, the node holding it, and a number of that node's. */
export function connectionId(transport: SipTransport, node: string, n: number): string {
  return `${transport}-${node}-${n}`;
}

const CONNECTION_ID = /^(?:tcp|ws)-([0-9a-z]{1,32})-\d+$/;

/** The node holding the connection a flow names; null for a flow of no connection (UDP, or an engine that names none). */
export function connectionNode(flow: Flow): string | null {
  return flow.connectionId ? CONNECTION_ID.exec(flow.connectionId)?.[1] ?? null : null;
}

export function newNodeId(): string {
  return crypto.randomBytes(4).toString('hex');
}

export interface SipNodes {
  readonly id: string;
  /** Whether this node can send on the flow itself: UDP, or a connection it holds. */
  holds(flow: Flow): boolean;
  /** Where another node's SIP ports are, or null when it is not running (it stopped, or stopped refreshing its entry). */
  address(node: string): Promise<NodeAddress | null>;
  /** Whether a host and port are a running node's, as last read (requests inside a dialog name the node that set it up). */
  isNode(host: string, port: number): boolean;
  /** Publishes this node's address, and keeps it fresh until stop(). */
  start(address: NodeAddress): Promise<void>;
  stop(): Promise<void>;
}

/** One process on its own: every connection is its own. */
export class LocalNodes implements SipNodes {
  readonly id = newNodeId();
  holds(): boolean {
    return true;
  }
  async address(): Promise<NodeAddress | null> {
    return null;
  }
  isNode(): boolean {
    return false;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/** How often a node refreshes its entry, and how long an entry not refreshed stays believed. */
const REFRESH_MS = 5000;
const ENTRY_MS = 15_000;

interface Entry extends NodeAddress {
  /** Epoch milliseconds after which the entry is not believed. */
  until: number;
}

function readEntry(text: string | null | undefined): Entry | null {
  if (!text) return null;
  try {
    const e = JSON.parse(text) as Partial<Entry>;
    const port = (p: unknown) => p === undefined || (Number.isInteger(p) && (p as number) > 0 && (p as number) < 65536);
    if (typeof e.host !== 'string' || typeof e.until !== 'number' || !port(e.udp) || !port(e.tcp)) return null;
    return { host: e.host, until: e.until, ...(e.udp ? { udp: e.udp } : {}), ...(e.tcp ? { tcp: e.tcp } : {}) };
  } catch {
    return null;
  }
}

/**
 * The nodes as one Redis hash, a field per node. A node killed without
 * stopping leaves its entry behind, believed for ENTRY_MS, and removed by
 * the next node to refresh after a minute more.
 */
export class RedisNodes implements SipNodes {
  readonly id = newNodeId();
  private readonly redis: RedisClient;
  private known: Map<string, Entry> = new Map();
  private timer: NodeJS.Timeout | null = null;
  private own: NodeAddress | null = null;

  constructor(url: string, private readonly log: Logger, private readonly key = 'dialtone:sip:nodes') {
    this.redis = redisClient(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    this.redis.on('error', () => {});
  }

  holds(flow: Flow): boolean {
    const node = connectionNode(flow);
    return node === null || node === this.id;
  }

  async address(node: string): Promise<NodeAddress | null> {
    const entry = readEntry(await this.redis.hget(this.key, node));
    if (!entry || entry.until <= Date.now()) return null;
    // Known from now on, before the next refresh: the dialog this request sets up may come back through this node.
    this.known.set(node, entry);
    return entry;
  }

  isNode(host: string, port: number): boolean {
    const now = Date.now();
    for (const e of this.known.values()) if (e.until > now && e.host.toLowerCase() === host.toLowerCase() && (e.udp === port || e.tcp === port)) return true;
    return false;
  }

  async start(address: NodeAddress): Promise<void> {
    this.own = address;
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.log.warn({ err }, 'SIP node entry not refreshed in Redis: other nodes cannot reach phones connected here'));
    }, REFRESH_MS);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    if (this.own) await this.redis.hset(this.key, this.id, JSON.stringify({ ...this.own, until: now + ENTRY_MS } satisfies Entry));
    const all = await this.redis.hgetall(this.key);
    const known = new Map<string, Entry>();
    const dead: string[] = [];
    for (const [node, text] of Object.entries(all)) {
      const e = readEntry(text);
      if (!e || e.until < now - 60_000) dead.push(node);
      else known.set(node, e);
    }
    if (dead.length > 0) await this.redis.hdel(this.key, ...dead);
    this.known = known;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.own) await this.redis.hdel(this.key, this.id).catch(() => {});
    this.own = null;
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => {});
    else this.redis.disconnect();
  }
}
