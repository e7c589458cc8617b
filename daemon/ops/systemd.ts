import type { Logger } from '../core/log';

/**
 * The systemd notify protocol (sd_notify(3)): newline-separated KEY=VALUE
 * datagrams to $NOTIFY_SOCKET. Node has no unix datagram sockets, so the
 * datagram is sent by libsystemd's own sd_notify through the optional
 * `sd-notify` module (built against libsystemd-dev by npm ci); it also
 * reaches abstract sockets (`@name`), which the unix-dgram module cannot
 * address. Without $NOTIFY_SOCKET every call is a no-op.
 */
export interface Notifier {
  readonly active: boolean;
  send(fields: Record<string, string | number>): void;
}

type SdNotify = { sendState(state: string): void };

/** One datagram; a value cannot carry a newline, which would start a forged field. */
export function notifyMessage(fields: Record<string, string | number>): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/[\r\n]+/g, ' ')}`).join('\n');
}

/**
 * How often to send WATCHDOG=1: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
 * advises, or null when systemd asked for no watchdog or asked another process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = env.WATCHDOG_USEC;
  if (!usec || !/^\d{1,15}$/.test(usec) || Number(usec) === 0) return null;
  if (env.WATCHDOG_PID && env.WATCHDOG_PID !== String(pid)) return null;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

/** CLOCK_MONOTONIC in microseconds, which systemd compares with its own for RELOADING=1. */
export function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}

function loadSdNotify(): SdNotify | null {
  try {
    return require('sd-notify') as SdNotify;
  } catch {
    return null;
  }
}

export function createNotifier(log: Logger, env: NodeJS.ProcessEnv = process.env, load: () => SdNotify | null = loadSdNotify): Notifier {
  if (!env.NOTIFY_SOCKET) return { active: false, send() {} };
  const sd = load();
  if (!sd) {
    log.warn('NOTIFY_SOCKET is set but the optional sd-notify module is not installed (install libsystemd-dev, then npm ci): systemd is not told when dialtone is ready, and its watchdog must be off');
    return { active: false, send() {} };
  }
  return {
    active: true,
    send(fields) {
      sd.sendState(notifyMessage(fields));
    },
  };
}

/**
 * WATCHDOG=1 from a timer on the event loop itself, so a loop that stops
 * turning stops the pings and systemd restarts the daemon.
 */
export function startWatchdog(notifier: Notifier, env: NodeJS.ProcessEnv = process.env): () => void {
  const every = notifier.active ? watchdogIntervalMs(env) : null;
  if (every === null) return () => {};
  const timer = setInterval(() => notifier.send({ WATCHDOG: 1 }), every);
  timer.unref();
  return () => clearInterval(timer);
}
