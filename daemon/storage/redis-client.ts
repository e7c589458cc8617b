import net from 'node:net';
import Redis, { AbstractConnector, Cluster, type RedisOptions } from 'ioredis';

/** A client of either shape: both take the same commands, scripts and pub/sub. */
export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

/** Where DIALTONE_REDIS_URL points, as read by parseRedisUrl(). */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: RedisNode[]; auth: RedisAuth }
  | { kind: 'sentinel'; sentinels: RedisNode[]; name: string; db: number; auth: RedisAuth };

export interface RedisAuth {
  username?: string;
  password?: string;
}

export type RedisUrlResult = { ok: true; target: RedisTarget } | { ok: false; reason: string };

export const REDIS_URL_FORMS = '`redis://[:password@]host:port/db` (or `rediss://`), `redis+cluster://[:password@]host:port,host:port/` or `redis+sentinel://[:password@]host:port,host:port/<master name>[/db]`';

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MASTER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Redis's number of databases is configurable; 0 to 99 covers every setting short of a typo. */
const DB = /^\d{1,2}$/;
const fail = (reason: string): RedisUrlResult => ({ ok: false, reason });

/** `host[:port]` or `[v6][:port]`; the reason names the entry, never the rest of the URL (it may hold a password). */
function node(entry: string, defaultPort: number): RedisNode | string {
  const m = /^(\[[^\]]*\]|[^:\[\]]*)(?::(.*))?$/.exec(entry);
  if (!m || m[1] === '') return `has a node ${JSON.stringify(entry)} that is not host:port`;
  let host = m[1]!;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!net.isIPv6(host)) return `has an invalid IPv6 address ${JSON.stringify(host)}`;
  } else if (!net.isIPv4(host) && (!DNS_NAME.test(host) || /^[0-9.]+$/.test(host))) {
    return `has an invalid host ${JSON.stringify(host)}: a DNS name, an IPv4 address or an [IPv6] address`;
  }
  if (m[2] === undefined) return { host, port: defaultPort };
  if (m[2].includes(':')) return `has a node ${JSON.stringify(entry)} that is not host:port (an IPv6 address goes in brackets)`;
  if (!/^\d{1,5}$/.test(m[2]) || Number(m[2]) < 1 || Number(m[2]) > 65535) return `has an invalid port ${JSON.stringify(m[2])} for ${host}: a number from 1 to 65535`;
  return { host, port: Number(m[2]) };
}

/** `user:password`, `:password` or `user`, percent-encoded as in any URL. */
function credentials(userinfo: string): RedisAuth | string {
  const at = userinfo.indexOf(':');
  const [user, pass] = at === -1 ? [userinfo, ''] : [userinfo.slice(0, at), userinfo.slice(at + 1)];
  try {
    const username = decodeURIComponent(user);
    const password = decodeURIComponent(pass);
    return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
  } catch {
    return 'has a user name or password with a broken %-escape';
  }
}

function standalone(raw: string): RedisUrlResult {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return fail(`must be one of ${REDIS_URL_FORMS}; it is not a URL`);
  }
  if (u.hostname === '') return fail('must name the Redis host');
  if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d{1,2}$/.test(u.pathname)) return fail('must end with /<database number> or nothing after the host and port');
  return { ok: true, target: { kind: 'standalone', url: raw } };
}

/**
 * Reads DIALTONE_REDIS_URL. `redis://` and `rediss://` are one server, read
 * by ioredis itself as before. A cluster or a set of sentinels has several
 * addresses, which WHATWG URLs cannot hold, so those two forms are read
 * here: a comma-separated host list, then `/` for a cluster (it has only
 * database 0) or `/<master name>[/db]` for sentinels. A password applies to
 * the Redis servers, as in `redis://`; sentinels are reached without one.
 * TLS is offered for one server only: the other forms were never tested
 * with it.
 */
