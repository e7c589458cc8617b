import t from 'tap';
import { loadConfig } from '../../daemon/config/load';
import { notifyMessage, watchdogIntervalMs, createNotifier } from '../../daemon/ops/systemd';
import { reloadPlan } from '../../daemon/ops/reload';
import { createLogger } from '../../daemon/core/log';
import { Writable } from 'node:stream';

t.test('a notify datagram is KEY=VALUE lines, and a value cannot forge another field', async (t) => {
  t.equal(notifyMessage({ READY: 1, STATUS: 'serving' }), 'READY=1\nSTATUS=serving');
  t.equal(notifyMessage({ STATUS: 'bad\nREADY=1\r\nx' }), 'STATUS=bad READY=1 x');
});

t.test('the watchdog interval is half WATCHDOG_USEC, only for this process', async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 15000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42), null, 'meant for another process');
  t.equal(watchdogIntervalMs({}, 42), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '-5' }, 42), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1e9' }, 42), null);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '1' }, 42), 1);
});

t.test('without NOTIFY_SOCKET the notifier does nothing and loads nothing', async (t) => {
  let loaded = 0;
  const n = createNotifier(createLogger('silent'), {}, () => {
    loaded++;
    return null;
  });
  t.equal(n.active, false);
  n.send({ READY: 1 });
  t.equal(loaded, 0);
});

t.test('a missing optional module is logged once and is not fatal', async (t) => {
  const lines: string[] = [];
  const log = createLogger('info', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  const n = createNotifier(log, { NOTIFY_SOCKET: '/run/systemd/notify' }, () => null);
  n.send({ READY: 1 });
  n.send({ WATCHDOG: 1 });
  t.equal(n.active, false);
  t.equal(lines.length, 1);
  t.match(lines[0], /sd-notify module is not installed/);
});

t.test('a reload applies the live options and names every other change', async (t) => {
  const running = loadConfig({});
  const next = loadConfig({ DIALTONE_LOG_LEVEL: 'debug', DIALTONE_PROV_RATE_LIMIT: '5', DIALTONE_HTTP_PORT: '9090', DIALTONE_SECRET_KEY: 'ab'.repeat(32) });
  const plan = reloadPlan(running, next);
  t.same(plan.live, ['logLevel', 'provRateLimit']);
  t.same(plan.restart, ['DIALTONE_HTTP_PORT', 'DIALTONE_PUBLIC_URL', 'DIALTONE_SECRET_KEY'], 'the public URL follows the HTTP port; values are never shown');
  t.same(reloadPlan(running, loadConfig({})), { live: [], restart: [] });
});
