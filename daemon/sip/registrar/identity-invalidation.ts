import { redisClient, redisSubscriber } from '../../storage/redis-client';
import type { Change, ChangeFeed } from '../../core/changes';
import type { Logger } from '../../core/log';
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

/** The message other processes hear: `e <id>` or `t <id>`. */
export function encodeStaleness(s: Staleness): string {
  return 'extensionId' in s ? `e ${s.extensionId}` : `t ${s.tenantId}`;
}

const MESSAGE = /^([et]) (\S{1,64})$/;

export function decodeStaleness(message: string): Staleness | null {
  const m = MESSAGE.exec(message);
  if (!m) return null;
  return m[1] === 'e' ? { extensionId: m[2]! } : { tenantId: m[2]! };
}

function forget(cache: IdentityCache, s: Staleness): void {
  if ('extensionId' in s) cache.forgetExtension(s.extensionId);
  else cache.forgetTenant(s.tenantId);
}

export interface IdentityInvalidation {
  /** Connects to Redis, if any; the cache is trusted once the subscription is confirmed. */
  start(): void;
  close(): void;
}

/**
 * Keeps a cache honest. Changes committed by this process are forgotten here
 * at once and, with Redis, announced on a channel that every dialtone
 * process (other nodes, registrar workers) listens to. A process that is not
 * subscribed cannot hear what it must forget, so its cache is distrusted
 * from the moment the subscription drops until it is back. In this process a
 * change takes effect before the API answers; in the others, when Redis
 * delivers the announcement (well under a millisecond on one network), so a
 * REGISTER another process is answering at that very moment may still pass
 * with what the change replaced.
 */
export function invalidateIdentities(cache: IdentityCache, opts: { changes: ChangeFeed | null; redisUrl: string | null; channel: string; log: Logger }): IdentityInvalidation {
  const { redisUrl, channel, log } = opts;
  const publisher = redisUrl && opts.changes ? redisClient(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 }) : null;
  publisher?.on('error', (err) => log.debug({ err }, 'Redis publisher for SIP identity changes'));
  const unsubscribe = opts.changes?.subscribe((change) => {
    const stale = staleBy(change);
    if (!stale) return;
    // This process forgets before the announcement comes back, so the next REGISTER here already sees the change.
    forget(cache, stale);
    publisher?.publish(channel, encodeStaleness(stale)).catch((err: unknown) => log.warn({ err, change: { kind: change.kind, id: change.id } }, 'SIP identity change not announced to other processes'));
  });
  const subscriber = redisUrl ? redisSubscriber(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null }) : null;
  if (subscriber) {
    let connection = 0;
    subscriber.on('error', (err) => log.debug({ err }, 'Redis subscription for SIP identity changes'));
    subscriber.on('close', () => {
      connection++;
      cache.distrust();
    });
    subscriber.on('ready', () => {
      const current = connection;
      subscriber.subscribe(channel).then(() => {
        if (current === connection) cache.trust();
      }, (err: unknown) => log.warn({ err }, 'could not subscribe to SIP identity changes; identities are looked up every time'));
    });
    subscriber.on('message', (_channel: string, message: string) => {
      const stale = decodeStaleness(message);
      if (stale) {
        forget(cache, stale);
        return;
      }
      log.warn({ message: message.slice(0, 100) }, 'unreadable SIP identity change; forgetting every identity');
      cache.forgetAll();
    });
  }
  return {
    start() {
      subscriber?.connect().catch((err: unknown) => log.warn({ err }, 'Redis for SIP identity changes unreachable; identities are looked up every time until it is back'));
      publisher?.connect().catch((err: unknown) => log.warn({ err }, 'Redis for SIP identity changes unreachable; changes made here are not announced until it is back'));
    },
    close() {
      unsubscribe?.();
      cache.distrust();
      publisher?.disconnect();
      subscriber?.disconnect();
    },
  };
}