export function parseRedisUrl(raw: string): RedisUrlResult {
  if (raw.length === 0 || raw.length > 2000) return fail(`must be one of ${REDIS_URL_FORMS}`);
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return fail('must not contain spaces or control characters');
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return standalone(raw);
  if (scheme === 'rediss+cluster' || scheme === 'rediss+sentinel') return fail('TLS is supported to a single server (rediss://) only, not to a cluster or through sentinels');
  if (scheme !== 'redis+cluster' && scheme !== 'redis+sentinel') return fail(`must be one of ${REDIS_URL_FORMS}${scheme ? `; ${scheme}:// is none of them` : ''}`);
  const rest = raw.slice(scheme.length + 3);
  if (/[?#]/.test(rest)) return fail('takes no ?query or #fragment in its cluster and sentinel forms');
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  const auth = at === -1 ? {} : credentials(authority.slice(0, at));
  if (typeof auth === 'string') return fail(auth);
  const hosts = authority.slice(at + 1);
  if (hosts === '') return fail('must name at least one host');
  const entries = hosts.split(',');
  if (entries.length > 64) return fail('names more than 64 hosts');
  const nodes: RedisNode[] = [];
  for (const entry of entries) {
    const n = node(entry, scheme === 'redis+cluster' ? 6379 : 26379);
    if (typeof n === 'string') return fail(n);
    nodes.push(n);
  }
  if (scheme === 'redis+cluster') {
    if (path !== '' && path !== '/') return fail('must end after its hosts (or with /): a Redis Cluster has database 0 only');
    return { ok: true, target: { kind: 'cluster', nodes, auth } };
  }
  const [, name = '', db = '0', ...extra] = path.split('/');
  if (!MASTER_NAME.test(name)) return fail('must name the master after the hosts, as /<master name> (letters, digits, . _ -, at most 64)');
  if (extra.length > 0 || !DB.test(db)) return fail('may end with /<database number> after the master name, and nothing else');
  return { ok: true, target: { kind: 'sentinel', sentinels: nodes, name, db: Number(db), auth } };
}

/** What each caller chooses for its own connection. */
export interface ClientOptions {
  lazyConnect?: boolean;
  maxRetriesPerRequest?: number | null;
  enableOfflineQueue?: boolean;
  enableAutoPipelining?: boolean;
  connectTimeout?: number;
  /** Delay before reconnecting after the nth failure, or null to stop (a one-shot command's connection). */
  retryStrategy?: (times: number) => number | null;
}

function targetOf(url: string): RedisTarget {
  const parsed = parseRedisUrl(url);
  if (!parsed.ok) throw new Error(`DIALTONE_REDIS_URL ${parsed.reason}`);
  return parsed.target;
}

/** One server, or the master the sentinels name. */
function server(target: Exclude<RedisTarget, { kind: 'cluster' }>, options: ClientOptions): Redis {
  if (target.kind === 'standalone') return new Redis(target.url, options);
  return new Redis({ ...options, ...target.auth, sentinels: target.sentinels, name: target.name, db: target.db });
}

/** A client for DIALTONE_REDIS_URL (already checked by the configuration), with the caller's options. */
export function redisClient(url: string, options: ClientOptions): RedisClient {
  const target = targetOf(url);
  if (target.kind !== 'cluster') return server(target, options);
  // A cluster takes some options for itself and the rest, under redisOptions, for its connection to each server.
  const { lazyConnect, enableOfflineQueue, enableAutoPipelining, ...perServer } = options;
  const whole = Object.fromEntries(Object.entries({ lazyConnect, enableOfflineQueue, enableAutoPipelining }).filter(([, v]) => v !== undefined));
  return new Cluster(target.nodes, { ...whole, redisOptions: { ...perServer, ...target.auth } });
}

type Stream = Awaited<ReturnType<AbstractConnector['connect']>>;

/** Connects to each of the servers in turn, one per attempt. */
function rotating(nodes: RedisNode[]): NonNullable<RedisOptions['Connector']> {
  let next = 0;
  return class extends AbstractConnector {
    constructor(options: unknown) {
      super((options as { disconnectTimeout: number }).disconnectTimeout);
    }

    connect(): Promise<Stream> {
      const node = nodes[next++ % nodes.length]!;
      this.connecting = true;
      return new Promise((resolve, reject) => {
        // As ioredis's own connector: a disconnect() before the next tick cancels the attempt.
        process.nextTick(() => {
          if (!this.connecting) return reject(new Error('Connection is closed.'));
          const stream = net.createConnection(node.port, node.host);
          stream.once('error', (err) => {
            this.firstError = err;
          });
          this.stream = stream;
          resolve(stream);
        });
      });
    }
  };
}

/**
 * A connection that only listens (SUBSCRIBE), and says when it stops
 * hearing: it emits close when it drops and ready when it is back. A
 * cluster's own subscriber moves to another server in silence after a
 * failure, and what was published meanwhile is lost unnoticed; so with a
 * cluster this is a plain connection to one of the servers the URL lists,
 * the next one at each attempt. Every server of a cluster hears every
 * PUBLISH, so any one will do.
 */
export function redisSubscriber(url: string, options: ClientOptions): Redis {
  const target = targetOf(url);
  if (target.kind !== 'cluster') return server(target, options);
  return new Redis({ ...options, ...target.auth, Connector: rotating(target.nodes) });
}
