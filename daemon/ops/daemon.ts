import { buildApp, type App } from '../app';
import { ConfigError, loadConfig } from '../config/load';
import type { Config } from '../config/options';
import type { Logger } from '../core/log';
import { asListenError, plannedListeners } from './listeners';
import { LIVE_OPTIONS, reloadPlan } from './reload';
import { createNotifier, monotonicUsec, startWatchdog, type Notifier } from './systemd';

function serving(app: App): string {
  const { port } = app.httpAddress();
  return `serving: HTTP ${port}, TFTP ${app.runtime.config.tftpPort}, SIP ${app.runtime.config.sipEngine}`;
}

/**
 * SIGHUP: read the settings again, apply the live ones, name each changed
 * option that waits for a restart. A setting that no longer parses leaves
 * everything as it was.
 */
export async function reloadDaemon(app: App, notifier: Notifier, readConfig: () => Config = loadConfig): Promise<void> {
  const { config, log } = app.runtime;
  notifier.send({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading' });
  try {
    const next = readConfig();
    const plan = reloadPlan(config, next);
    for (const key of plan.live) (config as unknown as Record<string, unknown>)[key] = next[key];
    log.level = config.logLevel;
    await app.reload();
    for (const env of plan.restart) log.warn({ option: env }, `reload: ${env} changed; it takes effect at the next restart`);
    log.info({ applied: plan.live, live: [...LIVE_OPTIONS], waitingForRestart: plan.restart }, 'reloaded: templates, certificates and limits');
    notifier.send({ READY: 1, STATUS: serving(app) });
  } catch (err) {
    const reason = err instanceof ConfigError ? err.message : (err as Error).message;
    log.error({ err }, `reload failed, still running as before: ${reason}`);
    notifier.send({ READY: 1, STATUS: `${serving(app)}; last reload failed: ${reason}` });
  }
}

/**
 * `dialtone serve`: start, tell systemd when every listener is bound, ping
 * its watchdog, reload on SIGHUP, drain on SIGTERM and SIGINT.
 */
export async function runDaemon(config: Config, log: Logger): Promise<void> {
  const notifier = createNotifier(log);
  notifier.send({ STATUS: 'starting: migrating the database' });
  const app = await buildApp(config, { log });
  notifier.send({ STATUS: 'starting: opening listeners' });
  try {
    await app.listen();
  } catch (err) {
    await app.close().catch(() => {});
    throw asListenError(plannedListeners(config), err) ?? err;
  }
  notifier.send({ READY: 1, STATUS: serving(app), MAINPID: process.pid });
  const stopWatchdog = startWatchdog(notifier);

  let reloading: Promise<void> | null = null;
  process.on('SIGHUP', () => {
    // A second SIGHUP during a reload waits for it rather than interleaving two.
    reloading = (reloading ?? Promise.resolve()).then(() => reloadDaemon(app, notifier)).finally(() => (reloading = null));
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const seconds = app.runtime.config.drainSeconds;
    log.info({ signal, drainSeconds: seconds }, 'stopping: no new work; letting what is under way finish');
    notifier.send({ STOPPING: 1, STATUS: `draining for up to ${seconds}s` });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), seconds * 1000)));
    const closed = app.drain().then(() => app.close()).then(() => 'closed' as const, (err: unknown) => {
      log.error({ err }, 'stopping: a component failed to stop');
      return 'closed' as const;
    });
    const how = await Promise.race([closed, deadline]);
    clearTimeout(timer);
    stopWatchdog();
    if (how === 'timeout') log.warn({ drainSeconds: seconds }, 'stopping: DIALTONE_DRAIN_SECONDS passed with work still under way; exiting');
    else log.info('stopped');
    // pino writes synchronously to stdout, so the last line is out before the exit.
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
