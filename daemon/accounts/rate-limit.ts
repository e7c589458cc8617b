import type { Knex } from 'knex';

export interface Window {
  count: number;
  windowStart: string;
}

export interface Limit {
  max: number;
  windowMs: number;
}

/** Five wrong passwords per account, thirty attempts per address, each per quarter hour. */
export const SIGN_IN_PER_ACCOUNT: Limit = { max: 5, windowMs: 15 * 60 * 1000 };
export const SIGN_IN_PER_SOURCE: Limit = { max: 30, windowMs: 15 * 60 * 1000 };
/** Forgot-password requests send mail, so an address may only ask a few times. */
export const FORGOT_PER_SOURCE: Limit = { max: 10, windowMs: 60 * 60 * 1000 };

/** The window after one more hit: a fixed window that starts again once it has passed. */
export function hit(current: Window | null, at: Date, limit: Limit): Window {
  if (!current || at.getTime() - Date.parse(current.windowStart) >= limit.windowMs) return { count: 1, windowStart: at.toISOString() };
  return { count: current.count + 1, windowStart: current.windowStart };
}

/** Seconds until the bucket accepts again, or 0 when it accepts now. */
export function retryAfter(current: Window | null, at: Date, limit: Limit): number {
  if (!current || current.count < limit.max) return 0;
  const ends = Date.parse(current.windowStart) + limit.windowMs;
  return Math.max(0, Math.ceil((ends - at.getTime()) / 1000));
}

/** Buckets live in the database so that a restart or a second process does not reset them. */
export class RateLimiter {
  constructor(private readonly knex: Knex) {}

  private async read(bucket: string): Promise<Window | null> {
    const row = await this.knex('rate_limits').where('bucket', bucket).first();
    return row ? { count: Number(row.count), windowStart: row.window_start } : null;
  }

  async blockedFor(bucket: string, limit: Limit, at = new Date()): Promise<number> {
    return retryAfter(await this.read(bucket), at, limit);
  }

  async record(bucket: string, limit: Limit, at = new Date()): Promise<void> {
    const next = hit(await this.read(bucket), at, limit);
    await this.knex('rate_limits').insert({ bucket, count: next.count, window_start: next.windowStart }).onConflict('bucket').merge();
  }

  async clear(bucket: string): Promise<void> {
    await this.knex('rate_limits').where('bucket', bucket).delete();
  }
}
