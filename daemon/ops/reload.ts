import { OPTIONS, type Config } from '../config/options';

/**
 * Options a running daemon takes on at SIGHUP. Every other option is read
 * once, when a listener, pool or engine is built, so a changed value is only
 * reported as waiting for a restart.
 */
export const LIVE_OPTIONS: ReadonlySet<keyof Config> = new Set<keyof Config>(['logLevel', 'provRateLimit', 'tlsCert', 'tlsKey', 'drainSeconds']);

export interface ReloadPlan {
  /** Changed options applied now. */
  live: (keyof Config)[];
  /** Changed options, by environment name, that keep their old value until a restart. */
  restart: string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function reloadPlan(running: Config, next: Config): ReloadPlan {
  const plan: ReloadPlan = { live: [], restart: [] };
  for (const o of OPTIONS) {
    if (same(running[o.key], next[o.key])) continue;
    if (LIVE_OPTIONS.has(o.key)) plan.live.push(o.key);
    else plan.restart.push(o.env);
  }
  return plan;
}
