import crypto from 'node:crypto';
import { type RedisClient, redisClient } from '../storage/redis-client';
import type { Logger } from '../core/log';

/**
 * Jobs that must run once for all dialtone processes sharing one database
 * (removing stale pending devices, the PBX full sync): each process's timer
 * asks, and the one that takes the job's lease runs it. Without Redis there
 * is one process, and it always runs the job.
 */
export interface Leases {
  /**
   * Runs `job` here unless another process ran it less than `periodMs` ago.
   * The lease is kept for the whole period, not released after the job, so a
   * process whose timer fires a little later does not run it a second time.
   * Resolves true when the job ran here.
   */
  oncePer(name: string, periodMs: number, job: () => Promise<void>): Promise<boolean>;
  close(): Promise<void>;
}

export class LocalLeases implements Leases {
  async oncePer(_name: string, _periodMs: number, job: () => Promise<void>): Promise<boolean> {
    await job();
    return true;
  }

  async close(): Promise<void> {}
}

export class RedisLeases implements Leases {
  private readonly redis: RedisClient;
  /** Names this process, in the lease's value, for an operator reading Redis. */
  private readonly holder = `${process.pid}@${crypto.randomBytes(4).toString('hex')}`;

  constructor(url: string, private readonly log: Logger, private readonly prefix = 'dialtone:lease:') {
    this.redis = redisClient(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: true });
    this.redis.on('error', () => {});
  }

  async oncePer(name: string, periodMs: number, job: () => Promise<void>): Promise<boolean> {
    let taken: string | null;
    try {
      taken = await this.redis.set(`${this.prefix}${name}`, this.holder, 'PX', periodMs, 'NX');
    } catch (err) {
      // Better one period without the job than every process running it at once.
      this.log.warn({ err, job: name }, 'once-only job skipped: Redis did not answer for its lease');
      return false;
    }
    if (taken !== 'OK') {
      this.log.debug({ job: name }, 'once-only job: another process holds the lease');
      return false;
    }
    this.log.debug({ job: name }, 'once-only job: running here');
    await job();
    return true;
  }

  async close(): Promise<void> {
    // quit() waits for a connection that may never come; disconnect() also stops the reconnection attempts.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => {});
    else this.redis.disconnect();
  }
}
