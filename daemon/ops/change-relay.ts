import { CHANGE_ACTIONS, CHANGE_KINDS, type Change, type ChangeFeed } from '../core/changes';
import type { Logger } from '../core/log';
import { newNodeId } from '../sip/nodes';
import { redisClient, redisSubscriber } from '../storage/redis-client';

export const CHANGE_CHANNEL = 'dialtone:changes';

/** What one process says on the channel: the change, and which process committed it (so that one ignores it). */
export interface RelayedChange {
  node: string;
  change: Change;
}

export function encodeChange(node: string, change: Change): string {
  const { kind, id, tenantId, action, actor } = change;
  return JSON.stringify({ node, kind, id, tenantId, action, actor });
}

const NODE = /^[0-9a-z]{1,32}$/;
// Record ids are UUIDs; anything printable up to 64 characters is taken, since an id is only ever looked up.
const ID = /^[\x21-\x7e]{1,64}$/;
const ACTOR = /^[\x20-\x7e]{1,200}$/;
// Far above any change's size: a longer message is not parsed at all.
const MAX_MESSAGE = 1024;

const isOneOf = <T extends string>(list: readonly T[], v: unknown): v is T => typeof v === 'string' && (list as readonly string[]).includes(v);
const matches = (re: RegExp, v: unknown): v is string => typeof v === 'string' && re.test(v);

/** The change a message announces, or why it is not one: anyone who can reach Redis can publish on the channel. */
export function decodeChange(message: string): RelayedChange | { error: string } {
  if (message.length > MAX_MESSAGE) return { error: `longer than ${MAX_MESSAGE} characters` };
  let v: unknown;
  try {
    v = JSON.parse(message);
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'not a JSON object' };
  const m = v as Record<string, unknown>;
  if (!matches(NODE, m.node)) return { error: 'node: must be 1 to 32 lowercase letters and digits' };
  if (!isOneOf(CHANGE_KINDS, m.kind)) return { error: `kind: must be one of ${CHANGE_KINDS.join(', ')}` };
  if (!isOneOf(CHANGE_ACTIONS, m.action)) return { error: `action: must be one of ${CHANGE_ACTIONS.join(', ')}` };
  if (!matches(ID, m.id)) return { error: 'id: must be 1 to 64 printable characters' };
  if (!matches(ID, m.tenantId)) return { error: 'tenantId: must be 1 to 64 printable characters' };
  if (!matches(ACTOR, m.actor)) return { error: 'actor: must be 1 to 200 printable characters' };
  return { node: m.node, change: { kind: m.kind, id: m.id, tenantId: m.tenantId, action: m.action, actor: m.actor } };
}

export interface ChangeHearing {
  /** Connects; the feed is deaf until the subscription is confirmed. */
  start(): void;
  /** Stops hearing; the feed is deaf from now on. */
  close(): void;
}

/**
 * Re-announces on `feed`, where only caches hear them, the changes other
 * processes publish on the channel: all of them but those of `node`, the
 * process's own, which its feed had at once. While the subscription is down
 * the feed is deaf, so caches keep nothing a missed change could make wrong.
 * A process that commits nothing (a registrar worker) only hears; one that
 * commits changes relays them (relayChanges).
 */
export function hearChanges(feed: ChangeFeed, opts: { redisUrl: string; log: Logger; channel?: string; node?: string }): ChangeHearing {
  const { redisUrl, log, node } = opts;
  const channel = opts.channel ?? CHANGE_CHANNEL;
  feed.deaf();
  // A cluster's own subscriber moves to another server in silence; this one says when it stops hearing.
  const subscriber = redisSubscriber(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
  let connection = 0;
  subscriber.on('error', (err) => log.debug({ err }, 'Redis subscription for changes'));
  subscriber.on('close', () => {
    connection++;
    feed.deaf();
  });
  subscriber.on('ready', () => {
    const current = connection;
    subscriber.subscribe(channel).then(() => {
      if (current === connection) feed.hearing();
    }, (err: unknown) => log.warn({ err }, 'could not subscribe to changes from other processes; caches keep nothing until it is back'));
  });
  subscriber.on('message', (_channel: string, message: string) => {
    const heard = decodeChange(message);
    if ('error' in heard) {
      log.debug({ message: message.slice(0, 100), reason: heard.error }, 'unreadable message on the change channel ignored');
      return;
    }
    if (heard.node === node) return;
    try {
      feed.publishFromElsewhere(heard.change);
    } catch (err) {
      log.error({ err, change: heard.change, node: heard.node }, 'a cache failed on a change from another process');
    }
  });
  return {
    start() {
      subscriber.connect().catch((err: unknown) => log.warn({ err }, 'Redis for changes unreachable; caches keep nothing until it is back'));
    },
    close() {
      feed.deaf();
      subscriber.disconnect();
    },
  };
}

export interface ChangeRelay {
  /** This process's name on the channel. */
  readonly node: string;
  /** Connects; the feed is deaf to other processes until the subscription is confirmed. */
  start(): void;
  /** Stops re-announcing; changes already handed to Redis are sent first. */
  close(): Promise<void>;
}

/**
 * Carries committed changes between the dialtone processes sharing one
 * database, through a Redis channel: each change committed here is
 * published with this process's node id, and each change another process
 * published is heard (hearChanges). A change heard from elsewhere is never
 * published again, since only this process's own commits reach the
 * publishing listener; side effects ran where the change was made.
 */
export function relayChanges(feed: ChangeFeed, opts: { redisUrl: string; log: Logger; channel?: string; node?: string }): ChangeRelay {
  const { redisUrl, log } = opts;
  const channel = opts.channel ?? CHANGE_CHANNEL;
  const node = opts.node ?? newNodeId();
  const hearing = hearChanges(feed, { redisUrl, log, channel, node });
  const publisher = redisClient(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  publisher.on('error', (err) => log.debug({ err }, 'Redis publisher for changes'));
  const unsubscribe = feed.subscribe((change) => {
    publisher.publish(channel, encodeChange(node, change)).catch((err: unknown) =>
      log.warn({ err, change: { kind: change.kind, id: change.id } }, 'change not announced to other processes; their caches may serve what it replaced'));
  });
  return {
    node,
    start() {
      hearing.start();
      publisher.connect().catch((err: unknown) => log.warn({ err }, 'Redis for changes unreachable; changes made here are not announced until it is back'));
    },
    async close() {
      unsubscribe();
      hearing.close();
      // quit() waits for a connection that may never come; disconnect() also stops the reconnection attempts.
      if (publisher.status === 'ready') await publisher.quit().catch(() => {});
      else publisher.disconnect();
    },
  };
}

/**
 * Announces changes a short-lived process committed (the `dialtone` command)
 * to the running ones, and resolves once Redis has them all. Their side
 * effects are the command's own business: the running processes only update
 * their caches. Throws when Redis cannot be reached.
 */
export async function announceChanges(redisUrl: string, changes: Change[], channel = CHANGE_CHANNEL): Promise<void> {
  if (changes.length === 0) return;
  // One attempt: a command must not hang on an unreachable Redis.
  const redis = redisClient(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The socket's own error (ECONNREFUSED, a DNS failure) says more than the rejection that follows it.
  let cause: Error | null = null;
  redis.on('error', (err: Error) => (cause = err));
  try {
    await redis.connect();
    const node = newNodeId();
    for (const change of changes) await redis.publish(channel, encodeChange(node, change));
    await redis.quit();
  } catch (err) {
    throw cause ?? err;
  } finally {
    redis.disconnect();
  }
}
